package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/store"
)

// Wakeup LISTENs on channel and signals the returned channel (coalesced)
// on every notification, reconnecting after errors. It also signals after
// each reconnect, since notifications may have been missed meanwhile.
func Wakeup(ctx context.Context, pool *pgxpool.Pool, channel string, log *slog.Logger) <-chan struct{} {
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	go func() {
		for ctx.Err() == nil {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				time.Sleep(time.Second)
				continue
			}
			if err := store.Listen(ctx, conn.Conn(), channel); err != nil {
				conn.Release()
				time.Sleep(time.Second)
				continue
			}
			signal()
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					if ctx.Err() == nil {
						log.WarnContext(ctx, "lost LISTEN connection; reconnecting", slog.String("channel", channel), slog.Any("error", err))
					}
					break
				}
				signal()
			}
			// The connection may be broken: don't return it to the pool.
			_ = conn.Conn().Close(context.Background())
			conn.Release()
		}
	}()
	return out
}
