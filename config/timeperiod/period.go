package timeperiod

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Horizon is how far ahead Period.Next looks before giving up.
const Horizon = 8 * 366 * 24 * time.Hour

// Period is a named calendar: the union of its ranges (with Nagios's
// precedence of date exceptions over weekdays), minus every instant inside
// any of the periods it excludes. A period with excludes but no ranges is
// all time minus the excludes.
type Period struct {
	Name   string
	Ranges []Range
	// Excludes names other periods; an instant inside any of them is not
	// inside this period.
	Excludes []string
	// Location is the time zone the ranges are written in; nil means UTC.
	Location *time.Location
}

// Lookup finds a period by name for the evaluation of excludes. It returns
// nil for an unknown name, which is then ignored (CheckExcludes reports it).
type Lookup func(name string) *Period

func (p *Period) location() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// Contains reports whether t is inside the period. Excluded periods are
// found with lookup (which may be nil when there are no excludes); an
// exclude that leads back to a period already being evaluated is ignored,
// so a cycle cannot recurse forever.
//
// Each period is evaluated at most once per call (memoised), so periods
// that share exclusions cost linear, not exponential, time.
func (p *Period) Contains(t time.Time, lookup Lookup) bool {
	return p.contains(t, lookup, nil, map[*Period]bool{})
}

func (p *Period) contains(t time.Time, lookup Lookup, stack []*Period, memo map[*Period]bool) bool {
	if v, ok := memo[p]; ok {
		return v
	}
	if slices.Contains(stack, p) || !p.ownContains(t) {
		return false
	}
	if lookup == nil {
		return true
	}
	stack = append(stack, p)
	in := true
	for _, name := range p.Excludes {
		if ex := lookup(name); ex != nil && ex.contains(t, lookup, stack, memo) {
			in = false
			break
		}
	}
	memo[p] = in
	return in
}

// ownContains applies the ranges alone (see daySelection).
func (p *Period) ownContains(t time.Time) bool {
	lt := t.In(p.location())
	h, m, s := lt.Clock()
	tod := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(lt.Nanosecond())
	day := civilOf(lt)
	if len(p.Ranges) == 0 {
		return len(p.Excludes) > 0
	}
	k := p.decidingKind(day)
	for i := range p.Ranges {
		if r := &p.Ranges[i]; r.appliesOn(day, k) && r.containsTime(tod) {
			return true
		}
	}
	return false
}

// decidingKind says which ranges decide the hours of a day: a period with
// no ranges but with excludes covers all time (Bergamot's "out of hours
// excludes workhours"); one with neither covers none (Nagios's "none").
// Otherwise a date exception that matches the day decides it (the
// exceptions of the highest-precedence kind that matches, together); if
// none matches, the weekly ranges do (KindWeekly is returned).
func (p *Period) decidingKind(day civil) Kind {
	best := KindWeekly
	for i := range p.Ranges {
		if r := &p.Ranges[i]; r.Kind < best && r.matchesDay(day) {
			best = r.Kind
		}
	}
	return best
}

// appliesOn reports whether r gives hours on day when kind k decides it.
func (r *Range) appliesOn(day civil, k Kind) bool {
	if k.exception() {
		return r.Kind == k && r.matchesDay(day)
	}
	return !r.Kind.exception() && r.matchesDay(day)
}

// dayEdges lists the wall-clock times at which the period's own ranges
// begin or end on day, and whether the day has any time in it at all.
func (p *Period) dayEdges(day civil) ([]time.Duration, bool) {
	if len(p.Ranges) == 0 {
		return []time.Duration{0}, len(p.Excludes) > 0
	}
	k := p.decidingKind(day)
	edges, any := []time.Duration{0}, false
	for i := range p.Ranges {
		if r := &p.Ranges[i]; r.appliesOn(day, k) {
			for _, ts := range r.Times {
				edges = append(edges, ts.Start, ts.End)
				any = any || ts.End > ts.Start
			}
		}
	}
	return edges, any
}

