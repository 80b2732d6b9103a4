package monitor

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

const (
	ok   = checks.StatusOK
	warn = checks.StatusWarning
	crit = checks.StatusCritical
	unkn = checks.StatusUnknown
	pend = checks.StatusPending
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// step is one result in a sequence and what must be true after it.
type step struct {
	res        checks.Status
	deps       DepState
	down, supp bool
	at         time.Duration // time since t0; default: step index in minutes
	ack        string        // before the result: "normal", "sticky" or "un"

	hard    bool
	attempt int
	events  []string
}

type sequence struct {
	name     string
	settings Settings
	initial  checks.Status
	steps    []step
}

func runSequence(t *testing.T, sq sequence) State {
	t.Helper()
	st := Initial(sq.initial, "", t0)
	for i, sp := range sq.steps {
		at := sp.at
		if at == 0 {
			at = time.Duration(i) * time.Minute
		}
		now := t0.Add(at)
		var pre []Event
		switch sp.ack {
		case "normal", "sticky":
			var err error
			st, pre, err = Acknowledge(st, sp.ack == "sticky", now)
			if err != nil {
				t.Fatalf("step %d: Acknowledge: %v", i, err)
			}
		case "un":
			st, pre = Unacknowledge(st, now)
		}
		var evs []Event
		st, evs = Apply(st, Input{Result: sp.res, Output: sp.res.String(), Time: now, Dependencies: sp.deps, InDowntime: sp.down, Suppressed: sp.supp}, sq.settings)
		got := eventStrings(append(pre, evs...))
		if st.Hard != sp.hard || st.Attempt != sp.attempt || st.Status != sp.res || !slices.Equal(got, sp.events) {
			t.Fatalf("step %d (%s at %s):\n got  hard=%v attempt=%d status=%s events=%q\n want hard=%v attempt=%d status=%s events=%q",
				i, sp.res, at, st.Hard, st.Attempt, st.Status, got, sp.hard, sp.attempt, sp.res, sp.events)
		}
	}
	return st
}

func eventStrings(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.String()
	}
	return out
}

