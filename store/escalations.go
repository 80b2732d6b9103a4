package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/monitor"
)

// This file holds the escalation sweep's SQL (jobs/escalation.go
// EscalationSweep): the claim of open, unacknowledged alerts whose check
// has escalation rules, and the alert's level. The state itself is saved
// with SaveState (state.go).

// OpenAlert is an open, unacknowledged alert of a check with escalation
// rules, with its check's state machine as read (and locked).
type OpenAlert struct {
	Alert, Check uuid.UUID
	Output, Kind string
	Settings     CheckSettings
	Machine      monitor.State
}

// ClaimEscalatable locks (FOR UPDATE SKIP LOCKED, the state rows) and
// returns the open, unacknowledged alerts whose check has escalation
// rules; rows whose settings or machine cannot be read are skipped.
func ClaimEscalatable(ctx context.Context, tx pgx.Tx) ([]OpenAlert, error) {
	rows, err := tx.Query(ctx, `SELECT a.id, a.check_id, a.output, c.kind, c.settings, s.machine FROM alerts a
		JOIN checks c ON c.id = a.check_id JOIN check_state s ON s.check_id = a.check_id
		WHERE a.recovered_at IS NULL AND a.acknowledged_at IS NULL
		  AND jsonb_typeof(c.settings->'Notifications'->'Escalations') = 'array'
		FOR UPDATE OF s SKIP LOCKED`)
	if err != nil {
		return nil, fmt.Errorf("finding escalations: %w", err)
	}
	defer rows.Close()
	var all []OpenAlert
	for rows.Next() {
		var a OpenAlert
		var settings, machine []byte
		if err := rows.Scan(&a.Alert, &a.Check, &a.Output, &a.Kind, &settings, &machine); err != nil {
			return nil, fmt.Errorf("finding escalations: %w", err)
		}
		if json.Unmarshal(settings, &a.Settings) != nil || json.Unmarshal(machine, &a.Machine) != nil {
			continue
		}
		all = append(all, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("finding escalations: %w", err)
	}
	return all, nil
}

// RaiseEscalationLevel raises alert's escalation level to at least level.
func RaiseEscalationLevel(ctx context.Context, tx pgx.Tx, alert uuid.UUID, level int) error {
	if _, err := tx.Exec(ctx, `UPDATE alerts SET escalation_level = GREATEST(escalation_level, $2) WHERE id = $1`, alert, level); err != nil {
		return fmt.Errorf("saving escalation: %w", err)
	}
	return nil
}
