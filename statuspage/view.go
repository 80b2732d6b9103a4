// Package statuspage serves a site's public status pages without sign-in:
// server-rendered HTML at /status/<site>/<page> (and at the root of a
// page's own host name), an Atom feed beside it, both from a per-node
// in-memory cache that computes each page at most once per TTL however
// many requests arrive, behind a per-address rate limit
// (docs/status-pages.md). The tables are store's (store/statuspages.go).
//
// A page shows only what its editors wrote (component names, incidents)
// and statuses and uptime: never a check's own name, host or output.
package statuspage

import (
	"time"

	"github.com/bergamot-monitoring/bergamot/store"
)

// Condition is what a component's checks amount to, as the public sees it.
type Condition string

// The conditions, from best to worst; Maintenance when every check is in
// scheduled downtime, NoData before any result.
const (
	Operational   Condition = "operational"
	Degraded      Condition = "degraded"
	PartialOutage Condition = "partial_outage"
	MajorOutage   Condition = "major_outage"
	Maintenance   Condition = "maintenance"
	NoData        Condition = "no_data"
)

// Label is the condition in words.
func (c Condition) Label() string {
	switch c {
	case Operational:
		return "Operational"
	case Degraded:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	case Maintenance:
		return "Under maintenance"
	}
	return "No data yet"
}

func (c Condition) rank() int {
	switch c {
	case Operational:
		return 1
	case Maintenance:
		return 2
	case Degraded:
		return 3
	case PartialOutage:
		return 4
	case MajorOutage:
		return 5
	}
	return 0
}

// upStatus reports whether a check status counts as up (Bergamot's OK).
func upStatus(s string) bool { return s == "OK" || s == "INFO" }

// ConditionOf sums up a component's checks: all in downtime is
// maintenance; all up is operational; WARNING is degraded; some down is a
// partial outage, all down (of those not in downtime) a major one. Checks
// still PENDING are left out; only pending checks is NoData.
func ConditionOf(members []store.ComponentMember) Condition {
	var up, warn, down, maint, seen int
	for _, m := range members {
		switch {
		case m.InDowntime:
			maint++
		case m.Status == "PENDING":
			continue
		case upStatus(m.Status):
			up++
		case m.Status == "WARNING":
			warn++
		default:
			down++
		}
		seen++
	}
	switch {
	case seen == 0:
		return NoData
	case maint == seen:
		return Maintenance
	case down > 0 && down == seen-maint:
		return MajorOutage
	case down > 0:
		return PartialOutage
	case warn > 0:
		return Degraded
	}
	return Operational
}

// Worst is the worst of the conditions (the page's overall status).
func Worst(cs []Condition) Condition {
	w := NoData
	for _, c := range cs {
		if c.rank() > w.rank() {
			w = c
		}
	}
	return w
}

// Day is one bar of a component's 90-day history.
type Day struct {
	Date time.Time
	// Up and Down are seconds (check-seconds for a group); Maintenance is
	// scheduled downtime, which counts as neither.
	Up, Down, Maintenance float64
}

// Percent is the day's uptime: up / (up + down), -1 without data.
func (d Day) Percent() float64 { return percent(d.Up, d.Down) }

func percent(up, down float64) float64 {
	if up+down <= 0 {
		return -1
	}
	return 100 * up / (up + down)
}

// Class names the bar's colour: none, up (100%), minor (at least 99%),
// major (below).
func (d Day) Class() string {
	p := d.Percent()
	switch {
	case p < 0 && d.Maintenance > 0:
		return "maint"
	case p < 0:
		return "none"
	case p >= 100:
		return "up"
	case p >= 99:
		return "minor"
	}
	return "major"
}

// DayOf turns one day's availability into a bar: statuses Bergamot calls
// OK are up, WARNING and worse down, downtime maintenance; pending and
// blind time (monitoring could not see) count as neither.
func DayOf(a *store.Availability) Day {
	d := Day{Date: a.From}
	for cat, s := range a.Seconds {
		switch {
		case cat == store.CategoryDowntime:
			d.Maintenance += s
		case cat == store.CategoryBlind || cat == store.CategoryPending:
		case upStatus(cat):
			d.Up += s
		default:
			d.Down += s
		}
	}
	return d
}

// Uptime is the uptime over days, -1 without data.
func Uptime(days []Day) float64 {
	var up, down float64
	for _, d := range days {
		up += d.Up
		down += d.Down
	}
	return percent(up, down)
}
