package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks/self"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// SelfCheck answers the internal engine (checks/self) from the worker and
// node registrations: workers (direct workers and remote workers of shared
// zones), worker_connections (a site's remote workers of its private
// zones, under the site's row-level security) and nodes (serve and
// notifier processes). A member counts as alive when it reported within
// LiveWithin (three heartbeats) and has not stopped.
type SelfCheck struct {
	Pool *pgxpool.Pool
}

// LiveWithin is how recently a worker or node must have reported to count.
const LiveWithin = "30 seconds"

var _ self.Source = (*SelfCheck)(nil)

// Workers implements self.Source.
func (s *SelfCheck) Workers(ctx context.Context, site, zone string) ([]self.Member, error) {
	rows, err := s.Pool.Query(ctx, `SELECT name, engines FROM workers
		WHERE zone = $1 AND stopped_at IS NULL AND last_seen > now() - interval '`+LiveWithin+`' ORDER BY name`, zone)
	if err != nil {
		return nil, fmt.Errorf("reading workers: %w", err)
	}
	out, err := collectMembers(rows)
	if err != nil {
		return nil, fmt.Errorf("reading workers: %w", err)
	}
	id, err := uuid.Parse(site)
	if err != nil {
		return out, nil //nolint:nilerr // no site (an ad-hoc run): the shared workers only
	}
	err = tenants.InSite(tenants.WithSite(ctx, id), s.Pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT name, engines FROM worker_connections
			WHERE zone = $1 AND closed_at IS NULL AND last_seen > now() - interval '`+LiveWithin+`' ORDER BY name`, zone)
		if err != nil {
			return err
		}
		more, err := collectMembers(rows)
		out = append(out, more...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the site's remote workers: %w", err)
	}
	return out, nil
}

// Nodes implements self.Source.
func (s *SelfCheck) Nodes(ctx context.Context, role string) ([]self.Member, error) {
	rows, err := s.Pool.Query(ctx, `SELECT name, capabilities FROM nodes
		WHERE role = $1 AND stopped_at IS NULL AND last_seen > now() - interval '`+LiveWithin+`' ORDER BY name`, role)
	if err != nil {
		return nil, fmt.Errorf("reading %s nodes: %w", role, err)
	}
	out, err := collectMembers(rows)
	if err != nil {
		return nil, fmt.Errorf("reading %s nodes: %w", role, err)
	}
	return out, nil
}

func collectMembers(rows pgx.Rows) ([]self.Member, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (self.Member, error) {
		var m self.Member
		err := r.Scan(&m.Name, &m.Offers)
		return m, err
	})
}
