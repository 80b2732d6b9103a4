package jobs

import (
	"context"
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

// EscalationWorker names the synthetic results the escalation sweep hands
// to the event sinks with its escalation events.
const EscalationWorker = "bergamot/escalation"

// EscalationSweep raises the due escalation levels of open,
// unacknowledged alerts between results (monitor.Escalate): it saves the
// check's state (store.SaveState) and the alert's level, and hands the
// escalation events to the sinks, which queue the notifications. Every
// serve node runs one, beside the DowntimeSweep; state rows are claimed
// FOR UPDATE SKIP LOCKED, so two nodes never raise one level twice.
type EscalationSweep struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Sinks receive the escalation events, as the Processor's do.
	Sinks []EventSink
	// Every is how often to sweep (default 10s).
	Every time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Run sweeps until ctx ends.
func (s *EscalationSweep) Run(ctx context.Context) error {
	return runEvery(ctx, s.Logger, s.Every, nil, "escalation sweep", s.RunOnce)
}

// RunOnce sweeps every site once and returns how many alerts it escalated.
func (s *EscalationSweep) RunOnce(ctx context.Context) (int, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	return forEachSite(ctx, s.Pool, func(ctx context.Context, tx pgx.Tx, site uuid.UUID) (int, error) {
		return s.site(ctx, tx, site, now)
	})
}

func (s *EscalationSweep) site(ctx context.Context, tx pgx.Tx, site uuid.UUID, now time.Time) (int, error) {
	open, err := store.ClaimEscalatable(ctx, tx)
	if err != nil {
		return 0, err
	}
	type due struct {
		alert, check  uuid.UUID
		output, kind  string
		previous, now monitor.State
		events        []monitor.Event
	}
	var all []due
	for _, a := range open {
		d := due{alert: a.Alert, check: a.Check, output: a.Output, kind: a.Kind, previous: a.Machine}
		d.now, d.events = monitor.Escalate(d.previous, escalationRules(a.Settings), now)
		if len(d.events) > 0 {
			all = append(all, d)
		}
	}
	for _, d := range all {
		if err := store.SaveState(ctx, tx, d.check, d.now, 0); err != nil {
			return 0, fmt.Errorf("saving escalation: %w", err)
		}
		top := 0
		for _, ev := range d.events {
			top = max(top, ev.Level+1)
		}
		if err := store.RaiseEscalationLevel(ctx, tx, d.alert, top); err != nil {
			return 0, err
		}
		alert := d.alert
		pc := &ProcessedCheck{SiteID: site, CheckID: d.check, Kind: d.kind, AlertID: &alert, Previous: d.previous, State: d.now,
			Result: &checks.Result{Status: d.now.Status, Output: d.output, Started: now, Worker: EscalationWorker}, Events: d.events}
		for _, sink := range s.Sinks {
			if err := sink.HandleEvents(ctx, tx, pc); err != nil {
				return 0, fmt.Errorf("handling escalation events of %s: %w", d.check, err)
			}
		}
	}
	return len(all), nil
}

// escalationRules converts a check's <escalate> settings for monitor.
func escalationRules(cs store.CheckSettings) []monitor.Escalation {
	var out []monitor.Escalation
	for _, e := range cs.Notifications.Escalations {
		r := monitor.Escalation{After: e.After, Renotify: e.Renotify}
		for _, name := range e.Ignore {
			if st, err := checks.ParseStatus(name); err == nil {
				r.Ignore = append(r.Ignore, st)
			}
		}
		out = append(out, r)
	}
	return out
}
