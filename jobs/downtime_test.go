package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// downtimeXML has a host with services, all passive and hard at once, and
// two time periods: all of today (UTC) and all of tomorrow.
func downtimeXML(services int) string {
	now := time.Now().UTC()
	day := func(t time.Time) string { return strings.ToLower(t.Weekday().String()) }
	var b strings.Builder
	fmt.Fprintf(&b, `<bergamot site="test">
	<time-period name="today"><time-range>%s 00:00-24:00</time-range></time-period>
	<time-period name="tomorrow"><time-range>%s 00:00-24:00</time-range></time-period>
	<host name="db1"><state failed-after="1" recovers-after="1"/>`, day(now), day(now.Add(24*time.Hour)))
	for i := range services {
		fmt.Fprintf(&b, `<service name="svc%d"><state failed-after="1" recovers-after="1"/></service>`, i)
	}
	b.WriteString(`</host><host name="other"><state failed-after="1" recovers-after="1"/></host></bergamot>`)
	return b.String()
}

// downtimeRig is a pipeline whose processor and sweeps report to one
// recording sink.
type downtimeRig struct {
	*pipeline
	events *recordingSink
}

func newDowntimeRig(t *testing.T, services int) *downtimeRig {
	p := newPipeline(t, parseXML(t, downtimeXML(services)))
	r := &downtimeRig{pipeline: p, events: &recordingSink{}}
	p.proc.Sinks = append(p.proc.Sinks, r.events)
	return r
}

func (r *downtimeRig) sweep(now time.Time) *DowntimeSweep {
	return &DowntimeSweep{Pool: r.db.Pool, Logger: slog.New(slog.DiscardHandler), Sinks: []EventSink{r.events},
		Now: func() time.Time { return now }}
}

func (r *downtimeRig) runSweep(now time.Time) int {
	r.t.Helper()
	n, err := r.sweep(now).RunOnce(context.Background())
	if err != nil {
		r.t.Fatalf("sweep: %v", err)
	}
	return n
}

func (r *downtimeRig) id(kind, name, parent string) uuid.UUID { return r.state(kind, name, parent).id }

func (r *downtimeRig) inSite(fn func(ctx context.Context, tx pgx.Tx) error) {
	r.t.Helper()
	if err := tenants.InSite(r.ctx(), r.db.Pool, fn); err != nil {
		r.t.Fatal(err)
	}
}

