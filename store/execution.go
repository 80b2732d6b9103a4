package store

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// This file holds what a worker reads of a check to run it
// (jobs/execute.go ExecuteWorker) and what trap ingest reads of the trap
// checks (jobs/traps.go TrapIngest). Credentials in the parameters are
// opened with OpenCredentials (credentials.go).

// CheckDefinition is a check as a worker runs it.
type CheckDefinition struct {
	Kind, Engine, Executor, Script string
	Parameters                     map[string]string
	// HostName and HostAddress are the check's host's (a host's own):
	// the address falls back to the name.
	HostName, HostAddress string
}

// LoadCheckDefinition reads check id of tx's site; a check that is gone
// gives pgx.ErrNoRows.
func LoadCheckDefinition(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*CheckDefinition, error) {
	d := &CheckDefinition{}
	err := tx.QueryRow(ctx, `SELECT c.kind, c.engine, c.executor, c.parameters, c.script,
			COALESCE(h.name, c.name), COALESCE(NULLIF(h.address, ''), NULLIF(c.address, ''), COALESCE(h.name, c.name))
		FROM checks c LEFT JOIN checks h ON h.id = c.parent_id AND h.kind = 'host' WHERE c.id = $1`, id).
		Scan(&d.Kind, &d.Engine, &d.Executor, &d.Parameters, &d.Script, &d.HostName, &d.HostAddress)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// TrapCheck is an enabled trap check with its host's address.
type TrapCheck struct {
	ID         uuid.UUID
	Executor   string
	Parameters map[string]string
	Address    string
}

// TrapChecks reads tx's site's enabled trap checks.
func TrapChecks(ctx context.Context, tx pgx.Tx) ([]TrapCheck, error) {
	type row struct { // in the order selected
		ID         uuid.UUID
		Executor   string
		Parameters []byte
		Address    string
	}
	rows, err := tx.Query(ctx, `SELECT t.id, t.executor, t.parameters, h.address
		FROM checks t JOIN checks h ON h.id = t.parent_id WHERE t.kind = 'trap' AND t.enabled`)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return nil, err
	}
	out := make([]TrapCheck, len(found))
	for i, c := range found {
		out[i] = TrapCheck{ID: c.ID, Executor: c.Executor, Parameters: map[string]string{}, Address: c.Address}
		_ = json.Unmarshal(c.Parameters, &out[i].Parameters)
	}
	return out, nil
}
