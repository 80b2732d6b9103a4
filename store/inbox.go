package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file owns result_inbox and result_quarantine: results enter the
// inbox from workers (HandBackResults, HandBackByID) and the APIs
// (SubmitResult in ops.go); result processors claim them by lane
// (QueueClaimResults); a result PostgreSQL refuses is set aside
// (ClaimResultOnly, Quarantine).

// InboxRow is one claimed row of result_inbox; Body is the JSON
// checks.Result.
type InboxRow struct {
	ID          int64
	Site, Check uuid.UUID
	Body        []byte
	Received    time.Time
}

// Lanes say which inbox rows a processor may claim: a row's lane is the
// last byte of its check id modulo Count, and each lane is held with a
// transaction-level advisory lock (LockClass, lane).
type Lanes struct {
	Mine      []int32
	LockClass int32
	Count     int32
}

// claimResults locks what it can of the lanes $2 (lanes other processors
// hold are left to them) and takes the oldest results of those lanes.
const claimResults = `WITH mine AS MATERIALIZED (
		SELECT coalesce(array_agg(l), '{}') AS lanes FROM unnest($2::int[]) AS l
		WHERE pg_try_advisory_xact_lock($3::int, l))
	DELETE FROM result_inbox WHERE id IN (
		SELECT i.id FROM result_inbox i, mine
		WHERE get_byte(uuid_send(i.check_id), 15) % $4 = ANY (mine.lanes)
		ORDER BY i.id LIMIT $1 FOR UPDATE OF i SKIP LOCKED)
	RETURNING id, site_id, check_id, result, received_at`

// claimResultsOnly is claimResults for the inbox rows $1 only (of the
// lanes $2 it can lock), when a failed batch is split.
const claimResultsOnly = `WITH mine AS MATERIALIZED (
		SELECT coalesce(array_agg(l), '{}') AS lanes FROM unnest($2::int[]) AS l
		WHERE pg_try_advisory_xact_lock($3::int, l))
	DELETE FROM result_inbox WHERE id IN (
		SELECT i.id FROM result_inbox i, mine
		WHERE i.id = ANY ($1::bigint[]) AND get_byte(uuid_send(i.check_id), 15) % $4 = ANY (mine.lanes)
		ORDER BY i.id FOR UPDATE OF i SKIP LOCKED)
	RETURNING id, site_id, check_id, result, received_at`

// QueueClaimResults queues on b the claim (delete) of the oldest limit
// results of the lanes it can lock or, with only set, of just those inbox
// rows; each claimed row is passed to each.
func QueueClaimResults(b *pgx.Batch, limit int, only []int64, l Lanes, each func(InboxRow)) {
	q, arg := claimResults, any(limit)
	if only != nil {
		q, arg = claimResultsOnly, only
	}
	b.Queue(q, arg, l.Mine, l.LockClass, l.Count).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var r InboxRow
			if err := rows.Scan(&r.ID, &r.Site, &r.Check, &r.Body, &r.Received); err != nil {
				return err
			}
			each(r)
		}
		return rows.Err()
	})
}

