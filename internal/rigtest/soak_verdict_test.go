package rigtest

import (
	"math"
	"strings"
	"testing"
)

// flatSoak is 12 minutes of a healthy soak: everything steady.
func flatSoak() []sample {
	var ss []sample
	for i := 1; i <= 12; i++ {
		ss = append(ss, sample{minute: i, rss: []float64{80, 60, 60}, goroutines: 150, fds: 90, tablesMB: 40, dead: 20000, p99: 1, mean: 0.2, oldest: 0.5})
	}
	return ss
}

var testLimits = soakLimits{maxP99: 30, maxDead: 200000, checks: 100000}

// TestSoakVerdict: the soak's verdict passes a steady run and fails one
// whose lateness saturated the histogram (last session's 5-minute soak had
// p99 pinned at the top bucket from the first minute and was called
// "flat"), one whose p99 exceeds the bound, one whose dead tuples pile up
// and one whose memory grows.
func TestSoakVerdict(t *testing.T) {
	if ok, v := soakVerdict(flatSoak(), testLimits); !ok || !strings.HasPrefix(v, "flat") {
		t.Errorf("a steady soak: %s", v)
	}
	cases := []struct {
		name, want string
		bend       func(i int, s *sample)
	}{
		{"saturated from the first minute", "saturated", func(_ int, s *sample) { s.p99 = math.Inf(1); s.mean = 150; s.oldest = 200 }},
		{"p99 steady above the bound", "p99 above 30 s", func(_ int, s *sample) { s.p99 = 60 }},
		{"lateness creeping up", "lateness mean (s) grew", func(i int, s *sample) { s.mean = float64(i) }},
		{"dead tuples piling up", "dead tuples", func(i int, s *sample) { s.dead = float64(i) * 50000 }},
		{"RSS growing", "RSS of process 1", func(i int, s *sample) { s.rss[0] = 80 + float64(i)*10 }},
		{"watchdog timeouts growing", "TIMEOUT", func(i int, s *sample) { s.timeouts = float64(i) * 1000 }},
	}
	for _, tc := range cases {
		ss := flatSoak()
		for i := range ss {
			tc.bend(i, &ss[i])
		}
		ok, v := soakVerdict(ss, testLimits)
		if ok || !strings.Contains(v, tc.want) {
			t.Errorf("%s: verdict %q, want a FAIL naming %q", tc.name, v, tc.want)
		}
	}
	if ok, v := soakVerdict(flatSoak()[:3], testLimits); ok {
		t.Errorf("3 samples (2 after the warm-up): %s", v)
	}
}

// TestQuantileSaturated: a p99 in the +Inf bucket is reported as +Inf, not
// as the largest finite bound.
func TestQuantileSaturated(t *testing.T) {
	h := &histogram{bounds: []float64{1, 60, 120, math.Inf(1)}, counts: []float64{10, 20, 30, 1000}}
	if q := h.quantile(0.99); !math.IsInf(q, 1) {
		t.Errorf("p99 of a saturated histogram = %v, want +Inf", q)
	}
	h = &histogram{bounds: []float64{1, 60, 120, math.Inf(1)}, counts: []float64{995, 1000, 1000, 1000}}
	if q := h.quantile(0.99); q != 1 {
		t.Errorf("p99 = %v, want 1", q)
	}
}