func TestSequences(t *testing.T) {
	f3r2 := Settings{FailedAfter: 3, RecoversAfter: 2, NoFlapDetection: true}
	one := Settings{FailedAfter: 1, RecoversAfter: 1, NoFlapDetection: true}
	for _, sq := range []sequence{
		{name: "fail after 3, recover after 2", settings: f3r2, steps: []step{
			{res: ok, hard: true, attempt: 2, events: []string{"state-changed PENDING->OK hard"}},
			{res: crit, attempt: 1, events: []string{"state-changed OK->CRITICAL"}},
			{res: crit, attempt: 2},
			{res: crit, hard: true, attempt: 3, events: []string{"state-changed CRITICAL->CRITICAL hard", "hard-problem OK->CRITICAL hard notify=alert"}},
			{res: crit, hard: true, attempt: 3},
			{res: ok, attempt: 1, events: []string{"state-changed CRITICAL->OK"}},
			{res: ok, hard: true, attempt: 2, events: []string{"state-changed OK->OK hard", "recovered CRITICAL->OK hard notify=recovery"}},
		}},
		{name: "transition abandoned returns to hard at once", settings: f3r2, steps: []step{
			{res: ok, hard: true, attempt: 2, events: []string{"state-changed PENDING->OK hard"}},
			{res: warn, attempt: 1, events: []string{"state-changed OK->WARNING"}},
			{res: crit, attempt: 2, events: []string{"state-changed WARNING->CRITICAL"}},
			{res: ok, hard: true, attempt: 2, events: []string{"state-changed CRITICAL->OK hard"}},
			{res: crit, attempt: 1, events: []string{"state-changed OK->CRITICAL"}},
		}},
		{name: "problem status changes while hard are immediate", settings: f3r2, steps: []step{
			{res: warn, attempt: 1, events: []string{"state-changed PENDING->WARNING"}},
			{res: warn, attempt: 2},
			{res: warn, hard: true, attempt: 3, events: []string{"state-changed WARNING->WARNING hard", "hard-problem PENDING->WARNING hard notify=alert"}},
			{res: crit, hard: true, attempt: 3, events: []string{"state-changed WARNING->CRITICAL hard", "got-worse WARNING->CRITICAL hard notify=alert"}},
			{res: unkn, hard: true, attempt: 3, events: []string{"state-changed CRITICAL->UNKNOWN hard", "changed CRITICAL->UNKNOWN hard notify=alert"}},
			// A soft ok blip, then back: the alert stays open, the hard
			// status is compared with the last hard one.
			{res: ok, attempt: 1, events: []string{"state-changed UNKNOWN->OK"}},
			{res: checks.StatusError, hard: true, attempt: 3, events: []string{"state-changed OK->ERROR hard", "got-worse UNKNOWN->ERROR hard notify=alert"}},
		}},
		{name: "configured initial critical opens an alert on the first result", settings: one, initial: crit, steps: []step{
			{res: crit, hard: true, attempt: 1, events: []string{"hard-problem CRITICAL->CRITICAL hard notify=alert"}},
			{res: ok, hard: true, attempt: 1, events: []string{"state-changed CRITICAL->OK hard", "recovered CRITICAL->OK hard notify=recovery"}},
		}},
		{name: "problem during downtime is notified when it ends", settings: one, steps: []step{
			{res: crit, down: true, hard: true, attempt: 1, events: []string{"downtime-started PENDING->PENDING hard notify=downtime-start", "state-changed PENDING->CRITICAL hard", "hard-problem PENDING->CRITICAL hard quiet=alert(in downtime)"}},
			{res: crit, down: true, hard: true, attempt: 1},
			{res: crit, hard: true, attempt: 1, events: []string{"downtime-ended CRITICAL->CRITICAL hard notify=downtime-end", "reminder CRITICAL->CRITICAL hard notify=alert"}},
			{res: ok, hard: true, attempt: 1, events: []string{"state-changed CRITICAL->OK hard", "recovered CRITICAL->OK hard notify=recovery"}},
		}},
		{name: "recovery of a problem never notified is not notified", settings: one, steps: []step{
			{res: crit, down: true, hard: true, attempt: 1, events: []string{"downtime-started PENDING->PENDING hard notify=downtime-start", "state-changed PENDING->CRITICAL hard", "hard-problem PENDING->CRITICAL hard quiet=alert(in downtime)"}},
			{res: ok, down: true, hard: true, attempt: 1, events: []string{"state-changed CRITICAL->OK hard", "recovered CRITICAL->OK hard quiet=recovery(in downtime)"}},
			{res: crit, supp: true, hard: true, attempt: 1, events: []string{"downtime-ended OK->OK hard quiet=downtime-end(suppressed)", "state-changed OK->CRITICAL hard", "hard-problem OK->CRITICAL hard quiet=alert(suppressed)"}},
			{res: ok, hard: true, attempt: 1, events: []string{"state-changed CRITICAL->OK hard", "recovered CRITICAL->OK hard quiet=recovery(problem was never notified)"}},
		}},
		{name: "service under a down host is encompassed", settings: one, steps: []step{
			{res: crit, deps: DepsDown, hard: true, attempt: 1, events: []string{"state-changed PENDING->CRITICAL hard"}},
			{res: crit, deps: DepsDown, hard: true, attempt: 1},
			// Host back, service still critical: now it is its own problem.
			{res: crit, hard: true, attempt: 1, events: []string{"hard-problem CRITICAL->CRITICAL hard notify=alert"}},
			// Host down again: the open alert stays, but is quiet.
			{res: warn, deps: DepsDown, hard: true, attempt: 1, events: []string{"state-changed CRITICAL->WARNING hard", "changed CRITICAL->WARNING hard quiet=alert(dependency down)"}},
			{res: ok, hard: true, attempt: 1, events: []string{"state-changed WARNING->OK hard", "recovered WARNING->OK hard notify=recovery"}},
		}},
		{name: "no hard state while dependencies change", settings: Settings{FailedAfter: 2, RecoversAfter: 1, NoFlapDetection: true}, steps: []step{
			{res: crit, deps: DepsChanging, attempt: 1, events: []string{"state-changed PENDING->CRITICAL"}},
			{res: crit, deps: DepsChanging, attempt: 2},
			{res: crit, deps: DepsChanging, attempt: 2},
			{res: crit, hard: true, attempt: 2, events: []string{"state-changed CRITICAL->CRITICAL hard", "hard-problem PENDING->CRITICAL hard notify=alert"}},
			{res: ok, deps: DepsChanging, attempt: 1, events: []string{"state-changed CRITICAL->OK"}},
			{res: ok, deps: DepsUp, hard: true, attempt: 1, events: []string{"state-changed OK->OK hard", "recovered CRITICAL->OK hard notify=recovery"}},
		}},
		{name: "normal acknowledgement clears on a hard status change", settings: one, steps: []step{
			{res: warn, hard: true, attempt: 1, events: []string{"state-changed PENDING->WARNING hard", "hard-problem PENDING->WARNING hard notify=alert"}},
			{res: warn, ack: "normal", hard: true, attempt: 1, events: []string{"acknowledged WARNING->WARNING hard notify=acknowledgement"}},
			{res: crit, hard: true, attempt: 1, events: []string{"state-changed WARNING->CRITICAL hard", "unacknowledged WARNING->CRITICAL hard", "got-worse WARNING->CRITICAL hard notify=alert"}},
		}},
		{name: "sticky acknowledgement lasts until recovery", settings: one, steps: []step{
			{res: warn, hard: true, attempt: 1, events: []string{"state-changed PENDING->WARNING hard", "hard-problem PENDING->WARNING hard notify=alert"}},
			{res: warn, ack: "sticky", hard: true, attempt: 1, events: []string{"acknowledged WARNING->WARNING hard notify=acknowledgement"}},
			{res: crit, hard: true, attempt: 1, events: []string{"state-changed WARNING->CRITICAL hard", "got-worse WARNING->CRITICAL hard quiet=alert(acknowledged)"}},
			{res: ok, hard: true, attempt: 1, events: []string{"state-changed CRITICAL->OK hard", "unacknowledged CRITICAL->OK hard", "recovered CRITICAL->OK hard notify=recovery"}},
			{res: crit, hard: true, attempt: 1, events: []string{"state-changed OK->CRITICAL hard", "hard-problem OK->CRITICAL hard notify=alert"}},
		}},
		{name: "renotify every 30 minutes, not while acknowledged", settings: Settings{FailedAfter: 1, RecoversAfter: 1, NoFlapDetection: true, Renotify: 30 * time.Minute}, steps: []step{
			{res: crit, hard: true, attempt: 1, events: []string{"state-changed PENDING->CRITICAL hard", "hard-problem PENDING->CRITICAL hard notify=alert"}},
			{res: crit, at: 29 * time.Minute, hard: true, attempt: 1},
			{res: crit, at: 30 * time.Minute, hard: true, attempt: 1, events: []string{"reminder CRITICAL->CRITICAL hard notify=alert"}},
			{res: crit, at: 59 * time.Minute, hard: true, attempt: 1},
			{res: crit, at: 60 * time.Minute, ack: "normal", hard: true, attempt: 1, events: []string{"acknowledged CRITICAL->CRITICAL hard notify=acknowledgement"}},
			{res: crit, at: 120 * time.Minute, hard: true, attempt: 1},
			{res: crit, at: 121 * time.Minute, ack: "un", hard: true, attempt: 1, events: []string{"unacknowledged CRITICAL->CRITICAL hard", "reminder CRITICAL->CRITICAL hard notify=alert"}},
		}},
		{name: "renotify 0 notifies once", settings: one, steps: []step{
			{res: crit, hard: true, attempt: 1, events: []string{"state-changed PENDING->CRITICAL hard", "hard-problem PENDING->CRITICAL hard notify=alert"}},
			{res: crit, at: 24 * time.Hour, hard: true, attempt: 1},
		}},
	} {
		t.Run(sq.name, func(t *testing.T) { runSequence(t, sq) })
	}
}

