package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file holds SQL on check_schedule beyond configuration apply (which
// writes the rows, configwrite.go) and the result processor (which sets
// their interval, results.go). The scheduler's claim is still in
// jobs/scheduler.go (see internal/archtest sqlDebt).

// Unschedule removes every check_schedule row of site on pool (the
// owner's), so the scheduler queues nothing more for it (the benchmark's
// clean-up, before the site is deleted).
func Unschedule(ctx context.Context, pool *pgxpool.Pool, site uuid.UUID) error {
	_, err := pool.Exec(ctx, `DELETE FROM check_schedule WHERE site_id = $1`, site)
	return err
}
