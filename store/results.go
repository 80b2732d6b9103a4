package store

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/monitor"
)

// This file holds the result processor's SQL (jobs/results.go Processor):
// the read of what the state machine needs of a batch's checks, and the
// batch's writes besides check_state (state.go): state_history, metrics,
// alerts, the schedule's interval and in-flight bound, and flexible
// downtimes a problem starts.

// CheckRecord is the processor's working copy of one check for one batch:
// the state machine as read, the check's settings, dependency and downtime
// facts, and the updated_at its state write must still find.
type CheckRecord struct {
	Kind       string
	Settings   CheckSettings
	Suppressed bool
	Machine    monitor.State
	Deps       monitor.DepState
	Downtime   bool
	// FlexPending: a flexible downtime waits for a problem (QueueStartFlexible).
	FlexPending bool
	AlertID     *uuid.UUID
	Interval    int64
	Scheduled   bool
	// ReadAt is the state row's updated_at as read, for the write's check.
	ReadAt time.Time
}

// QueueLoadRecords queues on b the read of what the state machine needs
// of the checks ids, into out. The rows are not locked (locking every
// state row a batch touches cost PostgreSQL 40% more CPU per result at
// full throughput); instead the state write only replaces the row it read,
// recognised by its updated_at, which every writer of a state sets (see
// StateWrites). The ids are joined as a set (unnest), so each check is one
// index lookup: with = ANY, PostgreSQL rechecked every row against the
// whole array and read all of check_schedule to hash it.
func QueueLoadRecords(b *pgx.Batch, ids []uuid.UUID, out map[uuid.UUID]*CheckRecord) {
	b.Queue(`SELECT c.id, c.kind, c.settings, c.suppressed, s.machine, s.updated_at, ps.machine,
			EXISTS (SELECT 1 FROM downtimes d WHERE d.check_id IN (c.id, c.parent_id) AND downtime_in_effect(d, now())),
			EXISTS (SELECT 1 FROM downtimes d WHERE d.check_id = c.id AND downtime_flex_pending(d, now())),
			(SELECT a.id FROM alerts a WHERE a.check_id = c.id AND a.recovered_at IS NULL),
			sch.interval_ms,
			CASE WHEN c.depends_on <> '{}' THEN
				(SELECT jsonb_agg(ds.machine) FROM check_state ds WHERE ds.check_id = ANY (c.depends_on)) END
		FROM unnest($1::uuid[]) AS u(id) JOIN checks c ON c.id = u.id JOIN check_state s ON s.check_id = c.id
		LEFT JOIN check_state ps ON ps.check_id = c.parent_id AND c.kind IN ('service', 'trap')
		LEFT JOIN check_schedule sch ON sch.check_id = c.id`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id uuid.UUID
			rec := &CheckRecord{}
			var settings, machine, parent, deps []byte
			var interval *int64
			if err := rows.Scan(&id, &rec.Kind, &settings, &rec.Suppressed, &machine, &rec.ReadAt, &parent, &rec.Downtime, &rec.FlexPending, &rec.AlertID, &interval, &deps); err != nil {
				return err
			}
			_ = json.Unmarshal(settings, &rec.Settings)
			if len(machine) > 2 {
				_ = json.Unmarshal(machine, &rec.Machine)
			}
			if len(parent) > 2 {
				var ps monitor.State
				if json.Unmarshal(parent, &ps) == nil {
					rec.Deps = max(rec.Deps, depStateOf(ps))
				}
			}
			if len(deps) > 2 {
				var ds []monitor.State
				if json.Unmarshal(deps, &ds) == nil {
					for _, d := range ds {
						rec.Deps = max(rec.Deps, depStateOf(d))
					}
				}
			}
			if interval != nil {
				rec.Scheduled, rec.Interval = true, *interval
			}
			out[id] = rec
		}
		return rows.Err()
	})
}

// depStateOf is what one dependency's state means for its dependents: a
// hard problem is down, a soft state changing; a check that never ran
// counts as up.
func depStateOf(s monitor.State) monitor.DepState {
	switch {
	case s.LastCheck.IsZero():
		return monitor.DepsUp
	case s.Hard && !s.HardOK:
		return monitor.DepsDown
	case !s.Hard:
		return monitor.DepsChanging
	}
	return monitor.DepsUp
}

// QueueStartFlexible starts check's pending flexible downtimes (a problem
// arrived while one waited for it).
func QueueStartFlexible(b *pgx.Batch, check uuid.UUID) {
	b.Queue(`UPDATE downtimes d SET started_at = now() WHERE d.check_id = $1 AND downtime_flex_pending(d, now())`, check)
}

// QueueAlertOpened opens alert id for check (a hard problem began at at).
func QueueAlertOpened(b *pgx.Batch, id, site, check uuid.UUID, status, output string, at time.Time) {
	b.Queue(`INSERT INTO alerts (id, site_id, check_id, status, output, opened_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$6)
		ON CONFLICT DO NOTHING`, id, site, check, status, output, at)
}

// QueueAlertChanged records a new status and output on check's open alert.
func QueueAlertChanged(b *pgx.Batch, check uuid.UUID, status, output string, at time.Time) {
	b.Queue(`UPDATE alerts SET status = $2, output = $3, updated_at = $4 WHERE check_id = $1 AND recovered_at IS NULL`,
		check, status, output, at)
}

// QueueAlertRecovered closes check's open alert at at.
func QueueAlertRecovered(b *pgx.Batch, check uuid.UUID, at time.Time) {
	b.Queue(`UPDATE alerts SET recovered_at = $2, updated_at = $2 WHERE check_id = $1 AND recovered_at IS NULL`, check, at)
}

