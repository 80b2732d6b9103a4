package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// This file holds the freshness sweep's SQL (jobs/freshness.go
// Freshness): the passive checks it watches and the silences it reported
// (passive_freshness).

// PassiveCheck is a passive check with a freshness limit, as the freshness
// sweep reads it.
type PassiveCheck struct {
	ID                 uuid.UUID
	Freshness, Status  string
	Settings           CheckSettings
	Configured         time.Time
	LastCheck          *time.Time
	Worker             string
	Hard               bool
	SilentSince, Fired *time.Time
}

// PassiveChecks reads the site's enabled passive checks that have a
// freshness limit, with the silence last reported for each.
func PassiveChecks(ctx context.Context, tx pgx.Tx) ([]*PassiveCheck, error) {
	rows, err := tx.Query(ctx, `SELECT c.id, c.parameters->>'freshness', COALESCE(c.parameters->>'freshness-status', ''), c.settings,
			c.updated_at, s.last_check, s.worker, s.hard, f.silent_since, f.fired_at
		FROM checks c JOIN check_state s ON s.check_id = c.id
		LEFT JOIN passive_freshness f ON f.check_id = c.id
		WHERE c.kind IN ('host', 'service', 'trap') AND c.enabled AND c.parameters ? 'freshness'
			AND NOT EXISTS (SELECT 1 FROM check_schedule cs WHERE cs.check_id = c.id)`)
	if err != nil {
		return nil, fmt.Errorf("reading passive checks: %w", err)
	}
	defer rows.Close()
	var list []*PassiveCheck
	for rows.Next() {
		c := &PassiveCheck{}
		var settings []byte
		if err := rows.Scan(&c.ID, &c.Freshness, &c.Status, &settings, &c.Configured, &c.LastCheck, &c.Worker, &c.Hard,
			&c.SilentSince, &c.Fired); err != nil {
			return nil, fmt.Errorf("reading passive checks: %w", err)
		}
		_ = json.Unmarshal(settings, &c.Settings)
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading passive checks: %w", err)
	}
	return list, nil
}

// RecordSilence notes that check's silence since since was reported at at.
func RecordSilence(ctx context.Context, tx pgx.Tx, site, check uuid.UUID, since, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO passive_freshness (check_id, site_id, silent_since, fired_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (check_id) DO UPDATE SET silent_since = EXCLUDED.silent_since, fired_at = EXCLUDED.fired_at`,
		check, site, since, at)
	return err
}
