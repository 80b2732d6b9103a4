package monitor

import (
	"slices"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

func TestDueEscalations(t *testing.T) {
	rules := []Escalation{
		{After: 30 * time.Minute},
		{After: time.Hour, Ignore: []checks.Status{warn}},
		{After: 2 * time.Hour, Renotify: true},
	}
	open := AlertInfo{Open: true, Since: t0, Status: warn}
	for _, tc := range []struct {
		name  string
		alert AlertInfo
		age   time.Duration
		want  []int
	}{
		{"too young", open, 29 * time.Minute, nil},
		{"first level on time", open, 30 * time.Minute, []int{0}},
		{"warning ignored by level 1", open, 90 * time.Minute, []int{0}},
		{"critical reaches level 1", AlertInfo{Open: true, Since: t0, Status: crit}, 90 * time.Minute, []int{0, 1}},
		{"already escalated levels skipped", AlertInfo{Open: true, Since: t0, Status: crit, Escalated: 0b011}, 3 * time.Hour, []int{2}},
		{"acknowledged", AlertInfo{Open: true, Since: t0, Status: crit, Quiet: QuietAcknowledged}, 3 * time.Hour, nil},
		{"closed", AlertInfo{Since: t0, Status: crit}, 3 * time.Hour, nil},
	} {
		if got := DueEscalations(tc.alert, rules, t0.Add(tc.age)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: DueEscalations = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Escalations through Apply fire once per level, stop when acknowledged,
// and start over for the next alert.
func TestEscalationsThroughApply(t *testing.T) {
	s := Settings{FailedAfter: 1, RecoversAfter: 1, NoFlapDetection: true, Escalations: []Escalation{{After: 10 * time.Minute}, {After: 20 * time.Minute}}}
	st := Initial(checks.StatusPending, "", t0)
	run := func(res checks.Status, at time.Duration) []string {
		var evs []Event
		st, evs = Apply(st, Input{Result: res, Time: t0.Add(at)}, s)
		return eventStrings(evs)
	}
	steps := []struct {
		res  checks.Status
		at   time.Duration
		want []string
	}{
		{crit, 0, []string{"state-changed PENDING->CRITICAL hard", "hard-problem PENDING->CRITICAL hard notify=alert"}},
		{crit, 9 * time.Minute, []string{}},
		{crit, 10 * time.Minute, []string{"escalated CRITICAL->CRITICAL hard level=0 notify=escalation"}},
		{crit, 15 * time.Minute, []string{}},
		{ok, 16 * time.Minute, []string{"state-changed CRITICAL->OK hard", "recovered CRITICAL->OK hard notify=recovery"}},
		{crit, 17 * time.Minute, []string{"state-changed OK->CRITICAL hard", "hard-problem OK->CRITICAL hard notify=alert"}},
		{crit, 27 * time.Minute, []string{"escalated CRITICAL->CRITICAL hard level=0 notify=escalation"}},
	}
	for i, sp := range steps {
		if got := run(sp.res, sp.at); !equal(got, sp.want) {
			t.Fatalf("step %d: events %q, want %q", i, got, sp.want)
		}
	}
	st, _, _ = Acknowledge(st, false, t0.Add(30*time.Minute))
	if got := run(crit, time.Hour); len(got) != 0 {
		t.Fatalf("acknowledged alert escalated: %q", got)
	}
	st, _ = Unacknowledge(st, t0.Add(time.Hour))
	// Escalate on its own (the periodic sweep) catches up level 1.
	st, evs := Escalate(st, s.Escalations, t0.Add(time.Hour))
	if got := eventStrings(evs); !equal(got, []string{"escalated CRITICAL->CRITICAL hard level=1 notify=escalation"}) {
		t.Fatalf("Escalate after unacknowledge: %q", got)
	}
	if st.Escalated != 0b11 {
		t.Fatalf("Escalated = %b, want 11", st.Escalated)
	}
}
