package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// This file holds what virtual-check evaluation (jobs/virtual.go) reads:
// every check's identity and condition, and the members' states.

// CheckRef is a check's identity as virtual-check conditions name it.
type CheckRef struct {
	ID        uuid.UUID
	Kind      string
	Name      string
	Parent    uuid.UUID // uuid.Nil for a top-level check
	Pool      string    // resource pool
	Condition string
}

// CheckRefs reads every check of tx's site, by name then id.
func CheckRefs(ctx context.Context, tx pgx.Tx) ([]CheckRef, error) {
	rows, err := tx.Query(ctx, `SELECT id, kind, name, parent_id, resource_pool, condition FROM checks ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("loading virtual checks: %w", err)
	}
	defer rows.Close()
	var all []CheckRef
	for rows.Next() {
		var c CheckRef
		var parent *uuid.UUID
		if err := rows.Scan(&c.ID, &c.Kind, &c.Name, &parent, &c.Pool, &c.Condition); err != nil {
			return nil, fmt.Errorf("loading virtual checks: %w", err)
		}
		if parent != nil {
			c.Parent = *parent
		}
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading virtual checks: %w", err)
	}
	return all, nil
}

// MemberState is a check's current status and hardness.
type MemberState struct {
	Status checks.Status // StatusUnknown when the stored status cannot be read
	Hard   bool
}

// MemberStates reads the current status of the checks ids.
func MemberStates(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) (map[uuid.UUID]MemberState, error) {
	rows, err := tx.Query(ctx, `SELECT check_id, status, hard FROM check_state WHERE check_id = ANY ($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading members: %w", err)
	}
	defer rows.Close()
	out := make(map[uuid.UUID]MemberState, len(ids))
	for rows.Next() {
		var id uuid.UUID
		var status string
		var hard bool
		if err := rows.Scan(&id, &status, &hard); err != nil {
			return nil, fmt.Errorf("reading members: %w", err)
		}
		st, err := checks.ParseStatus(status)
		if err != nil {
			st = checks.StatusUnknown
		}
		out[id] = MemberState{Status: st, Hard: hard}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading members: %w", err)
	}
	return out, nil
}
