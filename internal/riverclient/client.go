package riverclient

import (
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// NewInsertClient returns a River client that only inserts and cancels jobs
// (serve nodes: scheduler, watchdog, executeNow, the event sinks).
func NewInsertClient(pool *pgxpool.Pool, log *slog.Logger) (*river.Client[pgx.Tx], error) {
	c, err := river.NewClient(NewDriver(pool), &river.Config{Logger: Logger(log)})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	return c, nil
}

// NoReindex turns off River's nightly REINDEX of its tables' indexes: our
// clients run as bergamot_app, which owns no table (row-level security
// needs that), so the REINDEX failed every midnight with "must be owner of
// index". Autovacuum (tuned for river_job by migrate) keeps them in shape.
var NoReindex = []string{}
