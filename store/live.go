package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// This file holds the live hub's reads (live/hub.go Hub) besides the
// checks themselves (QueueChecksAndParents): what changed since a time,
// and the state before a check's latest result.

// ChangedSince returns the checks of tx's site whose state changed at or
// after t.
func ChangedSince(ctx context.Context, tx pgx.Tx, t time.Time) ([]uuid.UUID, error) {
	rows, err := tx.Query(ctx, `SELECT check_id FROM check_state WHERE updated_at >= $1`, t)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// QueuePreviousStates queues on b the reconstruction, for checks the hub
// has not followed yet, of the state before their latest result, from
// state history: a history row at the check's last result means that
// result changed status or hardness. Checks whose latest result changed
// nothing are left out of into. summaryAt gets each check's
// summary_changed_at.
func QueuePreviousStates(b *pgx.Batch, ids []uuid.UUID, into map[uuid.UUID]*CheckState, summaryAt map[uuid.UUID]time.Time) {
	if len(ids) == 0 {
		return
	}
	b.Queue(`SELECT s.check_id, s.summary_changed_at, h.status, h.previous,
			(SELECT o.hard FROM state_history o WHERE o.check_id = h.check_id AND o.id < h.id ORDER BY o.id DESC LIMIT 1)
		FROM check_state s LEFT JOIN LATERAL (SELECT * FROM state_history x WHERE x.check_id = s.check_id ORDER BY x.at DESC, x.id DESC LIMIT 1) h
			ON h.at = s.last_check
		WHERE s.check_id = ANY ($1)`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id uuid.UUID
			var at time.Time
			var status, previous *string
			var olderHard *bool
			if err := rows.Scan(&id, &at, &status, &previous, &olderHard); err != nil {
				return fmt.Errorf("reading previous states: %w", err)
			}
			summaryAt[id] = at
			if status == nil || previous == nil {
				continue // the latest result recorded no change
			}
			st, _ := checks.ParseStatus(*previous)
			// Same status: the result made it hard. Otherwise the state
			// before had the hardness of the change before (a new check
			// starts hard).
			hard := *status != *previous && (olderHard == nil || *olderHard)
			into[id] = &CheckState{Status: st, OK: st.OK(), Hard: hard}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading previous states: %w", err)
		}
		return nil
	})
}
