package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

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
	// ForwardedAt is when the job was forwarded to a node's queue: a copy
	// still unworked when its forwarder has given up on it is dropped.
	ForwardedAt time.Time `json:"agent_forwarded_at,omitzero"`
}

// Bounds on a forwarded check (see forward).
const (
	// defaultPickup is how long a node may leave a check forwarded to it
	// unstarted before the forwarder takes it back (default of Hub.ForwardPickup).
	defaultPickup = 6 * time.Second
	// forwardGrace is added to the check's timeout (and the agent's 5 s)
	// for a started forwarded check to finish.
	forwardGrace = 10 * time.Second
)

// forwardBound is how long a forwarder waits for a forwarded check.
func forwardBound(req *checks.Request) time.Duration {
	return min(req.Timeout+5*time.Second+forwardGrace, jobs.JobTimeout-5*time.Second)
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
	var meta routeMeta
	_ = json.Unmarshal(job.Metadata, &meta)
	if !meta.ForwardedAt.IsZero() && time.Since(meta.ForwardedAt) > forwardBound(req) {
		// Its forwarder has reported the check already (the node it was
		// forwarded to died holding it, and River rescued it since).
		h.Logger.InfoContext(ctx, "dropping a forwarded agent check its forwarder gave up on", slog.String("agent", agentID),
			slog.Time("forwarded_at", meta.ForwardedAt))
		return nil
	}
	live := h.LiveFor
	if live <= 0 {
		live = 30 * time.Second
	}
	var unresponsive string
	for hops := meta.AgentHops; ; hops++ {
		if s := h.local(site, agentID); s != nil {
			return h.Worker.HandBack(ctx, job, h.run(ctx, s, req))
		}
		conn, err := store.LatestAgentConnection(ctx, h.Pool, site, agentID)
		if err != nil {
			return err
		}
		if conn == nil || !conn.Connected(live) || conn.Node == h.Node || hops >= maxHops {
			return h.Worker.HandBack(ctx, job, disconnected(req, agentID, conn))
		}
		if conn.Node == unresponsive {
			return h.Worker.HandBack(ctx, job, &checks.Result{Status: checks.StatusDisconnected, Started: time.Now(),
				Output: fmt.Sprintf("the Bergamot agent of host %s (agent id %s) is connected to node %s, which did not take the check within %s: "+
					"that node is down or stalled; the agent reconnects to another hub (give it several --hub URLs)",
					req.HostName, agentID, conn.Node, cmp.Or(h.ForwardPickup, defaultPickup))})
		}
		res, err := h.forward(ctx, job, req, conn.Node, hops+1)
		if err != nil {
			return err
		}
		if res == nil {
			return nil // the node holding the agent handed the result back
		}
		if res.Status != checks.StatusPending {
			return h.Worker.HandBack(ctx, job, res)
		}
		unresponsive = conn.Node // not taken: route again, without that node
	}
}

// forward queues the check on node's own queue and waits for it: nil when
// that node ran it (and handed its result back itself); a PENDING marker
// when the node did not start it within Hub.ForwardPickup (the copy is
// taken back); a DISCONNECTED result when it started but did not finish
// within the check's timeout and a grace (the node died holding it). A
// forward never waits for River's rescue of a dead node's jobs.
func (h *Hub) forward(ctx context.Context, job *river.Job[jobs.ExecuteArgs], req *checks.Request, node string, hops int) (*checks.Result, error) {
	h.mu.Lock()
	c := h.client
	h.mu.Unlock()
	if c == nil {
		return nil, errors.New("the agent hub is stopping")
	}
	sent := time.Now()
	md, _ := json.Marshal(routeMeta{AgentHops: hops, ForwardedAt: sent})
	ins, err := c.Insert(ctx, job.Args, &river.InsertOpts{Queue: jobs.AgentNodeQueue(node), Priority: job.Priority,
		MaxAttempts: job.MaxAttempts, Metadata: md})
	if err != nil {
		return nil, fmt.Errorf("forwarding an agent check to node %s: %w", node, err)
	}
	id := ins.Job.ID
	log := h.Logger.With(slog.String("agent", req.Param("agent_id", req.HostName)), slog.String("node", node), slog.Int64("forwarded_job", id))
	log.DebugContext(ctx, "agent check forwarded")
	pickup, bound := cmp.Or(h.ForwardPickup, defaultPickup), forwardBound(req)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		row, err := c.JobGet(ctx, id)
		if errors.Is(err, river.ErrNotFound) {
			return nil, nil // completed and cleaned away
		}
		if err != nil {
			continue // the database may be briefly away: the bounds still hold
		}
		waited := time.Since(sent)
		switch row.State {
		case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
			return nil, nil
		case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending:
			if waited < pickup {
				continue
			}
			if _, err := c.JobDelete(ctx, id); errors.Is(err, rivertype.ErrJobRunning) {
				continue // taken at the last moment
			} else if err != nil && !errors.Is(err, river.ErrNotFound) {
				return nil, fmt.Errorf("taking back an agent check forwarded to node %s: %w", node, err)
			}
			log.WarnContext(ctx, "agent check forwarded to a node that did not take it; taken back", slog.Duration("waited", waited))
			return &checks.Result{Status: checks.StatusPending}, nil
		default: // running
			if waited < bound {
				continue
			}
			log.WarnContext(ctx, "agent check forwarded to a node that did not finish it; reporting it DISCONNECTED", slog.Duration("waited", waited))
			return &checks.Result{Status: checks.StatusDisconnected, Started: sent, Runtime: waited,
				Output: fmt.Sprintf("the Bergamot agent of host %s is connected to node %s, which took the check but gave no result within %s: "+
					"that node has probably died; the agent reconnects to another hub", req.HostName, node, waited.Round(time.Second))}, nil
		}
	}
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
