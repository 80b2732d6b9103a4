// Package reports holds the pure arithmetic of service level agreements:
// the period an agreement covers at a moment, and how a period's
// availability measures against the target (docs/reporting.md). No
// database: store/sla.go reads the availability and calls it.
package reports

import (
	"fmt"
	"time"
)

// Period is the interval an agreement covers at now: rolling periods
// ("7d", "30d", "90d") end at now; calendar periods ("month", "quarter")
// are the current month or quarter in loc, whose boundaries follow its
// daylight saving changes. To is the end of the whole period (later than
// now for a calendar period under way).
func Period(period string, now time.Time, loc *time.Location) (from, to time.Time, err error) {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	switch period {
	case "7d", "30d", "90d":
		days := map[string]int{"7d": 7, "30d": 30, "90d": 90}[period]
		return now.Add(-time.Duration(days) * 24 * time.Hour), now, nil
	case "month":
		from = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 1, 0), nil
	case "quarter":
		m := time.Month((int(now.Month())-1)/3*3 + 1)
		from = time.Date(now.Year(), m, 1, 0, 0, 0, 0, loc)
		return from, from.AddDate(0, 3, 0), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("sla period %q: want 7d, 30d, 90d, month or quarter", period)
}

// Counting says how downtime and blind time count: "excluded" (neither up
// nor down), "up" or "down".
type Counting struct {
	Downtime, Blind string
}

// Result is an agreement measured over a period so far.
type Result struct {
	// Percent is the share of eligible time up, 0-100 (100 when no
	// time was eligible yet).
	Percent float64
	// Eligible, Up and Down are seconds (check-seconds for a group).
	Eligible, Up, Down float64
	// Budget is the down time the target allows over the whole period
	// (seconds), Used the down time so far, Remaining the rest (negative
	// when the target is missed); RemainingFraction is Remaining/Budget.
	Budget, Used, Remaining, RemainingFraction float64
	// Met says whether the target holds so far.
	Met bool
}

// Evaluate measures seconds per category (statuses and DOWNTIME, BLIND,
// PENDING; isUp tells which statuses are up) against target percent.
// fullPeriod is the length of the whole period in the same unit as the
// seconds (for a group: check-seconds), which sizes the error budget.
func Evaluate(target float64, seconds map[string]float64, isUp func(string) bool, c Counting, fullPeriod float64) Result {
	var r Result
	for cat, s := range seconds {
		switch cat {
		case "PENDING":
			continue
		case "DOWNTIME":
			r.add(c.Downtime, s)
		case "BLIND":
			r.add(c.Blind, s)
		default:
			if isUp(cat) {
				r.add("up", s)
			} else {
				r.add("down", s)
			}
		}
	}
	r.Eligible = r.Up + r.Down
	r.Percent = 100
	if r.Eligible > 0 {
		r.Percent = 100 * r.Up / r.Eligible
	}
	r.Budget = fullPeriod * (100 - target) / 100
	r.Used = r.Down
	r.Remaining = r.Budget - r.Used
	if r.Budget > 0 {
		r.RemainingFraction = r.Remaining / r.Budget
	} else if r.Used > 0 {
		r.RemainingFraction = -1
	}
	r.Met = r.Percent >= target
	return r
}

func (r *Result) add(how string, s float64) {
	switch how {
	case "up":
		r.Up += s
	case "down":
		r.Down += s
	}
}
