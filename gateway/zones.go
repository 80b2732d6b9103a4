package gateway

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Zone is a zone as a site sees it: its private zones (named by its
// configuration or by its keys) and the operator zones its checks use.
type Zone struct {
	Name   string
	Shared bool
	// Workers are the connected workers (remote ones; for a shared zone,
	// the operator's direct and remote workers).
	Workers []*ZoneWorker
	// LastSeen is when a worker of the zone last reported.
	LastSeen *time.Time
	// Checks is how many of the site's checks run in the zone.
	Checks int
}

// ZoneWorker is one connected worker of a zone.
type ZoneWorker struct {
	ID      uuid.UUID
	Name    string
	Version string
	Engines []string
	Node    string
	// Address is where the worker connects from: its address as the
	// serve node saw it (remote workers), or as PostgreSQL did (direct).
	Address string
	// InFlight is how many checks it was running at its last heartbeat.
	InFlight    int
	ConnectedAt time.Time
	LastSeen    time.Time
}

// Zones lists the site's zones with their live workers.
func (s *Store) Zones(ctx context.Context) ([]*Zone, error) {
	shared, err := s.SharedZones(ctx)
	if err != nil {
		return nil, err
	}
	isShared := map[string]bool{}
	for _, z := range shared {
		isShared[z] = true
	}
	byName := map[string]*Zone{}
	get := func(name string) *Zone {
		z := byName[name]
		if z == nil {
			z = &Zone{Name: name, Shared: isShared[name], Workers: []*ZoneWorker{}}
			byName[name] = z
		}
		return z
	}
	err = tenants.InSite(ctx, s.Pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT zone, count(*) FROM check_schedule GROUP BY zone`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var n int
			if err := rows.Scan(&name, &n); err != nil {
				rows.Close()
				return err
			}
			get(name).Checks = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT DISTINCT zone FROM worker_keys WHERE revoked_at IS NULL`)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, n := range names {
			get(n)
		}
		rows, err = tx.Query(ctx, `SELECT id, zone, name, version, engines, node, address, in_flight, connected_at, last_seen FROM worker_connections
			WHERE closed_at IS NULL AND last_seen > now() - interval '30 seconds' ORDER BY zone, name`)
		if err != nil {
			return err
		}
		return collectWorkers(rows, get)
	})
	if err != nil {
		return nil, fmt.Errorf("listing zones: %w", err)
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, zone, name, version, engines, '', address, in_flight, started_at, last_seen FROM workers
		WHERE zone = ANY($1) AND stopped_at IS NULL AND last_seen > now() - interval '30 seconds' ORDER BY zone, name`, keys(byName))
	if err != nil {
		return nil, fmt.Errorf("listing zones: %w", err)
	}
	if err := collectWorkers(rows, get); err != nil {
		return nil, fmt.Errorf("listing zones: %w", err)
	}
	out := make([]*Zone, 0, len(byName))
	for _, z := range byName {
		out = append(out, z)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func keys(m map[string]*Zone) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func collectWorkers(rows pgx.Rows, get func(string) *Zone) error {
	defer rows.Close()
	for rows.Next() {
		w := &ZoneWorker{}
		var zone string
		if err := rows.Scan(&w.ID, &zone, &w.Name, &w.Version, &w.Engines, &w.Node, &w.Address, &w.InFlight, &w.ConnectedAt, &w.LastSeen); err != nil {
			return err
		}
		z := get(zone)
		z.Workers = append(z.Workers, w)
		if z.LastSeen == nil || w.LastSeen.After(*z.LastSeen) {
			t := w.LastSeen
			z.LastSeen = &t
		}
	}
	return rows.Err()
}
