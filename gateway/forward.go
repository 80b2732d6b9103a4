package gateway

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bergamot-monitoring/bergamot/metrics"

	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/gateway/wire"
	"github.com/bergamot-monitoring/bergamot/jobs"
)

// forwarder is the River worker of one zone's queue on a node with remote
// workers of that zone: it sends each job to one of them and hands the
// result back as a local worker would.
type forwarder struct {
	river.WorkerDefaults[jobs.ExecuteArgs]
	hub   *Hub
	queue string
}

// slotWait is how long a leased job waits for a free worker before it goes
// back to the queue (snoozed) for this or another node.
const slotWait = 2 * time.Second

// Timeout lets River's deadline sit past the check's, as for local workers.
func (f *forwarder) Timeout(*river.Job[jobs.ExecuteArgs]) time.Duration {
	return cmp.Or(f.hub.RescueAfter, jobs.JobTimeout)
}

// Work implements river.Worker.
func (f *forwarder) Work(ctx context.Context, job *river.Job[jobs.ExecuteArgs]) error {
	h := f.hub
	if res := h.Worker.Parked(job); res != nil {
		h.Logger.ErrorContext(ctx, "parking a remote check job that keeps ending without a result", slog.String("check", job.Args.CheckID.String()),
			slog.Int("attempt", job.Attempt), slog.String("output", res.Output))
		return h.Worker.HandBack(ctx, job, res)
	}
	req, err := h.Worker.PrepareRequest(ctx, job)
	if err != nil {
		return h.Worker.HandBack(ctx, job, &checks.Result{Status: checks.StatusError, Output: "cannot prepare check: " + err.Error(), Started: time.Now()})
	}
	if req == nil {
		return nil // removed since it was scheduled
	}
	lost := cmp.Or(h.LostGrace, 10*time.Second)
	for {
		s, z, err := f.acquire(ctx, req.Engine)
		if err != nil {
			return err
		}
		if s == nil {
			return h.Worker.HandBack(ctx, job, &checks.Result{Status: checks.StatusUnknown, Started: time.Now(),
				Output: fmt.Sprintf("no connected worker of zone %s offers the %s engine", z, req.Engine)})
		}
		p := &pendingJob{sess: s, result: make(chan delivered, 1)}
		h.mu.Lock()
		if zz := h.zones[f.queue]; zz != nil {
			zz.pending[job.ID] = p
		}
		h.mu.Unlock()
		res, from, err := f.await(ctx, job, req, p, lost)
		f.release(s, job.ID)
		if err != nil {
			return err
		}
		if res == nil {
			// The worker's link broke and no result came back in time:
			// give the job to another worker.
			s.log.WarnContext(ctx, "remote worker lost a job; sending it to another", slog.Int64("job", job.ID))
			continue
		}
		res.Worker = from.hello.Name
		if !job.Args.Adhoc && !job.Args.Slot.IsZero() && !res.Started.IsZero() {
			metrics.Late(res.Started.Sub(job.Args.Slot)) // the remote worker's clock
		}
		if err := h.Worker.HandBack(ctx, job, res); err != nil {
			return err
		}
		from.write(&wire.Message{Type: wire.TypeAck, Ack: &wire.Ack{JobIDs: []int64{job.ID}}})
		return nil
	}
}

// await sends the job and waits for its result: (nil, nil, nil) when the
// session closed and no result came within the check's timeout plus lost.
func (f *forwarder) await(ctx context.Context, job *river.Job[jobs.ExecuteArgs], req *checks.Request, p *pendingJob, lost time.Duration) (*checks.Result, *session, error) {
	sent := time.Now()
	if !p.sess.write(&wire.Message{Type: wire.TypeJob, Job: &wire.Job{ID: job.ID, Request: req}}) {
		return nil, nil, nil
	}
	answerBy := time.NewTimer(req.Timeout + lost + 30*time.Second)
	defer answerBy.Stop()
	closed := p.sess.closed
	var lostBy <-chan time.Time
	for {
		select {
		case d := <-p.result:
			return d.res, d.from, nil
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-closed:
			closed = nil
			t := time.NewTimer(max(time.Until(sent.Add(req.Timeout+lost)), lost))
			defer t.Stop()
			lostBy = t.C
		case <-lostBy:
			return nil, nil, nil
		case <-answerBy.C:
			return &checks.Result{Status: checks.StatusTimeout, Started: sent, Runtime: time.Since(sent),
				Output: fmt.Sprintf("remote worker %s did not return the result within %s", p.sess.hello.Name, time.Since(sent).Round(time.Second))}, p.sess, nil
		}
	}
}

// acquire picks the least busy live worker of the zone that offers engine
// and takes one of its slots. (nil, zone name, nil) when no connected worker
// offers it; a snooze error when all are busy or none is connected for a
// while, so the job goes back to the queue.
func (f *forwarder) acquire(ctx context.Context, engine string) (*session, string, error) {
	h := f.hub
	deadline := time.NewTimer(slotWait)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		z := h.zones[f.queue]
		if z == nil {
			h.mu.Unlock()
			return nil, "", river.JobSnooze(time.Second)
		}
		var best *session
		offered := false
		for s := range z.sessions {
			if !s.offers(engine) {
				continue
			}
			offered = true
			if s.busy < s.hello.Concurrency && (best == nil || s.busy < best.busy) {
				best = s
			}
		}
		if best != nil {
			best.busy++
			h.mu.Unlock()
			return best, z.scope.Zone, nil
		}
		if !offered && len(z.sessions) > 0 {
			h.mu.Unlock()
			return nil, z.scope.Zone, nil
		}
		changed := z.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return nil, "", river.JobSnooze(time.Second)
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
}

func (f *forwarder) release(s *session, jobID int64) {
	h := f.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	s.busy--
	if z := h.zones[f.queue]; z != nil {
		delete(z.pending, jobID)
		z.signal()
	}
}
