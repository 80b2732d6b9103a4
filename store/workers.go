package store

import (
	"context"

	"github.com/jackc/pgx/v5"
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