// Next returns the first instant at or after t that is inside the period,
// and false when there is none within Horizon. It is exact across
// daylight-saving changes: wall-clock times that do not exist are skipped
// and repeated ones are inside twice.
//
// It walks the civil days of the period's zone, skipping days with no
// hours, and tests every instant on the others at which anything can
// change: a boundary of the day's hours, a boundary of an excluded
// period's hours (in that period's zone), or a zone transition.
func (p *Period) Next(t time.Time, lookup Lookup) (time.Time, bool) {
	if p.Contains(t, lookup) {
		return t, true
	}
	if len(p.Ranges) == 0 && len(p.Excludes) == 0 {
		return time.Time{}, false
	}
	excluded := map[*time.Location][]time.Duration{}
	if lookup != nil {
		seen := []*Period{p}
		for _, name := range p.Excludes {
			if ex := lookup(name); ex != nil {
				seen = ex.collectEdges(lookup, excluded, seen)
			}
		}
	}
	loc := p.location()
	first := civilOf(t.In(loc))
	var cands []time.Time
	for i := 0; i < int(Horizon/(24*time.Hour)); i++ {
		day := civilOf(time.Date(first.y, first.m, first.d+i, 12, 0, 0, 0, time.UTC))
		edges, any := p.dayEdges(day)
		if !any {
			continue
		}
		cands = appendCandidates(cands[:0], t, []civil{day}, loc, edges)
		from, to := time.Date(day.y, day.m, day.d, 0, 0, 0, 0, loc), time.Date(day.y, day.m, day.d+1, 0, 0, 0, 0, loc)
		for exLoc, exEdges := range excluded {
			days := []civil{civilOf(from.In(exLoc).AddDate(0, 0, -1)), civilOf(from.In(exLoc)), civilOf(to.In(exLoc))}
			cands = appendCandidates(cands, t, days, exLoc, exEdges)
		}
		slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
		for _, c := range cands {
			if p.Contains(c, lookup) {
				return c, true
			}
		}
	}
	return time.Time{}, false
}

// collectEdges gathers, per time zone, every wall-clock time at which an
// excluded period may begin or stop (midnight and every range boundary).
func (p *Period) collectEdges(lookup Lookup, edges map[*time.Location][]time.Duration, seen []*Period) []*Period {
	if slices.Contains(seen, p) {
		return seen
	}
	seen = append(seen, p)
	loc := p.location()
	es := edges[loc]
	es = append(es, 0)
	for _, r := range p.Ranges {
		for _, ts := range r.Times {
			es = append(es, ts.Start, ts.End)
		}
	}
	slices.Sort(es)
	edges[loc] = slices.Compact(es)
	for _, name := range p.Excludes {
		if ex := lookup(name); ex != nil {
			seen = ex.collectEdges(lookup, edges, seen)
		}
	}
	return seen
}

// appendCandidates adds the instants after t at which the wall clock of
// loc, on one of the given days, reaches one of the edges or jumps (a zone
// transition). Between two such instants nothing can change.
func appendCandidates(out []time.Time, t time.Time, days []civil, loc *time.Location, edges []time.Duration) []time.Time {
	for _, day := range days {
		d := time.Date(day.y, day.m, day.d, 0, 0, 0, 0, time.UTC)
		offsets, transitions := zonesAround(d, loc)
		for _, tr := range transitions {
			if tr.After(t) {
				out = append(out, tr)
			}
		}
		for _, e := range edges {
			for _, off := range offsets {
				if c := d.Add(e - time.Duration(off)*time.Second); c.After(t) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// zonesAround lists the UTC offsets in effect in loc within a day and a
// half of the civil date d (given as midnight UTC), and the transitions.
func zonesAround(d time.Time, loc *time.Location) (offsets []int, transitions []time.Time) {
	x := time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, loc).Add(-36 * time.Hour)
	end := x.Add(72 * time.Hour)
	for {
		_, off := x.Zone()
		if !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
		_, zend := x.ZoneBounds()
		if zend.IsZero() || !zend.Before(end) {
			return offsets, transitions
		}
		transitions = append(transitions, zend)
		x = zend
	}
}

// CheckExcludes reports an exclude naming an unknown period, or a cycle of
// excludes, reachable from p.
func (p *Period) CheckExcludes(lookup Lookup) error {
	return p.checkExcludes(lookup, []string{p.Name})
}

func (p *Period) checkExcludes(lookup Lookup, path []string) error {
	for _, name := range p.Excludes {
		if i := slices.Index(path, name); i >= 0 {
			return fmt.Errorf("time periods exclude each other in a cycle: %s", strings.Join(append(slices.Clone(path[i:]), name), " -> "))
		}
		var ex *Period
		if lookup != nil {
			ex = lookup(name)
		}
		if ex == nil {
			return fmt.Errorf("time period %q excludes unknown time period %q", p.Name, name)
		}
		if err := ex.checkExcludes(lookup, append(path, name)); err != nil {
			return err
		}
	}
	return nil
}
