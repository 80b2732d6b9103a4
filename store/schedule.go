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
// The claim is bounded per site (issue 17): room holds each site with
// due work and its room (its limit minus its checks in flight, counted
// once per site: inlined, PostgreSQL recounted them once per due row,
// seconds per claim), and each site's candidates are read from the
// (site_id, next_run) index only as far as they can be claimed: its room
// of checks not in flight, and its busy checks (in flight, so at most its
// limit) up to the batch. Before, every due row of every site was
// numbered by a window function ahead of the limit (10,000 due: 38-130 ms
// a claim); the rows and their order are the same.
func ClaimDue(ctx context.Context, tx pgx.Tx, l ClaimLimits) ([]DueCheck, error) {
	rows, err := tx.Query(ctx, `WITH room AS MATERIALIZED (
			SELECT st.id AS site_id, GREATEST(COALESCE(o.cap, $3) - (SELECT count(*) FROM check_schedule f
				WHERE f.site_id = st.id AND f.in_flight_until IS NOT NULL AND f.in_flight_until > now()), 0) AS room
			FROM sites st LEFT JOIN unnest($4::uuid[], $5::bigint[]) AS o (site_id, cap) ON o.site_id = st.id
			WHERE EXISTS (SELECT 1 FROM check_schedule d WHERE d.site_id = st.id AND d.next_run <= now() AND NOT d.paused)),
		cand AS (
			SELECT c.check_id, row_number() OVER (PARTITION BY st.site_id, c.busy ORDER BY c.next_run, c.check_id) AS rn
			FROM room st CROSS JOIN LATERAL (
				(SELECT f.check_id, f.next_run, false AS busy FROM check_schedule f
					WHERE f.site_id = st.site_id AND f.next_run <= now() AND NOT f.paused
						AND (f.in_flight_until IS NULL OR f.in_flight_until <= now())
					ORDER BY f.next_run, f.check_id LIMIT LEAST(st.room, $1))
				UNION ALL
				(SELECT f.check_id, f.next_run, true FROM check_schedule f
					WHERE f.site_id = st.site_id AND f.in_flight_until IS NOT NULL AND f.in_flight_until > now()
						AND f.next_run <= now() AND NOT f.paused
					ORDER BY f.next_run, f.check_id LIMIT $1)) c),
		due AS (
			SELECT s.check_id, s.next_run AS slot, COALESCE(s.realign_to, s.next_run) AS phase, COALESCE(s.in_flight_until > now(), false) AS busy
			FROM check_schedule s JOIN cand ON cand.check_id = s.check_id
			WHERE s.next_run <= now() AND NOT s.paused ORDER BY cand.rn, s.next_run LIMIT $1 FOR UPDATE OF s SKIP LOCKED)
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
