package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
)

// router is the River worker of the agent queues: it runs a check on the
// host's agent when this node holds it, forwards it to the node that does,
// or reports it DISCONNECTED.
type router struct {
	river.WorkerDefaults[jobs.ExecuteArgs]
	hub *Hub
}

// Timeout lets River's deadline sit past the check's.
func (r *router) Timeout(*river.Job[jobs.ExecuteArgs]) time.Duration { return jobs.JobTimeout }

type routeMeta struct {
	AgentHops int `json:"agent_hops"`
}

// maxHops bounds forwarding between nodes (the connection rows may lag a
// reconnect by a moment).
const maxHops = 2

// Work implements river.Worker.
func (r *router) Work(ctx context.Context, job *river.Job[jobs.ExecuteArgs]) error {
	h := r.hub
	req, err := h.Worker.PrepareRequest(ctx, job)
	if err != nil {
		return h.Worker.HandBack(ctx, job, &checks.Result{Status: checks.StatusError, Output: "cannot prepare check: " + err.Error(), Started: time.Now()})
	}
	if req == nil {
		return nil
	}
	agentID := req.Param("agent_id", req.HostName)
	site := job.Args.SiteID
	if s := h.local(site, agentID); s != nil {
		return h.Worker.HandBack(ctx, job, h.run(ctx, s, req))
	}
	conn, err := store.LatestAgentConnection(ctx, h.Pool, site, agentID)
	if err != nil {
		return err
	}
	var meta routeMeta
	_ = json.Unmarshal(job.Metadata, &meta)
	live := h.LiveFor
	if live <= 0 {
		live = 30 * time.Second
	}
	if conn != nil && conn.Connected(live) && conn.Node != h.Node && meta.AgentHops < maxHops {
		h.mu.Lock()
		c := h.client
		h.mu.Unlock()
		if c != nil {
			md, _ := json.Marshal(routeMeta{AgentHops: meta.AgentHops + 1})
			if _, err := c.Insert(ctx, job.Args, &river.InsertOpts{Queue: jobs.AgentNodeQueue(conn.Node), Priority: job.Priority,
				MaxAttempts: job.MaxAttempts, Metadata: md}); err != nil {
				return fmt.Errorf("forwarding an agent check to node %s: %w", conn.Node, err)
			}
			h.Logger.DebugContext(ctx, "agent check forwarded", slog.String("agent", agentID), slog.String("node", conn.Node))
			return nil
		}
	}
	return h.Worker.HandBack(ctx, job, disconnected(req, agentID, conn))
}

func disconnected(req *checks.Request, agentID string, conn *store.AgentConnection) *checks.Result {
	out := fmt.Sprintf("the Bergamot agent of host %s (agent id %s) is not connected", req.HostName, agentID)
	if conn == nil {
		out += "; it has never connected: enrol it and start bergamot agent on the host (see docs/agent.md)"
	} else {
		out += fmt.Sprintf("; last seen %s ago (%s) on node %s", time.Since(conn.LastSeen).Round(time.Second),
			conn.LastSeen.UTC().Format(time.RFC3339), conn.Node)
	}
	return &checks.Result{Status: checks.StatusDisconnected, Output: out, Started: time.Now()}
}
