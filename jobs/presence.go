package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Presence records a worker in the workers table and keeps it fresh, so
// operators see which workers, zones and engines are alive.
type Presence struct {
	Pool    *pgxpool.Pool
	ID      uuid.UUID
	Name    string
	Zone    string
	Engines []string
	Version string
	Logger  *slog.Logger
	// InFlight, when set, reports how many checks the worker is running;
	// each heartbeat records it.
	InFlight func() int
}

func (p *Presence) inFlight() int {
	if p.InFlight == nil {
		return 0
	}
	return p.InFlight()
}

// HeartbeatEvery is how often a worker reports; a worker unseen for three
// beats is shown as gone.
const HeartbeatEvery = 10 * time.Second

// Run reports until ctx ends, then marks the worker stopped.
func (p *Presence) Run(ctx context.Context) error {
	if _, err := p.Pool.Exec(ctx, `INSERT INTO workers (id, name, zone, engines, version, address)
		VALUES ($1, $2, $3, $4, $5, coalesce(host(inet_client_addr()), 'local socket'))
		ON CONFLICT (id) DO UPDATE SET last_seen = now(), stopped_at = NULL`, p.ID, p.Name, p.Zone, p.Engines, p.Version); err != nil {
		return fmt.Errorf("registering worker: %w", err)
	}
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := p.Pool.Exec(sctx, `UPDATE workers SET stopped_at = now(), last_seen = now(), in_flight = 0 WHERE id = $1`, p.ID)
			return err
		case <-t.C:
			if _, err := p.Pool.Exec(ctx, `UPDATE workers SET last_seen = now(), in_flight = $2 WHERE id = $1`, p.ID, p.inFlight()); err != nil && ctx.Err() == nil {
				p.Logger.WarnContext(ctx, "worker heartbeat failed", slog.Any("error", err))
			}
		}
	}
}

// Node roles recorded by NodePresence.
const (
	RoleServe    = "serve"
	RoleNotifier = "notifier"
)

// NodePresence records a serve or notifier process in the nodes table and
// keeps it fresh, as Presence does for workers; Bergamot's internal checks
// count the live ones.
type NodePresence struct {
	Pool *pgxpool.Pool
	ID   uuid.UUID
	// Role is RoleServe or RoleNotifier.
	Role string
	Name string
	// Capabilities are what the node offers (a notifier's channels).
	Capabilities []string
	Version      string
	Logger       *slog.Logger
}

// Run reports until ctx ends, then marks the node stopped.
func (p *NodePresence) Run(ctx context.Context) error {
	caps := p.Capabilities
	if caps == nil {
		caps = []string{} // the column is NOT NULL
	}
	if _, err := p.Pool.Exec(ctx, `INSERT INTO nodes (id, role, name, capabilities, version) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET last_seen = now(), stopped_at = NULL`, p.ID, p.Role, p.Name, caps, p.Version); err != nil {
		return fmt.Errorf("registering %s node: %w", p.Role, err)
	}
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := p.Pool.Exec(sctx, `UPDATE nodes SET stopped_at = now(), last_seen = now() WHERE id = $1`, p.ID)
			return err
		case <-t.C:
			if _, err := p.Pool.Exec(ctx, `UPDATE nodes SET last_seen = now() WHERE id = $1`, p.ID); err != nil && ctx.Err() == nil {
				p.Logger.WarnContext(ctx, "node heartbeat failed", slog.String("role", p.Role), slog.Any("error", err))
			}
		}
	}
}
