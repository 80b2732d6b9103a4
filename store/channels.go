package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Bergamot's LISTEN/NOTIFY channels (ResultsChannel, ConfigChannel,
// ChecksChannel, DowntimesChannel, the gateway's keys channel) are named
// here by their public names; in PostgreSQL each carries a secret suffix
// (bergamot_channel(), migration 000053) that only the application and
// worker roles can read, so a site's reporting login can neither listen to
// them nor notify on them. Senders write pg_notify(bergamot_channel($1), ...);
// listeners call Listen.

// Listen makes conn listen on the Bergamot channel name.
func Listen(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := ListenAll(ctx, conn, name)
	return err
}

// ListenAll makes conn listen on each of the Bergamot channel names and
// returns the public name of each real channel (a notification's Channel
// is the real one).
func ListenAll(ctx context.Context, conn *pgx.Conn, names ...string) (map[string]string, error) {
	public := make(map[string]string, len(names))
	for _, name := range names {
		real, err := ChannelName(ctx, conn, name)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{real}.Sanitize()); err != nil {
			return nil, fmt.Errorf("listening on %s: %w", name, err)
		}
		public[real] = name
	}
	return public, nil
}

// ChannelName returns the real name (with the secret suffix) of the
// channel whose public name is name; River's topics take the suffix of
// ChannelName(ctx, conn, "") (internal/riverclient).
func ChannelName(ctx context.Context, conn *pgx.Conn, name string) (string, error) {
	var real string
	if err := conn.QueryRow(ctx, `SELECT bergamot_channel($1)`, name).Scan(&real); err != nil {
		return "", fmt.Errorf("finding channel %s: %w", name, err)
	}
	return real, nil
}
