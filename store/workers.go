package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/config"
)

// This file holds SQL on the workers a zone has: worker_connections (the
// remote workers connected to a site's private zone, a tenant table) and
// the live offers of each zone's workers.

// CountZoneConnections counts the site's remote workers connected to zone
// that reported within liveFor (a PostgreSQL interval, "30 seconds").
func CountZoneConnections(ctx context.Context, tx pgx.Tx, zone, liveFor string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM worker_connections
		WHERE zone = $1 AND closed_at IS NULL AND last_seen > now() - $2::interval`, zone, liveFor).Scan(&n)
	return n, err
}

// LiveFor is how recently a worker must have reported to count as live
// (three heartbeats).
const LiveFor = "30 seconds"

// LiveOffers reads, in tx (under the site's row-level security), which
// engines the live workers of each zone the site can use offer: the
// operator's workers (direct and remote) of the shared zones, and the
// site's own remote workers of its private zones.
func LiveOffers(ctx context.Context, tx pgx.Tx) (config.Offers, error) {
	rows, err := tx.Query(ctx, `
		SELECT w.zone, w.name, w.engines FROM workers w JOIN shared_zones z ON z.name = w.zone
			WHERE w.stopped_at IS NULL AND w.last_seen > now() - interval '`+LiveFor+`'
		UNION ALL
		SELECT c.zone, c.name, c.engines FROM worker_connections c
			WHERE c.closed_at IS NULL AND c.last_seen > now() - interval '`+LiveFor+`'
			AND NOT EXISTS (SELECT 1 FROM shared_zones z WHERE z.name = c.zone)
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("reading the zones' live workers: %w", err)
	}
	offers := config.Offers{}
	var zone string
	var w config.WorkerOffer
	_, err = pgx.ForEachRow(rows, []any{&zone, &w.Name, &w.Engines}, func() error {
		offers[zone] = append(offers[zone], w)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the zones' live workers: %w", err)
	}
	return offers, nil
}

// warnEnginesLive replaces the model's engine warnings (from this binary's
// engine list) by ones from the live workers of each check's zone, where
// any are known.
func warnEnginesLive(ctx context.Context, tx pgx.Tx, m *config.Model) error {
	offers, err := LiveOffers(ctx, tx)
	if err != nil || len(offers) == 0 {
		return err
	}
	zones := map[*config.Check]string{}
	for _, a := range ActiveChecks(m) {
		zones[a.Check] = a.Zone
	}
	m.ReplaceEngineWarnings(func(c *config.Check) string { return zones[c] }, offers)
	return nil
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
