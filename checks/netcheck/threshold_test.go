package netcheck

import (
	"math"
	"testing"

	"github.com/bergamot-monitoring/bergamot/checks"
)

func TestParseRange(t *testing.T) {
	// The behaviour of real check_users recorded in NAGIOS.md, with value 5.
	for in, alerts := range map[string]bool{"1:": false, "10:20": true, "@0:1": false, "@1:6": true, "~:0": true, "0:0": true, "10": false, "4": true, "@5": true} {
		r, err := ParseRange(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if r.Alerts(5) != alerts {
			t.Errorf("%q alerts(5) = %v", in, !alerts)
		}
	}
	for _, bad := range []string{"", "5:1", "x", "1:y", "@", "NaN"} {
		if _, err := ParseRange(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	th, _ := ParseThresholds("w", "1000", "c", "2500")
	if th.Evaluate(999) != checks.StatusOK || th.Evaluate(1500) != checks.StatusWarning || th.Evaluate(3000) != checks.StatusCritical {
		t.Error("response time thresholds")
	}
	if s := th.Scale(0.001); s.WarnRaw() != "1" || s.CritRaw() != "2.5" {
		t.Errorf("scaled %q %q", s.WarnRaw(), s.CritRaw())
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:", "-5:-1", "1e3", "5:1", "", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			return
		}
		if r.Start > r.End || math.IsNaN(r.Start) || math.IsNaN(r.End) {
			t.Fatalf("%q parsed to invalid %+v", s, r)
		}
		// What String renders must parse back to the same range.
		r2, err := ParseRange(r.String())
		if err != nil || r2.Start != r.Start || r2.End != r.End || r2.Inside != r.Inside {
			t.Fatalf("%q -> %q -> %+v, %v", s, r.String(), r2, err)
		}
	})
}
