package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file holds SQL on the workers a zone has: worker_connections (the
// remote workers connected to a site's private zone, a tenant table).
// The worker gateway's own presence writes are still in gateway/hub.go
// (see internal/archtest sqlDebt).

// CountZoneConnections counts the site's remote workers connected to zone
// that reported within liveFor (a PostgreSQL interval, "30 seconds").
func CountZoneConnections(ctx context.Context, tx pgx.Tx, zone, liveFor string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM worker_connections
		WHERE zone = $1 AND closed_at IS NULL AND last_seen > now() - $2::interval`, zone, liveFor).Scan(&n)
	return n, err
}

// PipelineGauges counts, over every site (pool is the owner's), the checks
// due and not yet queued, the results waiting in the inbox and the
// workers seen in the last 30 seconds: the /metrics gauges.
func PipelineGauges(ctx context.Context, pool *pgxpool.Pool) (due, inbox, workers int64, err error) {
	err = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM check_schedule WHERE next_run <= now()),
		(SELECT count(*) FROM result_inbox), (SELECT count(*) FROM workers WHERE stopped_at IS NULL AND last_seen > now() - interval '30 seconds')`).
		Scan(&due, &inbox, &workers)
	return due, inbox, workers, err
}
