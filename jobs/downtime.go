package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	if err := store.StartFlexibleOnProblems(ctx, tx, now); err != nil {
		return n, err
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
type checkInfo = store.DowntimeCheckInfo

// drainOutbox hands the queued API-made downtime starts and ends to the
// sinks, oldest first.
func (s *DowntimeSweep) drainOutbox(ctx context.Context, tx pgx.Tx, site uuid.UUID) (int, error) {
	list, err := store.DrainDowntimeOutbox(ctx, tx)
	if err != nil {
		return 0, err
	}
	for _, q := range list {
		info, err := store.LoadDowntimeCheckInfo(ctx, tx, q.Check, q.At)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // removed meanwhile
		}
		if err != nil {
			return 0, fmt.Errorf("reading check %s: %w", q.Check, err)
		}
		var evs []monitor.Event
		if q.Started {
			_, evs = monitor.StartDowntime(q.Previous, q.At)
		} else {
			_, evs = monitor.EndDowntime(q.Previous, q.At)
		}
		if err := s.emit(ctx, tx, site, q.Check, info, q.Previous, q.Next, evs, q.At); err != nil {
			return 0, err
		}
	}
	return len(list), nil
}

// recurring starts and ends the occurrences of recurring downtimes: the
// rows are claimed so that one node decides each.
func (s *DowntimeSweep) recurring(ctx context.Context, tx pgx.Tx, now time.Time) error {
	list, err := store.ClaimRecurringDowntimes(ctx, tx, now)
	if err != nil || len(list) == 0 {
		return err
	}
	periods, err := store.TimePeriods(ctx, tx)
	if err != nil {
		return err
	}
	lookup := store.LookupIn(periods)
	for _, d := range list {
		p := periods[d.Period]
		in := p != nil && !now.Before(d.Start) && now.Before(d.End) && p.Contains(now, lookup)
		if p == nil {
			s.Logger.WarnContext(ctx, "recurring downtime names a time period that no longer exists",
				slog.String("downtime", d.ID.String()), slog.String("time_period", d.Period))
		}
		switch {
		case in && !d.Started:
			err = store.SetRecurringStarted(ctx, tx, d.ID, &now)
		case !in && d.Started:
			err = store.EndRecurringOccurrence(ctx, tx, d.ID, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reconcile flips the checks whose in_downtime disagrees with their
// downtimes (and their parent's) at now; it returns their ids.
func (s *DowntimeSweep) reconcile(ctx context.Context, tx pgx.Tx, site uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	list, err := store.ClaimDowntimeMismatches(ctx, tx, now)
	if err != nil {
		return nil, err
	}
	var changed []uuid.UUID
	for _, x := range list {
		prev := x.Machine
		var next monitor.State
		var evs []monitor.Event
		if x.Want {
			next, evs = monitor.StartDowntime(prev, now)
		} else {
			next, evs = monitor.EndDowntime(prev, now)
		}
		// next.InDowntime is x.Want: both monitor functions set it.
		if err := store.SaveState(ctx, tx, x.ID, next, store.MirrorInDowntime); err != nil {
			return changed, fmt.Errorf("saving downtime state: %w", err)
		}
		changed = append(changed, x.ID)
		if len(evs) == 0 {
			continue // only the column was out of step with the machine
		}
		info, err := store.LoadDowntimeCheckInfo(ctx, tx, x.ID, now)
		if err != nil {
			return changed, fmt.Errorf("reading check %s: %w", x.ID, err)
		}
		if err := s.emit(ctx, tx, site, x.ID, info, prev, next, evs, now); err != nil {
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
	if info.Note != "" {
		long = "Downtime: " + info.Note
	}
	pc := &ProcessedCheck{SiteID: site, CheckID: check, Kind: info.Kind, AlertID: info.AlertID, Previous: prev, State: next,
		Result: &checks.Result{Status: next.Status, Output: info.Output, LongOutput: long, Started: at, Worker: DowntimeWorker},
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
