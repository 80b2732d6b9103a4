package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/store"
)

// retentionLock is the advisory lock one sweeping node holds; the others
// skip their pass (docs/data-retention.md).
const retentionLock = 0x62657267616d7274 // "bergamrt"

// rollupBudget is how long one pass keeps catching up one site's rollups.
const rollupBudget = 20 * time.Second

// RetentionSweep keeps stored data bounded: it creates metric partitions
// ahead, drops expired ones whole, rolls raw points up into 5-minute and
// 1-hour buckets, and deletes, in bounded batches, the rows of sites that
// keep less than the operator's maximum. Every serve node runs one; a
// session advisory lock lets one node sweep at a time, and every step is
// idempotent, so a node dying mid-pass leaves nothing half done that the
// next pass does not finish.
type RetentionSweep struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Every is the pause between passes (default a minute).
	Every time.Duration
	// Max is the operator's maximum retention (BERGAMOT_RETENTION_MAX);
	// zero takes store.DefaultRetention.
	Max store.Retention
	// Batch bounds the rows one pass deletes per site and family
	// (default 10,000).
	Batch int
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// SweepReport says what one pass did.
type SweepReport struct {
	Skipped  bool // another node held the lock
	Created  int
	Dropped  []string
	RolledUp int64
	Expired  map[string]int64
}

// Run sweeps every Every until ctx ends.
func (s *RetentionSweep) Run(ctx context.Context) error {
	every := s.Every
	if every <= 0 {
		every = time.Minute
	}
	return runEvery(ctx, s.logger(), every, nil, "retention sweep", func(ctx context.Context) (int, error) {
		rep, err := s.RunOnce(ctx)
		if err == nil && !rep.Skipped && (len(rep.Dropped) > 0 || rep.Created > 0 || len(rep.Expired) > 0) {
			s.logger().InfoContext(ctx, "retention sweep", slog.Int("partitions_created", rep.Created),
				slog.Any("partitions_dropped", rep.Dropped), slog.Int64("buckets", rep.RolledUp), slog.Any("expired", rep.Expired))
		}
		return len(rep.Dropped), err
	})
}

func (s *RetentionSweep) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *RetentionSweep) max() store.Retention {
	if s.Max == (store.Retention{}) {
		return store.DefaultRetention
	}
	return s.Max
}

// RunOnce makes one pass, unless another node is making one.
func (s *RetentionSweep) RunOnce(ctx context.Context) (SweepReport, error) {
	rep := SweepReport{Expired: map[string]int64{}}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return rep, fmt.Errorf("retention sweep: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(retentionLock)).Scan(&locked); err != nil {
		return rep, fmt.Errorf("retention sweep: locking: %w", err)
	}
	if !locked {
		rep.Skipped = true
		return rep, nil
	}
	defer func() {
		// A fresh context: the lock must go back even when ctx ended.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(retentionLock)); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // closing the session releases it
		}
	}()
	maxR := s.max()
	pr, err := store.MaintainPartitions(ctx, conn, now, maxR)
	rep.Created, rep.Dropped = pr.Created, pr.Dropped
	if err != nil {
		return rep, err
	}
	batch := s.Batch
	if batch <= 0 {
		batch = 10000
	}
	_, err = forEachSite(ctx, s.Pool, func(ctx context.Context, tx pgx.Tx, site uuid.UUID) (int, error) {
		keep, err := store.SiteRetention(ctx, tx, maxR)
		if err != nil {
			return 0, err
		}
		// Catch up in steps of bounded size, for a while per pass.
		deadline := time.Now().Add(rollupBudget)
		for _, res := range []store.Resolution{store.Resolution5m, store.Resolution1h} {
			for {
				n, done, err := store.Rollup(ctx, tx, site, res, now)
				if err != nil {
					return 0, err
				}
				rep.RolledUp += n
				if done || time.Now().After(deadline) {
					break
				}
			}
		}
		expired, err := store.ExpireRows(ctx, tx, site, now, keep, batch)
		for k, v := range expired {
			rep.Expired[k] += v
		}
		return 0, err
	})
	return rep, err
}