// QueueInterval sets check's schedule interval to ms milliseconds, bringing
// its next run forward when the new interval ends sooner.
func QueueInterval(b *pgx.Batch, check uuid.UUID, ms int64) {
	// clock_timestamp(), not now(): see ResultWrites.Queue.
	b.Queue(`UPDATE check_schedule SET interval_ms = $2::int, next_run = LEAST(next_run, clock_timestamp() + make_interval(secs => $2::int / 1000.0))
		WHERE check_id = $1`, check, ms)
}

// QueueResultsCounted adds counts[i] results applied in lane lanes[i] to
// the site's counter of results processed (result_counts, migration
// 000064; exported as bergamot_site_results_processed_total). The
// counter is split by the processor's lanes: a transaction only counts
// in lanes it holds, so two processors of one site never wait on the
// same row. Nothing is queued when lanes is empty.
func QueueResultsCounted(b *pgx.Batch, site uuid.UUID, lanes []int16, counts []int64) {
	if len(lanes) == 0 {
		return
	}
	b.Queue(`INSERT INTO result_counts AS r (site_id, lane, processed) SELECT $1, l, n FROM unnest($2::smallint[], $3::bigint[]) AS x(l, n)
		ON CONFLICT (site_id, lane) DO UPDATE SET processed = r.processed + excluded.processed`, site, lanes, counts)
}

// ResultWrites gathers a batch's state, history and metric writes so each
// is one statement over arrays (unnest) instead of one statement per
// result.
type ResultWrites struct {
	// States are the check_state rows (the latest row per check wins).
	States StateWrites
	// NoExports: the site has no enabled export target (QueueHasExports,
	// read in the same transaction), so the metrics are not copied to the
	// export outbox; false (the zero value) always copies them.
	NoExports bool

	hSite, hCheck           []uuid.UUID
	hAt                     []time.Time
	hStatus, hPrev, hOutput []string
	hOK, hHard              []bool
	hAttempt                []int32

	mSite, mCheck []uuid.UUID
	mLabel, mUOM  []string
	mAt           []time.Time
	mValue        []float64
}

// History gathers a state_history row: check changed from prev to next at at.
func (w *ResultWrites) History(site, check uuid.UUID, at time.Time, next monitor.State, prev checks.Status, output string) {
	w.hSite, w.hCheck, w.hAt = append(w.hSite, site), append(w.hCheck, check), append(w.hAt, at)
	w.hStatus, w.hPrev, w.hOutput = append(w.hStatus, next.Status.String()), append(w.hPrev, prev.String()), append(w.hOutput, output)
	w.hOK, w.hHard, w.hAttempt = append(w.hOK, next.OK), append(w.hHard, next.Hard), append(w.hAttempt, int32(next.Attempt))
}

// Metrics gathers the perfdata items of one result that have a value.
func (w *ResultWrites) Metrics(site, check uuid.UUID, at time.Time, perf []checks.Perfdata) {
	for _, pd := range perf {
		if pd.Value != nil {
			w.mSite, w.mCheck, w.mLabel, w.mAt, w.mValue, w.mUOM = append(w.mSite, site), append(w.mCheck, check), append(w.mLabel, pd.Label), append(w.mAt, at), append(w.mValue, *pd.Value), append(w.mUOM, pd.UOM)
		}
	}
}

// Queue adds the gathered writes to b, before anything queued later, and
// empties w. A state is replaced only while its row is still the one read
// (same updated_at); if any is not, the batch fails with changed
// (StateWrites).
func (w *ResultWrites) Queue(b *pgx.Batch, changed error) {
	if ids := w.States.IDs(); len(ids) > 0 {
		w.States.Queue(b, changed)
		// Their results are in: the checks' next slots may queue again. A
		// check held back while in flight had its next slot pushed past the
		// in-flight bound: bring it back to the first slot from now on, in
		// step with its interval.
		//
		// "From now" is the clock at this statement, not now() (the
		// transaction's start): a processor frozen mid-transaction (a
		// SIGSTOPped node) resumes with a now() from before the slots
		// other nodes queued meanwhile, and pulling back from it moved
		// next_run onto a slot already queued, which then ran twice
		// (TestFrozenProcessorDoesNotRewindTheSchedule).
		b.Queue(`UPDATE check_schedule SET in_flight_until = NULL,
				next_run = CASE WHEN next_run > c.t + make_interval(secs => interval_ms / 1000.0)
					THEN next_run - make_interval(secs => interval_ms / 1000.0) * floor(extract(epoch FROM next_run - c.t) * 1000 / interval_ms)
					ELSE next_run END
			FROM (SELECT clock_timestamp() AS t) c
			WHERE check_id = ANY($1) AND in_flight_until IS NOT NULL`, ids)
	}
	if len(w.hCheck) > 0 {
		b.Queue(`INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt, output)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::bool[], $7::bool[], $8::int[], $9::text[])`,
			w.hSite, w.hCheck, w.hAt, w.hStatus, w.hPrev, w.hOK, w.hHard, w.hAttempt, w.hOutput)
	}
	if len(w.mCheck) > 0 {
		b.Queue(`INSERT INTO metrics (site_id, check_id, label, at, value, uom)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::float8[], $6::text[])`,
			w.mSite, w.mCheck, w.mLabel, w.mAt, w.mValue, w.mUOM)
		if !w.NoExports {
			b.Queue(queueExportPoints, w.mSite, w.mCheck, w.mLabel, w.mAt, w.mValue, w.mUOM)
		}
	}
	*w = ResultWrites{}
}
