package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/store"
)

// DowntimeWorker names the synthetic results the downtime sweep hands to
// the event sinks with its downtime-started/ended events.
const DowntimeWorker = "bergamot/downtime"

// DowntimeSweep starts and ends downtimes between results. On every pass,
// for every site, it:
//
//   - hands the downtime starts and ends made by API calls
//     (store.QueueDowntimeEvent) to the event sinks;
//   - starts and ends the occurrences of recurring downtimes (a downtime
//     bound to a time period is in effect while the period contains now);
//   - starts the flexible downtimes whose window is open and whose check
//     already has a problem (the processor starts them on a problem result);
//   - makes every check's in_downtime follow its own downtimes and its
//     host's (or cluster's): a check whose flag disagrees goes through
//     monitor.StartDowntime/EndDowntime, its downtime-started/ended event
//     goes to the sinks (notifications) and the check is announced on
//     ChecksChannel.
//
// Every serve node runs one. Check rows are claimed FOR UPDATE SKIP LOCKED
// and the outbox is drained with DELETE ... SKIP LOCKED, so several nodes
// never emit the same transition twice.
type DowntimeSweep struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Sinks receive the downtime events, as the Processor's do.
	Sinks []EventSink
	// Every is how often to sweep (default 10s); Wake, when set, sweeps at
	// once (LISTEN on store.DowntimesChannel).
	Every time.Duration
	Wake  <-chan struct{}
	// Now is the clock (default: the database's, as the processor's).
	Now func() time.Time
}

// Run sweeps until ctx ends.
func (s *DowntimeSweep) Run(ctx context.Context) error {
	return runEvery(ctx, s.Logger, s.Every, s.Wake, "downtime sweep", s.RunOnce)
}

// RunOnce sweeps every site once and returns how many downtime events it
// handed to the sinks.
func (s *DowntimeSweep) RunOnce(ctx context.Context) (int, error) {
	return forEachSite(ctx, s.Pool, s.site)
}

func (s *DowntimeSweep) site(ctx context.Context, tx pgx.Tx, site uuid.UUID) (int, error) {
	// The database's clock by default, as the processor uses it.
	var now time.Time
	if s.Now != nil {
		now = s.Now()
	} else if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return 0, fmt.Errorf("reading the time: %w", err)
	}
	n, err := s.drainOutbox(ctx, tx, site)
	if err != nil {
		return n, err
	}
	if err := s.recurring(ctx, tx, now); err != nil {
		return n, err
	}
	if _, err := tx.Exec(ctx, `UPDATE downtimes d SET started_at = $1 FROM check_state s
		WHERE s.check_id = d.check_id AND NOT s.ok AND downtime_flex_pending(d, $1)`, now); err != nil {
		return n, fmt.Errorf("starting flexible downtimes: %w", err)
	}
	changed, err := s.reconcile(ctx, tx, site, now)
	n += len(changed)
	if err != nil {
		return n, err
	}
	if err := store.Announce(ctx, tx, site, changed); err != nil {
		return n, fmt.Errorf("downtimes: %w", err)
	}
	return n, nil
}

// checkInfo is what the sinks need besides the state.
type checkInfo struct {
	kind, output, note string
	alertID            *uuid.UUID
}

const checkInfoSQL = `SELECT c.kind, s.output, (SELECT a.id FROM alerts a WHERE a.check_id = c.id AND a.recovered_at IS NULL),
	COALESCE((SELECT d.comment || ' (' || d.author || ')' FROM downtimes d WHERE d.check_id IN (c.id, c.parent_id)
		ORDER BY downtime_in_effect(d, $2) DESC, d.created_at DESC LIMIT 1), '')
	FROM checks c JOIN check_state s ON s.check_id = c.id WHERE c.id = $1`

