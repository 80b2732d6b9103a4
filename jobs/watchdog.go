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
		for _, o := range jobs {
			if _, err := w.River.JobCancelTx(ctx, tx, o.id); err != nil {
				return fmt.Errorf("cancelling overdue job: %w", err)
			}
			wait := o.args.Deadline.Sub(o.created).Round(time.Second)
			res := checks.Result{Status: checks.StatusTimeout, Started: time.Now(), Worker: "watchdog",
				Output: fmt.Sprintf("no worker in zone %s took the check within %s", o.args.Zone, wait)}
			body, err := checks.DefaultLimits.Encode(&res)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO result_inbox (site_id, check_id, result) VALUES ($1, $2, $3)`,
				o.args.SiteID, o.args.CheckID, body); err != nil {
				return err
			}
		}
		n = len(jobs)
		if n > 0 {
			_, err = tx.Exec(ctx, `SELECT pg_notify($1, '')`, ResultsChannel)
		}
		return err
	})
	if n > 0 {
		w.Logger.WarnContext(ctx, "checks timed out waiting for a worker", slog.Int("count", n))
	}
	return n, err
}
