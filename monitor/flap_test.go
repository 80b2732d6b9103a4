package monitor

import (
	"math"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// history builds a flap history from results written oldest first:
// 'o' ok, 'c' not ok.
func history(results string) (uint32, int) {
	var h uint32
	n := 0
	for _, r := range results {
		h, n = RecordFlap(h, n, r == 'c')
	}
	return h, n
}

func alternate(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "oc"[i%2]
	}
	return string(b)
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// Expected values computed by hand with Nagios's formula: change x (1 =
// oldest, 20 = newest) weighs 0.75 + (x-1)*0.5/19; percent = sum*100/20.
func TestFlapPercentNagiosValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		results string
		want    float64
	}{
		{"no results", "", 0},
		{"one result", "c", 0},
		{"steady", repeat('o', 21), 0},
		{"21 alternating: every change", alternate(21), 100},
		{"30 alternating: window is 21", alternate(30), 100},
		{"one change at the newest position", repeat('o', 20) + "c", 1.25 * 100 / 20}, // 6.25
		{"one change at the oldest position", "c" + repeat('o', 20), 0.75 * 100 / 20}, // 3.75
		{"change dropped out of the window", "c" + repeat('o', 21), 0},                // 22 results
		{"one change in the middle (x=11)", repeat('o', 11) + repeat('c', 10), (0.75 + 10*0.5/19) * 100 / 20},
		{"two newest changes", repeat('o', 19) + "co", (1.25 + (0.75 + 18*0.5/19)) * 100 / 20},
		{"5 alternating, short history", "ococo", (1.25 + (0.75 + 18*0.5/19) + (0.75 + 17*0.5/19) + (0.75 + 16*0.5/19)) * 100 / 20},
	} {
		h, n := history(tc.results)
		if got := FlapPercent(h, n); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: FlapPercent = %.6f, want %.6f", tc.name, got, tc.want)
		}
	}
}

// With the default thresholds (start >= 20%, stop <= 5%): alternating
// results start flapping at the 5th result (24.2%; the 4th is 18.4%), the
// alerts meanwhile are quiet, and steady results stop it once the last
// change weighs no more than 5%: the 20th ok result after the last
// problem, when the only change left is the oldest one (3.75%; after 19
// the two oldest remain, 7.63%).
func TestFlappingStartsAndStops(t *testing.T) {
	s := Settings{FailedAfter: 1, RecoversAfter: 1}
	st := Initial(checks.StatusPending, "", t0)
	now := t0
	apply := func(res checks.Status) []Event {
		now = now.Add(time.Minute)
		var evs []Event
		st, evs = Apply(st, Input{Result: res, Time: now}, s)
		return evs
	}
	for i, res := range []checks.Status{ok, crit, ok, crit} {
		evs := apply(res)
		if st.Flapping || hasKind(evs, EventFlappingStarted) {
			t.Fatalf("result %d: flapping too early at %.2f%%", i+1, st.FlapPercent)
		}
	}
	if math.Abs(st.FlapPercent-18.355263) > 1e-5 {
		t.Fatalf("after 4 results FlapPercent = %f, want 18.355263", st.FlapPercent)
	}
	evs := apply(ok)
	if !st.Flapping || math.Abs(st.FlapPercent-24.210526) > 1e-5 {
		t.Fatalf("5th result: flapping=%v at %f%%, want true at 24.210526", st.Flapping, st.FlapPercent)
	}
	want := []string{"flapping-started CRITICAL->OK hard notify=flapping-start", "state-changed CRITICAL->OK hard", "recovered CRITICAL->OK hard quiet=recovery(flapping)"}
	if got := eventStrings(evs); !equal(got, want) {
		t.Fatalf("5th result events %q, want %q", got, want)
	}
	// A new problem while flapping opens an alert without notifying.
	evs = apply(crit)
	if got := eventStrings(evs); !equal(got, []string{"state-changed OK->CRITICAL hard", "hard-problem OK->CRITICAL hard quiet=alert(flapping)"}) {
		t.Fatalf("problem while flapping: %q", got)
	}
	// After the last problem: the first ok result is a change at the
	// newest position; each further one moves the changes older.
	for k := 1; k <= 19; k++ {
		if evs = apply(ok); hasKind(evs, EventFlappingStopped) {
			t.Fatalf("flapping stopped after %d ok results at %f%%", k, st.FlapPercent)
		}
	}
	if !st.Flapping || math.Abs(st.FlapPercent-7.631579) > 1e-5 {
		t.Fatalf("after 19 ok results: flapping=%v at %f%%, want still flapping at 7.631579", st.Flapping, st.FlapPercent)
	}
	evs = apply(ok)
	if st.Flapping || math.Abs(st.FlapPercent-3.75) > 1e-9 || !hasKind(evs, EventFlappingStopped) || !evs[0].Notify {
		t.Fatalf("after 19 steady results: flapping=%v at %f%% events %v", st.Flapping, st.FlapPercent, evs)
	}
}

func TestFlapThresholdsConfigurable(t *testing.T) {
	s := Settings{FailedAfter: 1, RecoversAfter: 1, FlapLow: 25, FlapHigh: 50}
	st := Initial(checks.StatusPending, "", t0)
	var started int
	for i, c := range alternate(9) {
		res := ok
		if c == 'c' {
			res = crit
		}
		var evs []Event
		st, evs = Apply(st, Input{Result: res, Time: t0.Add(time.Duration(i) * time.Minute)}, s)
		if hasKind(evs, EventFlappingStarted) {
			started = i + 1
		}
	}
	// 9 alternating results have 8 changes at the newest positions:
	// (95+93+...+81)/76 = 9.263 weight, 46.3%; the 10th adds 79/76: 51.6%.
	if started != 0 {
		t.Fatalf("flapping started at result %d with high=50, want not yet (46.3%%)", started)
	}
	st, _ = Apply(st, Input{Result: crit, Time: t0.Add(time.Hour)}, s)
	if !st.Flapping {
		t.Fatalf("10 alternating results at %f%% with high=50: not flapping", st.FlapPercent)
	}
}

func hasKind(evs []Event, k EventKind) bool {
	for _, e := range evs {
		if e.Kind == k {
			return true
		}
	}
	return false
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
