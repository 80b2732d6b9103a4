package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file holds SQL on check_schedule beyond configuration apply (which
// writes the rows, configwrite.go) and the result processor (which sets
// their interval, results.go): the scheduler's claim (ClaimDue,
// ReleaseClaims) and where executeNow queues a check (QueueTarget).

// DueCheck is one check the scheduler claimed.
type DueCheck struct {
	Check, Site uuid.UUID
	Zone        string
	// Shared: Zone is an operator zone (else the site's private one).
	Shared bool
	// Slot is the run's slot (the next_run it was due at).
	Slot time.Time
	// Period is the check's time period (nil or "": always).
	Period *string
	// Busy: its previous job is still in flight; this slot is skipped.
	Busy bool
	// Agent: a check of the agent engine, queued for the agent hubs.
	Agent bool
}

// ClaimLimits bound one claim: at most Batch checks; a claimed check is in
// flight for InFlightFor; a site may have at most its cap of checks in
// flight (Caps[i] for CapSites[i], else DefaultCap).
type ClaimLimits struct {
	Batch       int
	InFlightFor time.Duration
	DefaultCap  int64
	CapSites    []uuid.UUID
	Caps        []int64
}

// ClaimDue claims, in tx (the scheduler's, across sites), up to
// l.Batch due checks (FOR UPDATE SKIP LOCKED), moves their next_run on and
// marks those not busy in flight. phase is what the next slot follows on
// from: the slot, or after a new check's early first run its stable slot
// (realign_to, see FirstRunWindow).
//
// Fair across sites (issue 19): a site may have at most its
// checks-in-flight limit of checks queued or running; its due checks
// beyond that wait in check_schedule (oldest first) instead of flooding the
// queue ahead of other sites. Within one pass the sites take turns (rank
// within the site first), so one site's burst cannot fill a batch while
// another's due checks wait. Busy checks (their previous job still in
// flight) queue nothing and are always claimed, to move their slot on.
//
// room is MATERIALIZED: inlined, PostgreSQL evaluated its per-site count of
// in-flight rows once per candidate row (10,000 due checks x 2,000 in
// flight: seconds per claim), which made the scheduler the costliest SQL
// of the pipeline.
func ClaimDue(ctx context.Context, tx pgx.Tx, l ClaimLimits) ([]DueCheck, error) {
	rows, err := tx.Query(ctx, `WITH cand AS (
			SELECT check_id, site_id, COALESCE(in_flight_until > now(), false) AS busy,
				row_number() OVER (PARTITION BY site_id, COALESCE(in_flight_until > now(), false) ORDER BY next_run, check_id) AS rn
			FROM check_schedule WHERE next_run <= now() AND NOT paused),
		room AS MATERIALIZED (
			SELECT c.site_id, COALESCE(o.cap, $3) - (SELECT count(*) FROM check_schedule f
				WHERE f.site_id = c.site_id AND f.in_flight_until IS NOT NULL AND f.in_flight_until > now()) AS room
			FROM (SELECT DISTINCT site_id FROM cand) c LEFT JOIN unnest($4::uuid[], $5::bigint[]) AS o (site_id, cap) ON o.site_id = c.site_id),
		pick AS (
			SELECT cand.check_id, cand.rn FROM cand JOIN room ON room.site_id = cand.site_id WHERE cand.busy OR cand.rn <= room.room),
		due AS (
			SELECT s.check_id, s.next_run AS slot, COALESCE(s.realign_to, s.next_run) AS phase, COALESCE(s.in_flight_until > now(), false) AS busy
			FROM check_schedule s JOIN pick ON pick.check_id = s.check_id
			WHERE s.next_run <= now() AND NOT s.paused ORDER BY pick.rn, s.next_run LIMIT $1 FOR UPDATE OF s SKIP LOCKED)
		UPDATE check_schedule s SET next_run = due.phase + make_interval(secs => s.interval_ms / 1000.0) *
			(floor(extract(epoch FROM (CASE WHEN due.busy THEN s.in_flight_until ELSE now() END) - due.phase) * 1000 / s.interval_ms) + 1),
			realign_to = NULL,
			in_flight_until = CASE WHEN due.busy THEN s.in_flight_until ELSE now() + make_interval(secs => $2) END
		FROM due WHERE s.check_id = due.check_id
		RETURNING s.check_id, s.site_id, s.zone, due.slot, s.time_period, due.busy,
			EXISTS (SELECT 1 FROM shared_zones z WHERE z.name = s.zone), s.agent`, l.Batch, l.InFlightFor.Seconds(),
		l.DefaultCap, l.CapSites, l.Caps)
	if err != nil {
		return nil, fmt.Errorf("claiming due checks: %w", err)
	}
	defer rows.Close()
	var due []DueCheck
	for rows.Next() {
		var d DueCheck
		if err := rows.Scan(&d.Check, &d.Site, &d.Zone, &d.Slot, &d.Period, &d.Busy, &d.Shared, &d.Agent); err != nil {
			return nil, fmt.Errorf("claiming due checks: %w", err)
		}
		due = append(due, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claiming due checks: %w", err)
	}
	return due, nil
}

// ReleaseClaims marks checks claimed but not queued (outside their time
// period) as not in flight.
func ReleaseClaims(ctx context.Context, tx pgx.Tx, checks []uuid.UUID) error {
	if _, err := tx.Exec(ctx, `UPDATE check_schedule SET in_flight_until = NULL WHERE check_id = ANY($1)`, checks); err != nil {
		return fmt.Errorf("claiming due checks: %w", err)
	}
	return nil
}

// QueueTarget is where executeNow queues check (in the site of tx): its
// zone (its schedule's, else its worker pool, else "default"), whether
// that is an operator zone, and whether it is an agent check.
// pgx.ErrNoRows: no such active check.
func QueueTarget(ctx context.Context, tx pgx.Tx, check uuid.UUID) (zone string, shared, agent bool, err error) {
	err = tx.QueryRow(ctx, `WITH z AS (SELECT COALESCE((SELECT zone FROM check_schedule WHERE check_id = c.id), NULLIF(c.worker_pool, ''), 'default') AS zone,
				c.engine = 'agent' AS agent
			FROM checks c WHERE c.id = $1 AND c.engine <> '' AND c.kind IN ('host', 'service'))
		SELECT zone, EXISTS (SELECT 1 FROM shared_zones s WHERE s.name = z.zone), agent FROM z`, check).Scan(&zone, &shared, &agent)
	return zone, shared, agent, err
}

// Unschedule removes every check_schedule row of site on pool (the
// owner's), so the scheduler queues nothing more for it (the benchmark's
// clean-up, before the site is deleted).
func Unschedule(ctx context.Context, pool *pgxpool.Pool, site uuid.UUID) error {
	_, err := pool.Exec(ctx, `DELETE FROM check_schedule WHERE site_id = $1`, site)
	return err
}
