package gateway

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
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
		counts, err := store.ZoneCheckCounts(ctx, tx)
		if err != nil {
			return err
		}
		for name, n := range counts {
			get(name).Checks = n
		}
		names, err := store.KeyedZones(ctx, tx)
		if err != nil {
			return err
		}
		for _, n := range names {
			get(n)
		}
		ws, err := store.LiveConnections(ctx, tx)
		if err != nil {
			return err
		}
		addWorkers(ws, get)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing zones: %w", err)
	}
	ws, err := store.LiveZoneWorkers(ctx, s.Pool, keys(byName))
	if err != nil {
		return nil, fmt.Errorf("listing zones: %w", err)
	}
	addWorkers(ws, get)
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

func addWorkers(rows []store.ZoneWorkerRow, get func(string) *Zone) {
	for _, r := range rows {
		w := &ZoneWorker{ID: r.ID, Name: r.Name, Version: r.Version, Engines: r.Engines, Node: r.Node, Address: r.Address,
			InFlight: r.InFlight, ConnectedAt: r.ConnectedAt, LastSeen: r.LastSeen}
		z := get(r.Zone)
		z.Workers = append(z.Workers, w)
		if z.LastSeen == nil || w.LastSeen.After(*z.LastSeen) {
			t := w.LastSeen
			z.LastSeen = &t
		}
	}
}
