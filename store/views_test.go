package store_test

import (
	"testing"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/store"
)

// TestSummaryChanged: what checkUpdated(filter: {changed: true}) keeps.
func TestSummaryChanged(t *testing.T) {
	ok := store.CheckState{Status: checks.StatusOK, OK: true, Hard: true, Attempt: 1, Output: "fine"}
	crit := store.CheckState{Status: checks.StatusCritical, Hard: true, Attempt: 3, Output: "down"}
	softCrit := store.CheckState{Status: checks.StatusCritical, Attempt: 1, Output: "down"}
	with := func(s store.CheckState, f func(*store.CheckState)) *store.CheckState { f(&s); return &s }
	cases := []struct {
		name      string
		prev, cur *store.CheckState
		want      bool
	}{
		{"first state", nil, &ok, true},
		{"no state", &ok, nil, true},
		{"same", &ok, &ok, false},
		{"only output, last check, perfdata, runtime, worker, flap percent", &ok, with(ok, func(s *store.CheckState) {
			s.Output, s.LongOutput, s.Perfdata, s.RuntimeMs, s.Worker, s.FlapPercent = "still fine", "more", []checks.Perfdata{{Label: "x"}}, 12, "w2", 10
		}), false},
		{"status", &ok, &crit, true},
		{"problem status", &crit, with(crit, func(s *store.CheckState) { s.Status = checks.StatusWarning }), true},
		{"soft to hard", &softCrit, with(softCrit, func(s *store.CheckState) { s.Hard, s.Attempt = true, 3 }), true},
		{"soft attempt", &softCrit, with(softCrit, func(s *store.CheckState) { s.Attempt = 2 }), true},
		{"hard attempt", &crit, with(crit, func(s *store.CheckState) { s.Attempt = 2 }), false},
		{"acknowledged", &crit, with(crit, func(s *store.CheckState) { s.Acknowledged = true }), true},
		{"in downtime", &crit, with(crit, func(s *store.CheckState) { s.InDowntime = true }), true},
		{"flapping", &ok, with(ok, func(s *store.CheckState) { s.Flapping = true }), true},
		{"suppressed", &ok, with(ok, func(s *store.CheckState) { s.Suppressed = true }), true},
		{"encompassed", &crit, with(crit, func(s *store.CheckState) { s.Encompassed = true }), true},
	}
	for _, c := range cases {
		if got := store.SummaryChanged(c.prev, c.cur); got != c.want {
			t.Errorf("%s: SummaryChanged = %v, want %v", c.name, got, c.want)
		}
	}
}
