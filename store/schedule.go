package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file holds the scheduler's SQL on check_schedule (jobs/scheduler.go
// Scheduler and ExecuteNow); configuration apply writes the rows
// (configwrite.go), the result processor their interval (results.go).

// DueCheck is a check whose slot came, as ClaimDue returns it.
type DueCheck struct {
	Check, Site uuid.UUID
	Zone        string
	// Shared: Zone is an operator zone (else the site's private one).
	Shared bool
	Slot   time.Time
	Period *string
	// Busy: its previous job is still in flight; skip this slot.
	Busy bool
}

// ClaimDue claims (FOR UPDATE SKIP LOCKED) at most batch due checks of all
// sites and moves each one's next run on by its interval, in step with
// its phase; a check not busy is marked in flight for inFlightFor.
func ClaimDue(ctx context.Context, tx pgx.Tx, batch int, inFlightFor time.Duration) ([]DueCheck, error) {
	// phase is what the next slot follows on from: the slot, or after a
	// new check's early first run its stable slot (realign_to, see
	// FirstRunWindow).
	rows, err := tx.Query(ctx, `WITH due AS (
			SELECT check_id, next_run AS slot, COALESCE(realign_to, next_run) AS phase, COALESCE(in_flight_until > now(), false) AS busy
			FROM check_schedule WHERE next_run <= now() AND NOT paused ORDER BY next_run LIMIT $1 FOR UPDATE SKIP LOCKED)
		UPDATE check_schedule s SET next_run = due.phase + make_interval(secs => s.interval_ms / 1000.0) *
			(floor(extract(epoch FROM (CASE WHEN due.busy THEN s.in_flight_until ELSE now() END) - due.phase) * 1000 / s.interval_ms) + 1),
			realign_to = NULL,
			in_flight_until = CASE WHEN due.busy THEN s.in_flight_until ELSE now() + make_interval(secs => $2) END
		FROM due WHERE s.check_id = due.check_id
		RETURNING s.check_id, s.site_id, s.zone, due.slot, s.time_period, due.busy,
			EXISTS (SELECT 1 FROM shared_zones z WHERE z.name = s.zone)`, batch, inFlightFor.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claiming due checks: %w", err)
	}
	defer rows.Close()
	var due []DueCheck
	for rows.Next() {
		var d DueCheck
		if err := rows.Scan(&d.Check, &d.Site, &d.Zone, &d.Slot, &d.Period, &d.Busy, &d.Shared); err != nil {
			return nil, fmt.Errorf("claiming due checks: %w", err)
		}
		due = append(due, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claiming due checks: %w", err)
	}
	return due, nil
}

// ReleaseInFlight clears the in-flight mark of checks claimed but not
// queued (outside their time period).
func ReleaseInFlight(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE check_schedule SET in_flight_until = NULL WHERE check_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("claiming due checks: %w", err)
	}
	return nil
}

// CheckZone returns the zone an active check runs in (its schedule's, its
// worker pool, or default) and whether it is an operator zone; a check
// that is not an active host or service gives pgx.ErrNoRows.
func CheckZone(ctx context.Context, tx pgx.Tx, checkID uuid.UUID) (zone string, shared bool, err error) {
	err = tx.QueryRow(ctx, `WITH z AS (SELECT COALESCE((SELECT zone FROM check_schedule WHERE check_id = c.id), NULLIF(c.worker_pool, ''), 'default') AS zone
			FROM checks c WHERE c.id = $1 AND c.engine <> '' AND c.kind IN ('host', 'service'))
		SELECT zone, EXISTS (SELECT 1 FROM shared_zones s WHERE s.name = z.zone) FROM z`, checkID).Scan(&zone, &shared)
	return zone, shared, err
}

// Unschedule removes every check_schedule row of site on pool (the
// owner's), so the scheduler queues nothing more for it (the benchmark's
// clean-up, before the site is deleted).
func Unschedule(ctx context.Context, pool *pgxpool.Pool, site uuid.UUID) error {
	_, err := pool.Exec(ctx, `DELETE FROM check_schedule WHERE site_id = $1`, site)
	return err
}
