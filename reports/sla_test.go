package reports

import (
	"math"
	"testing"
	"time"
)

func TestPeriods(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		period   string
		loc      *time.Location
		from, to time.Time
		hours    float64
	}{
		{"7d", time.UTC, now.Add(-7 * 24 * time.Hour), now, 168},
		{"month", time.UTC, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), 744},
		// March in Berlin loses an hour to summer time.
		{"month", berlin, time.Date(2026, 3, 1, 0, 0, 0, 0, berlin), time.Date(2026, 4, 1, 0, 0, 0, 0, berlin), 743},
		{"quarter", time.UTC, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), 2160},
	} {
		from, to, err := Period(c.period, now, c.loc)
		if err != nil {
			t.Fatal(err)
		}
		if !from.Equal(c.from) || !to.Equal(c.to) || to.Sub(from).Hours() != c.hours {
			t.Errorf("%s in %s: %v..%v (%v h), want %v..%v (%v h)", c.period, c.loc, from, to, to.Sub(from).Hours(), c.from, c.to, c.hours)
		}
	}
	if _, _, err := Period("week", now, nil); err == nil {
		t.Error("period week: want an error")
	}
}

func TestEvaluate(t *testing.T) {
	isUp := func(s string) bool { return s == "OK" || s == "INFO" }
	secs := map[string]float64{"OK": 9000, "CRITICAL": 60, "WARNING": 40, "DOWNTIME": 500, "BLIND": 300, "PENDING": 100}
	// Downtime and blind excluded: 9000 up of 9100.
	r := Evaluate(99, secs, isUp, Counting{Downtime: "excluded", Blind: "excluded"}, 10000)
	if math.Abs(r.Percent-100*9000.0/9100) > 1e-9 || r.Budget != 100 || r.Used != 100 || r.Remaining != 0 || r.Met {
		t.Errorf("excluded: %+v", r)
	}
	// Downtime up, blind down: 9500 up of 9900.
	r = Evaluate(99, secs, isUp, Counting{Downtime: "up", Blind: "down"}, 10000)
	if math.Abs(r.Percent-100*9500.0/9900) > 1e-9 || r.Used != 400 || r.Remaining != -300 || r.RemainingFraction != -3 {
		t.Errorf("downtime up, blind down: %+v", r)
	}
	if r := Evaluate(99.9, map[string]float64{"PENDING": 10}, isUp, Counting{}, 100); r.Percent != 100 || !r.Met {
		t.Errorf("nothing eligible yet: %+v", r)
	}
}