// Every status is on the side of ok/not-ok that checks.Status.OK says, and
// a not-ok one opens an alert when hard.
func TestAllStatuses(t *testing.T) {
	for _, res := range checks.AllStatuses() {
		st, _ := Apply(Initial(ok, "", t0), Input{Result: ok, Time: t0}, Settings{})
		st, evs := Apply(st, Input{Result: res, Time: t0.Add(time.Minute)}, Settings{})
		if st.OK != res.OK() || st.AlertOpen == res.OK() || !st.Hard {
			t.Errorf("%s: ok=%v alert=%v hard=%v events=%v", res, st.OK, st.AlertOpen, st.Hard, evs)
		}
	}
}

func TestAcknowledgeOKFails(t *testing.T) {
	st, _ := Apply(Initial(pend, "", t0), Input{Result: ok, Time: t0}, Settings{})
	if _, _, err := Acknowledge(st, false, t0); !errors.Is(err, ErrNoProblem) {
		t.Fatalf("Acknowledge on OK: err = %v, want ErrNoProblem", err)
	}
	// A soft problem can be acknowledged.
	st, _ = Apply(st, Input{Result: crit, Time: t0}, Settings{FailedAfter: 3})
	st, evs, err := Acknowledge(st, true, t0)
	if err != nil || !st.Acknowledged || !st.AckSticky || len(evs) != 1 {
		t.Fatalf("Acknowledge soft problem: err=%v acked=%v sticky=%v events=%v", err, st.Acknowledged, st.AckSticky, evs)
	}
	// Acknowledging again only changes stickiness.
	st, evs, _ = Acknowledge(st, false, t0)
	if !st.Acknowledged || st.AckSticky || len(evs) != 0 {
		t.Fatalf("re-acknowledge: acked=%v sticky=%v events=%v", st.Acknowledged, st.AckSticky, evs)
	}
}

