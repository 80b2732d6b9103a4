package jobs

import (
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/store"
)

// bulkWrites gathers a batch's state, history and metric writes so each is
// one statement over arrays (unnest) instead of one statement per result.
type bulkWrites struct {
	// states are the check_state rows, written by store (the latest row
	// per check wins).
	states store.StateWrites

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
// updated_at); if any is not, the batch fails with changed
// (store.StateWrites).
func (w *bulkWrites) queue(b *pgx.Batch, changed error) {
	if ids := w.states.IDs(); len(ids) > 0 {
		w.states.Queue(b, changed)
		// Their results are in: the checks' next slots may queue again. A
		// check held back while in flight had its next slot pushed past the
		// in-flight bound: bring it back to the first slot from now on, in
		// step with its interval.
		b.Queue(`UPDATE check_schedule SET in_flight_until = NULL,
				next_run = CASE WHEN next_run > now() + make_interval(secs => interval_ms / 1000.0)
					THEN next_run - make_interval(secs => interval_ms / 1000.0) * floor(extract(epoch FROM next_run - now()) * 1000 / interval_ms)
					ELSE next_run END
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
	}
	*w = bulkWrites{}
}
