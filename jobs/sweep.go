package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// runEvery calls once every interval (default 10s), and at once on wake,
// until ctx ends, logging failures as what.
func runEvery(ctx context.Context, log *slog.Logger, every time.Duration, wake <-chan struct{}, what string, once func(context.Context) (int, error)) error {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := once(ctx); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, what+" failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-wake:
		}
	}
}

// forEachSite runs fn in a transaction of every enabled site and adds up
// what it returns.
func forEachSite(ctx context.Context, pool *pgxpool.Pool, fn func(ctx context.Context, tx pgx.Tx, site uuid.UUID) (int, error)) (int, error) {
	rows, err := pool.Query(ctx, `SELECT id FROM sites WHERE NOT disabled`)
	if err != nil {
		return 0, fmt.Errorf("listing sites: %w", err)
	}
	sites, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("listing sites: %w", err)
	}
	total := 0
	for _, site := range sites {
		err := tenants.InSite(tenants.WithSite(ctx, site), pool, func(ctx context.Context, tx pgx.Tx) error {
			n, err := fn(ctx, tx, site)
			total += n
			return err
		})
		if err != nil {
			return total, fmt.Errorf("site %s: %w", site, err)
		}
	}
	return total, nil
}