func TestDowntimeHelpers(t *testing.T) {
	st := Initial(ok, "", t0)
	st, evs := StartDowntime(st, t0)
	if !st.InDowntime || len(evs) != 1 || evs[0].Type != NotifyDowntimeStart || !evs[0].Notify {
		t.Fatalf("StartDowntime: %v %v", st.InDowntime, evs)
	}
	if _, evs = StartDowntime(st, t0); evs != nil {
		t.Fatalf("second StartDowntime emitted %v", evs)
	}
	// Apply with InDowntime still true emits nothing about downtime.
	st, evs = Apply(st, Input{Result: ok, Time: t0, InDowntime: true}, Settings{})
	if len(evs) != 0 {
		t.Fatalf("Apply in downtime: %v", evs)
	}
	st, evs = EndDowntime(st, t0)
	if st.InDowntime || len(evs) != 1 || evs[0].Type != NotifyDowntimeEnd {
		t.Fatalf("EndDowntime: %v %v", st.InDowntime, evs)
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{}, ""},
		{Settings{FailedAfter: -1}, "state failed-after: must be at least 0, got -1"},
		{Settings{RecoversAfter: -2}, "state recovers-after: must be at least 0, got -2"},
		{Settings{FlapLow: 30, FlapHigh: 20}, "flapping thresholds: low 30 is above high 20"},
		{Settings{FlapHigh: 150}, "flapping thresholds: must be between 0 and 100 percent, got low 0 high 150"},
		{Settings{Renotify: -time.Second}, "renotify: must not be negative, got -1s"},
		{Settings{Escalations: []Escalation{{After: time.Minute}, {After: -time.Minute}}}, "escalation 2: after must not be negative, got -1m0s"},
		{Settings{Escalations: make([]Escalation, 65)}, "escalations: at most 64 levels, got 65"},
	} {
		got := ""
		if err := tc.s.Validate(); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Validate(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestEventStrings(t *testing.T) {
	// Every kind and type has a name (the lead stores them as text).
	for k := EventStateChanged; k <= EventEscalated; k++ {
		if s := k.String(); s == "" || s == fmt.Sprintf("EventKind(%d)", int(k)) {
			t.Errorf("EventKind %d has no name", k)
		}
	}
	for n := NotifyNone; n <= NotifyEscalation; n++ {
		if s := n.String(); s == "" || s == fmt.Sprintf("NotificationType(%d)", int(n)) {
			t.Errorf("NotificationType %d has no name", n)
		}
	}
}