// drainOutbox hands the queued API-made downtime starts and ends to the
// sinks, oldest first.
func (s *DowntimeSweep) drainOutbox(ctx context.Context, tx pgx.Tx, site uuid.UUID) (int, error) {
	type queued struct {
		seq            int64
		check          uuid.UUID
		started        bool
		at             time.Time
		previous, next monitor.State
	}
	rows, err := tx.Query(ctx, `DELETE FROM downtime_outbox WHERE id IN (SELECT id FROM downtime_outbox ORDER BY id FOR UPDATE SKIP LOCKED)
		RETURNING id, check_id, started, at, previous, state`)
	if err != nil {
		return 0, fmt.Errorf("reading downtime events: %w", err)
	}
	var list []queued
	for rows.Next() {
		var q queued
		var prev, next []byte
		if err := rows.Scan(&q.seq, &q.check, &q.started, &q.at, &prev, &next); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading downtime events: %w", err)
		}
		_ = json.Unmarshal(prev, &q.previous)
		_ = json.Unmarshal(next, &q.next)
		list = append(list, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading downtime events: %w", err)
	}
	// RETURNING order is not guaranteed: keep them in queue order.
	slices.SortFunc(list, func(a, b queued) int { return cmp.Compare(a.seq, b.seq) })
	for _, q := range list {
		var info checkInfo
		err := tx.QueryRow(ctx, checkInfoSQL, q.check, q.at).Scan(&info.kind, &info.output, &info.alertID, &info.note)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // removed meanwhile
		}
		if err != nil {
			return 0, fmt.Errorf("reading check %s: %w", q.check, err)
		}
		var evs []monitor.Event
		if q.started {
			_, evs = monitor.StartDowntime(q.previous, q.at)
		} else {
			_, evs = monitor.EndDowntime(q.previous, q.at)
		}
		if err := s.emit(ctx, tx, site, q.check, info, q.previous, q.next, evs, q.at); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

// recurring starts and ends the occurrences of recurring downtimes: the
// rows are claimed so that one node decides each.
func (s *DowntimeSweep) recurring(ctx context.Context, tx pgx.Tx, now time.Time) error {
	type rec struct {
		id         uuid.UUID
		period     string
		start, end time.Time
		started    bool
	}
	rows, err := tx.Query(ctx, `SELECT id, time_period, starts_at, ends_at, started_at IS NOT NULL FROM downtimes
		WHERE time_period IS NOT NULL AND cancelled_at IS NULL AND (started_at IS NOT NULL OR ($1 >= starts_at AND $1 < ends_at))
		FOR UPDATE SKIP LOCKED`, now)
	if err != nil {
		return fmt.Errorf("reading recurring downtimes: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rec, error) {
		var x rec
		err := r.Scan(&x.id, &x.period, &x.start, &x.end, &x.started)
		return x, err
	})
	if err != nil || len(list) == 0 {
		if err != nil {
			err = fmt.Errorf("reading recurring downtimes: %w", err)
		}
		return err
	}
	periods, err := store.TimePeriods(ctx, tx)
	if err != nil {
		return err
	}
	lookup := store.LookupIn(periods)
	for _, d := range list {
		p := periods[d.period]
		in := p != nil && !now.Before(d.start) && now.Before(d.end) && p.Contains(now, lookup)
		if p == nil {
			s.Logger.WarnContext(ctx, "recurring downtime names a time period that no longer exists",
				slog.String("downtime", d.id.String()), slog.String("time_period", d.period))
		}
		switch {
		case in && !d.started:
			_, err = tx.Exec(ctx, `UPDATE downtimes SET started_at = $2 WHERE id = $1`, d.id, now)
		case !in && d.started:
			_, err = tx.Exec(ctx, `UPDATE downtimes SET started_at = NULL WHERE id = $1`, d.id)
		}
		if err != nil {
			return fmt.Errorf("updating recurring downtime %s: %w", d.id, err)
		}
	}
	return nil
}

// reconcile flips the checks whose in_downtime disagrees with their
// downtimes (and their parent's) at now; it returns their ids.
func (s *DowntimeSweep) reconcile(ctx context.Context, tx pgx.Tx, site uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	type row struct {
		id      uuid.UUID
		want    bool
		machine []byte
		info    checkInfo
	}
	rows, err := tx.Query(ctx, `WITH active AS (SELECT d.check_id FROM downtimes d WHERE downtime_in_effect(d, $1))
		SELECT s.check_id, w.want, s.machine
		FROM check_state s JOIN checks c ON c.id = s.check_id
		CROSS JOIN LATERAL (SELECT c.id IN (SELECT check_id FROM active) OR c.parent_id IN (SELECT check_id FROM active) AS want) w
		WHERE s.in_downtime <> w.want
		FOR UPDATE OF s SKIP LOCKED`, now)
	if err != nil {
		return nil, fmt.Errorf("reading downtime states: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*row, error) {
		x := &row{}
		err := r.Scan(&x.id, &x.want, &x.machine)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading downtime states: %w", err)
	}
	var changed []uuid.UUID
	for _, x := range list {
		prev, _ := store.DecodeState(x.machine)
		var next monitor.State
		var evs []monitor.Event
		if x.want {
			next, evs = monitor.StartDowntime(prev, now)
		} else {
			next, evs = monitor.EndDowntime(prev, now)
		}
		// next.InDowntime is x.want: both monitor functions set it.
		if err := store.SaveState(ctx, tx, x.id, next, store.MirrorInDowntime); err != nil {
			return changed, fmt.Errorf("saving downtime state: %w", err)
		}
		changed = append(changed, x.id)
		if len(evs) == 0 {
			continue // only the column was out of step with the machine
		}
		if err := tx.QueryRow(ctx, checkInfoSQL, x.id, now).Scan(&x.info.kind, &x.info.output, &x.info.alertID, &x.info.note); err != nil {
			return changed, fmt.Errorf("reading check %s: %w", x.id, err)
		}
		if err := s.emit(ctx, tx, site, x.id, x.info, prev, next, evs, now); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// emit hands one check's downtime events to the sinks, with a synthetic
// result carrying the check's output and the downtime's comment.
func (s *DowntimeSweep) emit(ctx context.Context, tx pgx.Tx, site, check uuid.UUID, info checkInfo, prev, next monitor.State,
	evs []monitor.Event, at time.Time) error {
	if len(evs) == 0 {
		return nil
	}
	long := ""
	if info.note != "" {
		long = "Downtime: " + info.note
	}
	pc := &ProcessedCheck{SiteID: site, CheckID: check, Kind: info.kind, AlertID: info.alertID, Previous: prev, State: next,
		Result: &checks.Result{Status: next.Status, Output: info.output, LongOutput: long, Started: at, Worker: DowntimeWorker},
		Events: evs}
	for _, sink := range s.Sinks {
		if err := sink.HandleEvents(ctx, tx, pc); err != nil {
			return fmt.Errorf("handling downtime events of %s: %w", check, err)
		}
	}
	return nil
}

// triggerFlexible starts the check's pending flexible downtimes when a
// result is a problem (called by the processor before the state machine,
// so that the problem itself is already in downtime).
func triggerFlexible(b *pgx.Batch, rec *checkRecord, check uuid.UUID, st checks.Status) {
	if !rec.FlexPending || st.OK() {
		return
	}
	rec.FlexPending, rec.Downtime = false, true
	store.QueueStartFlexible(b, check)
}
