package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Watchdog turns check jobs that no worker started before their deadline
// into TIMEOUT results, so a zone without live workers alerts.
type Watchdog struct {
	Pool   *pgxpool.Pool
	River  *river.Client[pgx.Tx]
	Logger *slog.Logger
	// Every is how often it looks (default 2s).
	Every time.Duration
}

// Run watches until ctx ends.
func (w *Watchdog) Run(ctx context.Context) error {
	if w.Every <= 0 {
		w.Every = 2 * time.Second
	}
	t := time.NewTicker(w.Every)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Logger.ErrorContext(ctx, "watchdog failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce times out overdue jobs; it returns how many.
func (w *Watchdog) RunOnce(ctx context.Context) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, w.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, args, created_at FROM river_job
			WHERE kind = 'check' AND state IN ('available', 'retryable', 'scheduled') AND (args->>'deadline')::timestamptz < now()
			ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED`)
		if err != nil {
			return fmt.Errorf("finding overdue checks: %w", err)
		}
		type overdue struct {
			id      int64
			args    ExecuteArgs
			created time.Time
		}
		var jobs []overdue
		for rows.Next() {
			var o overdue
			var raw []byte
			if err := rows.Scan(&o.id, &raw, &o.created); err != nil {
				rows.Close()
				return err
			}
			if json.Unmarshal(raw, &o.args) == nil {
				jobs = append(jobs, o)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		connected := map[string]int{}
		for _, o := range jobs {
			if _, err := w.River.JobCancelTx(ctx, tx, o.id); err != nil {
				return fmt.Errorf("cancelling overdue job: %w", err)
			}
			wait := o.args.Deadline.Sub(o.created).Round(time.Second)
			key := "/" + o.args.Zone
			if o.args.Private {
				key = o.args.SiteID.String() + key
			}
			n, ok := connected[key]
			if !ok {
				n = w.connectedWorkers(ctx, o.args)
				connected[key] = n
			}
			res := checks.Result{Status: checks.StatusTimeout, Started: time.Now(), Worker: "watchdog",
				Output: timeoutOutput(o.args, wait, n)}
			if !o.args.Adhoc {
				// The TIMEOUT stands for its slot, as a worker's result
				// does: without it a slot that timed out cannot be told
				// from a stray result.
				res.Scheduled = o.args.Slot
			}
			body, err := checks.DefaultLimits.Encode(&res)
			if err != nil {
				return err
			}
			if err := store.InsertResult(ctx, tx, o.args.SiteID, o.args.CheckID, body); err != nil {
				return err
			}
		}
		n = len(jobs)
		if n > 0 {
			err = store.WakeProcessors(ctx, tx)
		}
		return err
	})
	if n > 0 {
		w.Logger.WarnContext(ctx, "checks timed out waiting for a worker", slog.Int("count", n))
	}
	return n, err
}

// connectedWorkers counts the live workers of args' zone: direct and remote
// ones for an operator zone, the site's remote workers for its private
// zone. -1 when it cannot tell.
func (w *Watchdog) connectedWorkers(ctx context.Context, args ExecuteArgs) int {
	var n int
	var err error
	if args.Private {
		err = tenants.InSite(tenants.WithSite(ctx, args.SiteID), w.Pool, func(ctx context.Context, tx pgx.Tx) error {
			n, err = store.CountZoneConnections(ctx, tx, args.Zone, liveFor)
			return err
		})
	} else {
		err = w.Pool.QueryRow(ctx, `SELECT count(*) FROM workers WHERE zone = $1 AND stopped_at IS NULL AND last_seen > now() - $2::interval`,
			args.Zone, liveFor).Scan(&n)
	}
	if err != nil {
		w.Logger.WarnContext(ctx, "watchdog cannot count the zone's workers", slog.String("zone", args.Zone), slog.Any("error", err))
		return -1
	}
	return n
}

// liveFor is how recently a worker must have reported to count as live
// (three heartbeats).
const liveFor = "30 seconds"

// timeoutOutput says which zone did not take the check and whether any of
// its workers is connected.
func timeoutOutput(args ExecuteArgs, wait time.Duration, connected int) string {
	zone := "zone " + args.Zone
	if args.Private {
		zone = "the site's private zone " + args.Zone
	}
	out := fmt.Sprintf("no worker in %s took the check within %s", zone, wait)
	switch {
	case connected == 0:
		return out + "; no worker of the zone is connected"
	case connected > 0:
		return out + fmt.Sprintf("; %d worker(s) of the zone connected, none took it (all busy, or none offers the engine)", connected)
	}
	return out
}