// ClaimResultOnly claims inbox row id inside tx if its lane can be locked;
// false when another processor took it.
func ClaimResultOnly(ctx context.Context, tx pgx.Tx, id int64, l Lanes) (InboxRow, bool, error) {
	var r InboxRow
	err := tx.QueryRow(ctx, claimResultsOnly, []int64{id}, l.Mine, l.LockClass, l.Count).
		Scan(&r.ID, &r.Site, &r.Check, &r.Body, &r.Received)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// Quarantine sets a claimed inbox row aside in result_quarantine with the
// database's reason (tx's site must be r.Site); body is what is kept of
// the result.
func Quarantine(ctx context.Context, tx pgx.Tx, r InboxRow, body, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO result_quarantine (site_id, check_id, result, error, received_at) VALUES ($1, $2, $3, $4, $5)`,
		r.Site, r.Check, body, reason, r.Received)
	return err
}

// unfinishedJob is the state of a check job a result may still complete:
// running, or waiting to run again after River rescued it (retryable,
// available) or a forwarder snoozed it (scheduled). A result of any run of
// the job stands for its slot; the first to arrive deletes the row, and
// every later one (and River's own completion of each run) finds nothing.
// Accepting only 'running' lost slots: the result of a run River had just
// rescued was dropped, its Work returned nil, and River's completion of
// that run (UPDATE ... WHERE state = 'running', whatever the attempt)
// marked the re-run completed, so the re-run's result was dropped too
// (TestLateResultOfRescuedJobAppliesOnce in package jobs).
const unfinishedJob = `state IN ('running', 'retryable', 'available', 'scheduled')`

// HandBackResults completes the unfinished River check jobs jobIDs and
// puts their results (bodies, for checks ids of sites) into the inbox, and
// wakes the processors: one statement, so one round trip and atomic on
// its own. A job already finished (its slot's result in, cancelled by the
// watchdog) or gone is left alone and its result dropped.
func HandBackResults(ctx context.Context, pool *pgxpool.Pool, jobIDs []int64, sites, ids []uuid.UUID, bodies []string) error {
	// Data-modifying CTEs run whether or not the final SELECT reads them.
	if _, err := pool.Exec(ctx, `WITH done AS (
			DELETE FROM river_job WHERE id = ANY($1::bigint[]) AND `+unfinishedJob+` RETURNING id),
		handed AS (
			INSERT INTO result_inbox (site_id, check_id, result)
			SELECT r.site_id, r.check_id, r.result
			FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $4::jsonb[]) AS r(job_id, site_id, check_id, result)
			JOIN done ON done.id = r.job_id)
		SELECT pg_notify(bergamot_channel($5), '')`, jobIDs, sites, ids, bodies, ResultsChannel); err != nil {
		return fmt.Errorf("handing back results: %w", err)
	}
	return nil
}

// HandBackByID completes the unfinished check job jobID of one of queues and
// puts its result body (JSON) into the inbox, with the job's slot unless
// the run was ad hoc; site and check come from the job. It reports whether
// the result was taken.
func HandBackByID(ctx context.Context, pool *pgxpool.Pool, jobID int64, queues []string, body []byte) (bool, error) {
	var n int
	err := pool.QueryRow(ctx, `WITH done AS (
			DELETE FROM river_job WHERE id = $1 AND kind = 'check' AND `+unfinishedJob+` AND queue = ANY($2) RETURNING args),
		handed AS (
			INSERT INTO result_inbox (site_id, check_id, result)
			SELECT (args->>'site_id')::uuid, (args->>'check_id')::uuid,
				CASE WHEN COALESCE((args->>'adhoc')::boolean, false) THEN $3::jsonb ELSE $3::jsonb || jsonb_build_object('Scheduled', args->'slot') END
			FROM done RETURNING 1)
		SELECT n, CASE WHEN n > 0 THEN (SELECT 1 FROM pg_notify(bergamot_channel($4), '')) ELSE 0 END FROM (SELECT count(*) AS n FROM handed) c`,
		jobID, queues, body, ResultsChannel).Scan(&n, new(int))
	if err != nil {
		return false, fmt.Errorf("handing back result of job %d: %w", jobID, err)
	}
	return n > 0, nil
}

// InsertResult puts one result (body, a JSON checks.Result) for check of
// site into the inbox inside tx; WakeProcessors, once per transaction,
// tells the processors.
func InsertResult(ctx context.Context, tx pgx.Tx, site, check uuid.UUID, body []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO result_inbox (site_id, check_id, result) VALUES ($1, $2, $3)`, site, check, body)
	return err
}

// WakeProcessors NOTIFYs ResultsChannel when tx commits.
func WakeProcessors(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify(bergamot_channel($1), '')`, ResultsChannel)
	return err
}

// InsertResults puts results (bodies, JSON checks.Result, for checks of
// sites) into the inbox and wakes the processors, in one statement on
// pool (the owner's: results of several sites). The load generators use
// it to feed the processor directly.
func InsertResults(ctx context.Context, pool *pgxpool.Pool, sites, checks []uuid.UUID, bodies []string) error {
	_, err := pool.Exec(ctx, `WITH handed AS (INSERT INTO result_inbox (site_id, check_id, result)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]))
		SELECT pg_notify(bergamot_channel($4), '')`, sites, checks, bodies, ResultsChannel)
	return err
}
