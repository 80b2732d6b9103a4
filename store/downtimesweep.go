package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/monitor"
)

// This file holds the downtime sweep's SQL (jobs/downtime.go
// DowntimeSweep): the outbox of API-made downtime starts and ends, the
// recurring downtimes' occurrences, flexible downtimes a problem starts,
// and the claim of the checks whose in_downtime disagrees with their
// downtimes. Every claim is FOR UPDATE SKIP LOCKED, so several serve nodes
// never decide the same row twice.

// DowntimeEvent is one API-made downtime start or end from the outbox.
type DowntimeEvent struct {
	Seq            int64
	Check          uuid.UUID
	Started        bool
	At             time.Time
	Previous, Next monitor.State
}

// DrainDowntimeOutbox deletes and returns the queued downtime events
// (QueueDowntimeEvent) no other transaction holds, oldest first.
func DrainDowntimeOutbox(ctx context.Context, tx pgx.Tx) ([]DowntimeEvent, error) {
	rows, err := tx.Query(ctx, `DELETE FROM downtime_outbox WHERE id IN (SELECT id FROM downtime_outbox ORDER BY id FOR UPDATE SKIP LOCKED)
		RETURNING id, check_id, started, at, previous, state`)
	if err != nil {
		return nil, fmt.Errorf("reading downtime events: %w", err)
	}
	var list []DowntimeEvent
	for rows.Next() {
		var q DowntimeEvent
		var prev, next []byte
		if err := rows.Scan(&q.Seq, &q.Check, &q.Started, &q.At, &prev, &next); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading downtime events: %w", err)
		}
		_ = json.Unmarshal(prev, &q.Previous)
		_ = json.Unmarshal(next, &q.Next)
		list = append(list, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading downtime events: %w", err)
	}
	// RETURNING order is not guaranteed: keep them in queue order.
	slices.SortFunc(list, func(a, b DowntimeEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	return list, nil
}

// DowntimeCheckInfo is what a downtime event's sinks need of its check
// besides the state: the kind, the current output, the open alert and the
// note of the downtime that applies (its comment and author).
type DowntimeCheckInfo struct {
	Kind, Output, Note string
	AlertID            *uuid.UUID
}

// LoadDowntimeCheckInfo reads check's DowntimeCheckInfo at at; a check that
// is gone gives pgx.ErrNoRows.
func LoadDowntimeCheckInfo(ctx context.Context, tx pgx.Tx, check uuid.UUID, at time.Time) (DowntimeCheckInfo, error) {
	var info DowntimeCheckInfo
	err := tx.QueryRow(ctx, `SELECT c.kind, s.output, (SELECT a.id FROM alerts a WHERE a.check_id = c.id AND a.recovered_at IS NULL),
	COALESCE((SELECT d.comment || ' (' || d.author || ')' FROM downtimes d WHERE d.check_id IN (c.id, c.parent_id)
		ORDER BY downtime_in_effect(d, $2) DESC, d.created_at DESC LIMIT 1), '')
	FROM checks c JOIN check_state s ON s.check_id = c.id WHERE c.id = $1`, check, at).Scan(&info.Kind, &info.Output, &info.AlertID, &info.Note)
	return info, err
}

// RecurringDowntime is a recurring downtime (bound to a time period) that
// is started or whose window contains the sweep's now.
type RecurringDowntime struct {
	ID         uuid.UUID
	Period     string
	Start, End time.Time
	Started    bool
}

// ClaimRecurringDowntimes locks and returns the recurring downtimes that
// are started or whose window contains now.
func ClaimRecurringDowntimes(ctx context.Context, tx pgx.Tx, now time.Time) ([]RecurringDowntime, error) {
	rows, err := tx.Query(ctx, `SELECT id, time_period, starts_at, ends_at, started_at IS NOT NULL FROM downtimes
		WHERE time_period IS NOT NULL AND cancelled_at IS NULL AND (started_at IS NOT NULL OR ($1 >= starts_at AND $1 < ends_at))
		FOR UPDATE SKIP LOCKED`, now)
	if err != nil {
		return nil, fmt.Errorf("reading recurring downtimes: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RecurringDowntime, error) {
		var x RecurringDowntime
		err := r.Scan(&x.ID, &x.Period, &x.Start, &x.End, &x.Started)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading recurring downtimes: %w", err)
	}
	return list, nil
}

// SetRecurringStarted starts (at set) or ends (at nil) the current
// occurrence of recurring downtime id.
func SetRecurringStarted(ctx context.Context, tx pgx.Tx, id uuid.UUID, at *time.Time) error {
	var err error
	if at != nil {
		_, err = tx.Exec(ctx, `UPDATE downtimes SET started_at = $2 WHERE id = $1`, id, *at)
	} else {
		_, err = tx.Exec(ctx, `UPDATE downtimes SET started_at = NULL WHERE id = $1`, id)
	}
	if err != nil {
		return fmt.Errorf("updating recurring downtime %s: %w", id, err)
	}
	return nil
}

// EndRecurringOccurrence ends the current occurrence of recurring
// downtime id at end and records it in downtime_occurrences, where
// availability (reporting.check_availability) counts it as DOWNTIME.
func EndRecurringOccurrence(ctx context.Context, tx pgx.Tx, id uuid.UUID, end time.Time) error {
	_, err := tx.Exec(ctx, `WITH ended AS (
			UPDATE downtimes d SET started_at = NULL FROM downtimes o
			WHERE d.id = $1 AND o.id = d.id AND o.started_at IS NOT NULL
			RETURNING d.site_id, d.check_id, d.id, o.started_at)
		INSERT INTO downtime_occurrences (site_id, check_id, downtime_id, from_at, to_at)
			SELECT site_id, check_id, id, started_at, $2 FROM ended WHERE $2 > started_at`, id, end)
	if err != nil {
		return fmt.Errorf("ending recurring downtime %s: %w", id, err)
	}
	return nil
}

// StartFlexibleOnProblems starts the flexible downtimes whose window is
// open at now and whose check already has a problem.
func StartFlexibleOnProblems(ctx context.Context, tx pgx.Tx, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE downtimes d SET started_at = $1 FROM check_state s
		WHERE s.check_id = d.check_id AND NOT s.ok AND downtime_flex_pending(d, $1)`, now); err != nil {
		return fmt.Errorf("starting flexible downtimes: %w", err)
	}
	return nil
}

// DowntimeMismatch is a check whose in_downtime is not Want, with its
// state machine as read.
type DowntimeMismatch struct {
	ID      uuid.UUID
	Want    bool
	Machine monitor.State
}

// ClaimDowntimeMismatches locks (FOR UPDATE SKIP LOCKED) and returns the
// state rows whose in_downtime disagrees with their downtimes and their
// parent's at now.
func ClaimDowntimeMismatches(ctx context.Context, tx pgx.Tx, now time.Time) ([]DowntimeMismatch, error) {
	rows, err := tx.Query(ctx, `WITH active AS (SELECT d.check_id FROM downtimes d WHERE downtime_in_effect(d, $1))
		SELECT s.check_id, w.want, s.machine
		FROM check_state s JOIN checks c ON c.id = s.check_id
		CROSS JOIN LATERAL (SELECT c.id IN (SELECT check_id FROM active) OR c.parent_id IN (SELECT check_id FROM active) AS want) w
		WHERE s.in_downtime <> w.want
		FOR UPDATE OF s SKIP LOCKED`, now)
	if err != nil {
		return nil, fmt.Errorf("reading downtime states: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DowntimeMismatch, error) {
		var x DowntimeMismatch
		var machine []byte
		if err := r.Scan(&x.ID, &x.Want, &machine); err != nil {
			return x, err
		}
		x.Machine, _ = DecodeState(machine)
		return x, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading downtime states: %w", err)
	}
	return list, nil
}