// inDowntime reads the in_downtime column and the state machine's flag.
func (r *downtimeRig) inDowntime(id uuid.UUID) bool {
	r.t.Helper()
	var col, machine bool
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT in_downtime, COALESCE((machine->>'InDowntime')::boolean, false) FROM check_state WHERE check_id = $1`, id).
			Scan(&col, &machine)
	})
	if col != machine {
		r.t.Fatalf("check %s: in_downtime column %v but state machine %v", id, col, machine)
	}
	return col
}

// count counts recorded events of a kind for a check that notify.
func (r *downtimeRig) count(id uuid.UUID, kind monitor.EventKind) int {
	r.events.mu.Lock()
	defer r.events.mu.Unlock()
	n := 0
	for _, pc := range r.events.pcs {
		for _, e := range pc.Events {
			if pc.CheckID == id && e.Kind == kind {
				if !e.Notify {
					r.t.Fatalf("%s event of %s does not notify (quiet: %q)", kind, id, e.Quiet)
				}
				n++
			}
		}
	}
	return n
}

// notifying lists the notifying events of problems recorded for a check.
func (r *downtimeRig) problemNotifications(id uuid.UUID) []string {
	r.events.mu.Lock()
	defer r.events.mu.Unlock()
	var out []string
	for _, pc := range r.events.pcs {
		for _, e := range pc.Events {
			if pc.CheckID == id && e.Notify && e.Kind != monitor.EventDowntimeStarted && e.Kind != monitor.EventDowntimeEnded {
				out = append(out, e.Kind.String())
			}
		}
	}
	return out
}

func (r *downtimeRig) expectDowntime(id uuid.UUID, in bool, starts, ends int) {
	r.t.Helper()
	if got := r.inDowntime(id); got != in {
		r.t.Fatalf("check %s in downtime = %v, want %v", id, got, in)
	}
	if s, e := r.count(id, monitor.EventDowntimeStarted), r.count(id, monitor.EventDowntimeEnded); s != starts || e != ends {
		r.events.mu.Lock()
		for _, pc := range r.events.pcs {
			if pc.CheckID == id {
				r.t.Logf("%s %v worker=%v", pc.Kind, pc.Events, pc.Result.Worker)
			}
		}
		r.events.mu.Unlock()
		r.t.Fatalf("check %s: %d downtime-started and %d downtime-ended events, want %d and %d", id, s, e, starts, ends)
	}
}

func TestFixedDowntimeStartsAndEndsOnce(t *testing.T) {
	r := newDowntimeRig(t, 1)
	svc := r.id("service", "svc0", "db1")
	now := time.Now()
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		_, err := store.ScheduleDowntime(ctx, tx, svc.String(), "alice", "disk swap", now.Add(time.Hour), now.Add(2*time.Hour))
		return err
	})
	r.runSweep(now)
	r.expectDowntime(svc, false, 0, 0)

	start := now.Add(time.Hour + time.Second)
	if n := r.runSweep(start); n != 1 {
		t.Fatalf("sweep at the window's start emitted %d events, want 1", n)
	}
	r.expectDowntime(svc, true, 1, 0)
	r.runSweep(start)
	r.runSweep(start.Add(time.Minute))
	r.expectDowntime(svc, true, 1, 0)
	r.events.mu.Lock()
	pc := r.events.pcs[len(r.events.pcs)-1]
	r.events.mu.Unlock()
	if pc.Events[0].Type != monitor.NotifyDowntimeStart || pc.Result == nil || !strings.Contains(pc.Result.LongOutput, "disk swap (alice)") ||
		pc.Kind != "service" {
		t.Fatalf("downtime start handed to sinks as %+v / %+v; want a downtime-start notification with the comment", pc.Events[0], pc.Result)
	}

	end := now.Add(2*time.Hour + time.Second)
	r.runSweep(end)
	r.runSweep(end)
	r.expectDowntime(svc, false, 1, 1)
	r.expectDowntime(r.id("host", "db1", ""), false, 0, 0)
}

func TestProblemDuringDowntimeIsQuiet(t *testing.T) {
	r := newDowntimeRig(t, 1)
	svc := r.id("service", "svc0", "db1")
	r.push("db1", "svc0", checks.StatusOK, "fine")
	var dt *store.Downtime
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		var err error
		dt, err = store.ScheduleDowntime(ctx, tx, svc.String(), "alice", "upgrade", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
		return err
	})
	// Scheduled inside its window: in downtime at once, notified by the sweep.
	if !r.inDowntime(svc) || r.count(svc, monitor.EventDowntimeStarted) != 0 {
		t.Fatal("a downtime scheduled inside its window must apply at once and be notified by the sweep")
	}
	r.runSweep(time.Now())
	r.runSweep(time.Now())
	r.expectDowntime(svc, true, 1, 0)

	r.push("db1", "svc0", checks.StatusCritical, "disk full")
	st := r.expect("service", "svc0", "db1", "CRITICAL", true, "disk full")
	if st.alerts != 1 {
		t.Fatalf("%d alerts; the problem still opens an alert", st.alerts)
	}
	if got := r.problemNotifications(svc); len(got) != 0 {
		t.Fatalf("a problem during downtime notified: %v", got)
	}
	r.expectDowntime(svc, true, 1, 0) // the processor did not start it again

	r.inSite(func(ctx context.Context, tx pgx.Tx) error { return store.CancelDowntime(ctx, tx, dt.ID) })
	r.runSweep(time.Now())
	r.runSweep(time.Now())
	r.expectDowntime(svc, false, 1, 1)
}

func TestHostDowntimeCoversServices(t *testing.T) {
	r := newDowntimeRig(t, 2)
	host, s0, s1 := r.id("host", "db1", ""), r.id("service", "svc0", "db1"), r.id("service", "svc1", "db1")
	other := r.id("host", "other", "")
	var dt *store.Downtime
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		var err error
		dt, err = store.ScheduleDowntime(ctx, tx, host.String(), "bob", "rack move", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
		return err
	})
	if n := r.runSweep(time.Now()); n != 3 {
		t.Fatalf("sweep emitted %d events, want 3 (the host and its two services)", n)
	}
	for _, id := range []uuid.UUID{host, s0, s1} {
		r.expectDowntime(id, true, 1, 0)
	}
	r.expectDowntime(other, false, 0, 0)

	r.push("db1", "svc1", checks.StatusCritical, "down")
	r.push("db1", "", checks.StatusCritical, "host down")
	if got := append(r.problemNotifications(s1), r.problemNotifications(host)...); len(got) != 0 {
		t.Fatalf("problems under a host downtime notified: %v", got)
	}
	r.push("other", "", checks.StatusCritical, "down")
	if got := r.problemNotifications(other); len(got) != 1 {
		t.Fatalf("a host outside the downtime: notifications %v, want one alert", got)
	}

	r.inSite(func(ctx context.Context, tx pgx.Tx) error { return store.CancelDowntime(ctx, tx, dt.ID) })
	r.runSweep(time.Now())
	for _, id := range []uuid.UUID{host, s0, s1} {
		r.expectDowntime(id, false, 1, 1)
	}
}

func TestFlexibleDowntime(t *testing.T) {
	r := newDowntimeRig(t, 2)
	s0, s1 := r.id("service", "svc0", "db1"), r.id("service", "svc1", "db1")
	r.push("db1", "svc0", checks.StatusOK, "fine")
	r.push("db1", "svc1", checks.StatusCritical, "already broken")
	now := time.Now()
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		// svc0: window open for 10 minutes, lasting an hour once begun.
		d, err := store.ScheduleFlexibleDowntime(ctx, tx, s0.String(), "carol", "may fail", now.Add(-time.Minute), now.Add(10*time.Minute), time.Hour)
		if err == nil && (d.Kind != store.DowntimeFlexible || d.InEffect || d.Duration == nil || *d.Duration != 3600) {
			err = fmt.Errorf("scheduled %+v", d)
		}
		if err != nil {
			return err
		}
		// svc1 already has a problem: begins when its window opens.
		_, err = store.ScheduleFlexibleDowntime(ctx, tx, s1.String(), "carol", "known", now.Add(5*time.Minute), now.Add(10*time.Minute), time.Minute)
		return err
	})
	r.runSweep(now)
	r.push("db1", "svc0", checks.StatusOK, "still fine")
	r.expectDowntime(s0, false, 0, 0)
	r.expectDowntime(s1, false, 0, 0)

	// The first problem in the window starts it, quietly.
	r.push("db1", "svc0", checks.StatusCritical, "broken")
	r.expectDowntime(s0, true, 1, 0)
	if got := r.problemNotifications(s0); len(got) != 0 {
		t.Fatalf("the problem that began a flexible downtime notified: %v", got)
	}
	// svc1 was already broken: the sweep starts it when its window opens.
	r.runSweep(now.Add(6 * time.Minute))
	r.expectDowntime(s0, true, 1, 0)
	r.expectDowntime(s1, true, 1, 0)
	var started time.Time
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT started_at FROM downtimes WHERE check_id = $1`, s1).Scan(&started)
	})
	if d := started.Sub(now.Add(6 * time.Minute)); d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("svc1's flexible downtime started at %v, want the first sweep inside its window (%v)", started, now.Add(6*time.Minute))
	}
	// Each lasts its duration from its start, past the window's end.
	r.runSweep(now.Add(30 * time.Minute))
	r.expectDowntime(s0, true, 1, 0)
	r.expectDowntime(s1, false, 1, 1)
	r.runSweep(now.Add(61 * time.Minute))
	r.expectDowntime(s0, false, 1, 1)
}

