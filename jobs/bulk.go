package jobs

import (
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/monitor"
)

// bulkWrites gathers a batch's state, history and metric writes so each is
// one statement over arrays (unnest) instead of one statement per result.
type bulkWrites struct {
	// check_state: the latest row per check wins.
	idx                                    map[uuid.UUID]int
	ids                                    []uuid.UUID
	readAt                                 []time.Time // each state row's updated_at as read: replaced only if unchanged
	status, output, long, perf, machine, w []string
	ok, hard, flapping, ack, dt, sup, enc  []bool
	attempt                                []int32
	at                                     []time.Time
	lsc, lhc                               []*time.Time
	flapPct, runtime                       []float64

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

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// state queues check id's new state; readAt is its row's updated_at as
// read before the batch (only the first call per check's counts).
func (w *bulkWrites) state(id uuid.UUID, next monitor.State, res *checks.Result, at time.Time, machine, perf []byte, readAt time.Time) {
	if w.idx == nil {
		w.idx = map[uuid.UUID]int{}
	}
	i, seen := w.idx[id]
	if !seen {
		i = len(w.ids)
		w.idx[id] = i
		w.ids = append(w.ids, id)
		w.readAt = append(w.readAt, readAt)
		w.status, w.output, w.long, w.perf, w.machine, w.w = append(w.status, ""), append(w.output, ""), append(w.long, ""), append(w.perf, ""), append(w.machine, ""), append(w.w, "")
		w.ok, w.hard, w.flapping, w.ack, w.dt, w.sup, w.enc = append(w.ok, false), append(w.hard, false), append(w.flapping, false), append(w.ack, false), append(w.dt, false), append(w.sup, false), append(w.enc, false)
		w.attempt, w.at, w.lsc, w.lhc = append(w.attempt, 0), append(w.at, time.Time{}), append(w.lsc, nil), append(w.lhc, nil)
		w.flapPct, w.runtime = append(w.flapPct, 0), append(w.runtime, 0)
	}
	w.status[i], w.output[i], w.long[i], w.perf[i], w.machine[i], w.w[i] = next.Status.String(), res.Output, res.LongOutput, string(perf), string(machine), res.Worker
	w.ok[i], w.hard[i], w.flapping[i], w.ack[i], w.dt[i], w.sup[i], w.enc[i] = next.OK, next.Hard, next.Flapping, next.Acknowledged, next.InDowntime, next.Suppressed, next.Encompassed
	w.attempt[i], w.at[i], w.lsc[i], w.lhc[i] = int32(next.Attempt), at, timePtr(next.LastStateChange), timePtr(next.LastHardChange)
	w.flapPct[i], w.runtime[i] = next.FlapPercent, float64(res.Runtime.Microseconds())/1000
}

func (w *bulkWrites) history(site, check uuid.UUID, at time.Time, next monitor.State, prev checks.Status, output string) {
	w.hSite, w.hCheck, w.hAt = append(w.hSite, site), append(w.hCheck, check), append(w.hAt, at)
	w.hStatus, w.hPrev, w.hOutput = append(w.hStatus, next.Status.String()), append(w.hPrev, prev.String()), append(w.hOutput, output)
	w.hOK, w.hHard, w.hAttempt = append(w.hOK, next.OK), append(w.hHard, next.Hard), append(w.hAttempt, int32(next.Attempt))
}

// metrics gathers the perfdata items of one result that have a value.
func (w *bulkWrites) metrics(site, check uuid.UUID, at time.Time, perf []checks.Perfdata) {
	for _, pd := range perf {
		if pd.Value != nil {
			w.mSite, w.mCheck, w.mLabel, w.mAt, w.mValue, w.mUOM = append(w.mSite, site), append(w.mCheck, check), append(w.mLabel, pd.Label), append(w.mAt, at), append(w.mValue, *pd.Value), append(w.mUOM, pd.UOM)
		}
	}
}

// queue adds the gathered writes to b, before anything queued later. A
// state is replaced only while its row is still the one read (same
// updated_at); if any is not, the batch fails with changed.
func (w *bulkWrites) queue(b *pgx.Batch, changed error) {
	if len(w.ids) > 0 {
		want := int64(len(w.ids)) // w is reset below, before the callback runs
		b.Queue(`UPDATE check_state s SET status = u.status, ok = u.ok, hard = u.hard, attempt = u.attempt, output = u.output,
			long_output = u.long_output, perfdata = u.perfdata::jsonb, last_check = u.at, last_state_change = u.lsc, last_hard_change = u.lhc,
			flapping = u.flapping, flap_percent = u.flap_percent, acknowledged = u.ack, in_downtime = u.dt, suppressed = u.sup,
			encompassed = u.enc, machine = u.machine::jsonb, worker = u.worker, runtime_ms = u.runtime, updated_at = now()
			FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::bool[], $5::int[], $6::text[], $7::text[], $8::text[], $9::timestamptz[],
				$10::timestamptz[], $11::timestamptz[], $12::bool[], $13::float8[], $14::bool[], $15::bool[], $16::bool[], $17::bool[],
				$18::text[], $19::text[], $20::float8[], $21::timestamptz[])
				AS u(id, status, ok, hard, attempt, output, long_output, perfdata, at, lsc, lhc, flapping, flap_percent, ack, dt, sup, enc, machine, worker, runtime, read_at)
			WHERE s.check_id = u.id AND s.updated_at = u.read_at`,
			w.ids, w.status, w.ok, w.hard, w.attempt, w.output, w.long, w.perf, w.at, w.lsc, w.lhc, w.flapping, w.flapPct,
			w.ack, w.dt, w.sup, w.enc, w.machine, w.w, w.runtime, w.readAt).Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() != want {
				return changed
			}
			return nil
		})
		// Their results are in: the checks' next slots may queue again. A
		// check held back while in flight had its next slot pushed past the
		// in-flight bound: bring it back to the first slot from now on, in
		// step with its interval.
		b.Queue(`UPDATE check_schedule SET in_flight_until = NULL,
				next_run = CASE WHEN next_run > now() + make_interval(secs => interval_ms / 1000.0)
					THEN next_run - make_interval(secs => interval_ms / 1000.0) * floor(extract(epoch FROM next_run - now()) * 1000 / interval_ms)
					ELSE next_run END
			WHERE check_id = ANY($1) AND in_flight_until IS NOT NULL`, w.ids)
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
	}
	*w = bulkWrites{}
}
