package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// The hooks the worker gateway (package gateway) uses to run a check job on
// a remote worker: it prepares the request as a local worker would, sends
// it over the wire, and hands the result back through the same batched
// hand-back.

// PrepareRequest loads what a worker needs to run job: the check's
// definition with only the credentials it references opened. A check
// removed since it was scheduled gives (nil, nil).
func (w *ExecuteWorker) PrepareRequest(ctx context.Context, job *river.Job[ExecuteArgs]) (*checks.Request, error) {
	ctx = tenants.WithSite(ctx, job.Args.SiteID)
	req, err := w.loadRequest(ctx, job.Args.CheckID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return req, err
}

// Parked returns the ERROR result of a job that already ended
// ParkAfter times without a result (see parked), or nil: the gateway's
// forwarder asks it first, as Work does, so that a remote zone's job that
// keeps outrunning its time is parked with a result that says so rather
// than discarded by River after its last attempt, its slot silently lost.
func (w *ExecuteWorker) Parked(job *river.Job[ExecuteArgs]) *checks.Result { return w.parked(job) }

// HandBack completes job with res through the same transaction and NOTIFY
// as a local worker's result. It sets the result's slot; a job already
// finished (completed by an earlier copy of the result or by another run's,
// or cancelled by the watchdog) is left alone and the result dropped, so a
// result sent twice is applied once.
func (w *ExecuteWorker) HandBack(ctx context.Context, job *river.Job[ExecuteArgs], res *checks.Result) error {
	if !job.Args.Adhoc {
		res.Scheduled = job.Args.Slot
	}
	return w.complete(ctx, job, res)
}

// HandBackByID writes a result that arrived for a job this process does not
// hold (a remote worker resending it after reconnecting to another node).
// The job must be an unfinished check job in one of queues (the queues the
// sender's key may serve); site and check come from the job, never from the
// sender. It reports whether the result was applied.
func HandBackByID(ctx context.Context, pool *pgxpool.Pool, jobID int64, queues []string, res *checks.Result) (bool, error) {
	body, err := json.Marshal(res)
	if err != nil {
		return false, fmt.Errorf("encoding result: %w", err)
	}
	return store.HandBackByID(ctx, pool, jobID, queues, body)
}