func TestRecurringDowntimeFollowsTimePeriod(t *testing.T) {
	r := newDowntimeRig(t, 2)
	s0, s1 := r.id("service", "svc0", "db1"), r.id("service", "svc1", "db1")
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		d, err := store.ScheduleRecurringDowntime(ctx, tx, s0.String(), "dave", "daily backup", "today", time.Time{}, time.Time{})
		if err == nil && (d.Kind != store.DowntimeRecurring || !d.InEffect || d.TimePeriod == nil || *d.TimePeriod != "today") {
			err = fmt.Errorf("scheduled %+v", d)
		}
		if err != nil {
			return err
		}
		_, err = store.ScheduleRecurringDowntime(ctx, tx, s1.String(), "dave", "tomorrow's job", "tomorrow", time.Time{}, time.Time{})
		return err
	})
	now := time.Now()
	r.runSweep(now)
	r.expectDowntime(s0, true, 1, 0) // the period contains now
	r.expectDowntime(s1, false, 0, 0)

	r.push("db1", "svc0", checks.StatusCritical, "backup running")
	if got := r.problemNotifications(s0); len(got) != 0 {
		t.Fatalf("a problem inside a recurring downtime notified: %v", got)
	}

	// Tomorrow the roles swap.
	r.runSweep(now.Add(24 * time.Hour))
	r.expectDowntime(s0, false, 1, 1)
	r.expectDowntime(s1, true, 1, 0)
	// The day after, svc0's period recurs... in a week; svc1's ends.
	r.runSweep(now.Add(48 * time.Hour))
	r.expectDowntime(s1, false, 1, 1)
	r.runSweep(now.Add(7 * 24 * time.Hour))
	r.expectDowntime(s0, true, 2, 1)
}

func TestTwoSweepersNeverDoubleEmit(t *testing.T) {
	r := newDowntimeRig(t, 30)
	host := r.id("host", "db1", "")
	now := time.Now()
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		_, err := store.ScheduleDowntime(ctx, tx, host.String(), "erin", "power work", now.Add(time.Hour), now.Add(2*time.Hour))
		return err
	})
	race := func(at time.Time) int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					n, err := r.sweep(at).RunOnce(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return total
	}
	if n := race(now.Add(time.Hour + time.Second)); n != 31 {
		t.Fatalf("four sweepers emitted %d downtime starts, want 31 (the host and 30 services once each)", n)
	}
	if n := race(now.Add(2*time.Hour + time.Second)); n != 31 {
		t.Fatalf("four sweepers emitted %d downtime ends, want 31", n)
	}
	r.expectDowntime(host, false, 1, 1)
}
