package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"

	"github.com/bergamot-monitoring/bergamot/live/wire"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// check_state holds one row per check: the state machine (machine, a
// JSON monitor.State) and, mirrored from it for queries, lists and the
// dashboard, the flag and status columns. This file is the one place that
// writes it:
//
//   - the row is created with a configured check (upsertStates, config
//     apply);
//   - the result processor replaces whole rows (StateWrites), each only
//     while its updated_at is still the one the processor read;
//   - acknowledgements, downtimes, suppression and escalations change the
//     machine and some mirrored flags (SaveState) and set updated_at, so a
//     processor that read the row before them rolls back and retries
//     instead of overwriting them.

// upsertStates creates the state rows of configured checks ($1 the site);
// a changed <suppressed> reaches the column at once and the machine with
// the check's next result.
const upsertStates = `INSERT INTO check_state (check_id, site_id, status, ok, output, suppressed)
SELECT u.id, $1, u.status, u.ok, u.output, u.suppressed FROM unnest($2::uuid[], $3::text[], $4::bool[], $5::text[], $6::bool[])
	AS u(id, status, ok, output, suppressed)
ON CONFLICT (check_id) DO UPDATE SET suppressed = EXCLUDED.suppressed, updated_at = now()
	WHERE check_state.suppressed IS DISTINCT FROM EXCLUDED.suppressed`

// DecodeState reads a check_state.machine value; an empty machine ('{}',
// a check that never ran) is the zero State.
func DecodeState(raw []byte) (monitor.State, error) {
	var st monitor.State
	if len(raw) <= 2 {
		return st, nil
	}
	err := json.Unmarshal(raw, &st)
	return st, err
}

// LoadState reads and locks (FOR UPDATE) the state machine of check id.
func LoadState(ctx context.Context, tx pgx.Tx, id uuid.UUID) (monitor.State, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT machine FROM check_state WHERE check_id = $1 FOR UPDATE`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return monitor.State{}, errs.E(errs.NotFound, "no check with id %q", id)
	}
	if err != nil {
		return monitor.State{}, fmt.Errorf("reading state: %w", err)
	}
	st, _ := DecodeState(raw)
	return st, nil
}

// Mirror names the flag columns SaveState copies from the state machine
// besides the machine itself. A save mirrors only the flags its change
// owns: a column another writer set ahead of the machine (a configuration
// change's suppressed) keeps its value.
type Mirror uint8

// The mirrored flag columns.
const (
	MirrorAcknowledged Mirror = 1 << iota
	MirrorInDowntime
	MirrorSuppressed
)

// SaveState saves check id's state machine st and the flag columns m
// names, and sets updated_at (see StateWrites). It does not announce.
func SaveState(ctx context.Context, tx pgx.Tx, id uuid.UUID, st monitor.State, m Mirror) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE check_state SET machine = $2,
		acknowledged = CASE WHEN $6 THEN $3 ELSE acknowledged END,
		in_downtime = CASE WHEN $7 THEN $4 ELSE in_downtime END,
		suppressed = CASE WHEN $8 THEN $5 ELSE suppressed END,
		updated_at = now()
		WHERE check_id = $1`, id, raw, st.Acknowledged, st.InDowntime, st.Suppressed,
		m&MirrorAcknowledged != 0, m&MirrorInDowntime != 0, m&MirrorSuppressed != 0)
	if err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	return nil
}

// StateWrites gathers the processor's state rows for one batch so they are
// written by one statement over arrays (unnest); the latest row per check
// wins.
type StateWrites struct {
	idx                                    map[uuid.UUID]int
	ids                                    []uuid.UUID
	readAt                                 []time.Time // each state row's updated_at as read: replaced only if unchanged
	status, output, long, perf, machine, w []string
	ok, hard, flapping, ack, dt, sup, enc  []bool
	attempt                                []int32
	at                                     []time.Time
	lsc, lhc                               []*time.Time
	flapPct, runtime                       []float64
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Add queues check id's new state next after result res (at is when it
// was checked); readAt is its row's updated_at as read before the batch
// (only the first Add per check's counts).
func (w *StateWrites) Add(id uuid.UUID, next monitor.State, res *checks.Result, at time.Time, readAt time.Time) {
	machine, _ := json.Marshal(next)
	pd := res.Perfdata
	if pd == nil {
		pd = []checks.Perfdata{}
	}
	perf, _ := json.Marshal(pd)
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

// IDs lists the checks queued, in the order first added.
func (w *StateWrites) IDs() []uuid.UUID { return w.ids }

// Queue adds the gathered rows to b as one statement and empties w. A row
// is replaced only while it is still the one read (same updated_at); if
// any is not, the batch fails with changed.
func (w *StateWrites) Queue(b *pgx.Batch, changed error) {
	if len(w.ids) == 0 {
		return
	}
	want := int64(len(w.ids)) // w is reset below, before the callback runs
	// A result after a silence of more than three intervals closes a
	// monitoring gap (reporting.check_availability counts it as BLIND).
	// Queued first: it reads last_check before the update below moves it.
	b.Queue(`INSERT INTO monitoring_gaps (site_id, check_id, from_at, to_at)
		SELECT s.site_id, s.check_id, s.last_check, u.at
		FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS u(id, at, read_at)
		JOIN check_state s ON s.check_id = u.id AND s.updated_at = u.read_at
		JOIN check_schedule c ON c.check_id = u.id AND c.time_period IS NULL AND NOT c.paused
		WHERE s.last_check IS NOT NULL AND u.at - s.last_check > make_interval(secs => 3 * c.interval_ms / 1000.0)`,
		w.ids, w.at, w.readAt)
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
	*w = StateWrites{}
}

// Announce tells every serve node's live hub that the states of ids (of
// site) changed: NOTIFY on ChecksChannel, delivered when tx commits.
func Announce(ctx context.Context, tx pgx.Tx, site uuid.UUID, ids []uuid.UUID) error {
	for _, p := range wire.Encode(site, ids) {
		if _, err := tx.Exec(ctx, `SELECT pg_notify(bergamot_channel($1), $2)`, ChecksChannel, p); err != nil {
			return fmt.Errorf("announcing changed checks: %w", err)
		}
	}
	return nil
}

// QueueAnnounce queues Announce's NOTIFYs on b.
func QueueAnnounce(b *pgx.Batch, site uuid.UUID, ids []uuid.UUID) {
	for _, p := range wire.Encode(site, ids) {
		b.Queue(`SELECT pg_notify(bergamot_channel($1), $2)`, ChecksChannel, p)
	}
}

// announce announces one check of the site in ctx.
func announce(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	site, err := tenants.SiteFrom(ctx)
	if err != nil {
		return err
	}
	return Announce(ctx, tx, site, []uuid.UUID{id})
}
