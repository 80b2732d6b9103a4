package monitor

import (
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// BenchmarkApplySteady is the common case: a hard ok check staying ok.
func BenchmarkApplySteady(b *testing.B) {
	s := Settings{FailedAfter: 3, RecoversAfter: 3}
	st := Initial(checks.StatusOK, "OK", t0)
	in := Input{Result: checks.StatusOK, Output: "OK", Time: t0}
	b.ReportAllocs()
	for b.Loop() {
		in.Time = in.Time.Add(time.Minute)
		st, _ = Apply(st, in, s)
	}
}

// BenchmarkApplyChanging alternates ok and critical: transitions, alerts,
// flapping and their events on every result.
func BenchmarkApplyChanging(b *testing.B) {
	s := Settings{FailedAfter: 1, RecoversAfter: 1, Renotify: time.Hour, Escalations: []Escalation{{After: time.Minute}}}
	st := Initial(checks.StatusOK, "OK", t0)
	in := Input{Output: "x", Time: t0}
	statuses := [...]checks.Status{checks.StatusOK, checks.StatusCritical, checks.StatusWarning}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.Time = in.Time.Add(time.Minute)
		in.Result = statuses[i%3]
		i++
		st, _ = Apply(st, in, s)
	}
}

// The steady case must not allocate: it is most of the results.
func TestApplySteadyDoesNotAllocate(t *testing.T) {
	s := Settings{FailedAfter: 3, RecoversAfter: 3}
	st := Initial(checks.StatusOK, "OK", t0)
	in := Input{Result: checks.StatusOK, Output: "OK", Time: t0}
	if n := testing.AllocsPerRun(100, func() { st, _ = Apply(st, in, s) }); n != 0 {
		t.Fatalf("Apply allocates %v times per steady result", n)
	}
}
