package timeperiod

import (
	"fmt"
	"strings"
	"time"
)

// Kind says which days a Range applies to. The date kinds are listed in
// Nagios's order of precedence: when ranges of several kinds match a day,
// only the ranges of the first matching kind decide the hours of that day,
// and any date kind overrides the weekly kinds.
type Kind int

// The kinds of Range.
const (
	// KindCalendarDate is a calendar date or date range: "2026-12-25",
	// "2027-01-01 - 2027-01-07 / 2", "2008-04-01 / 7" (open ended).
	KindCalendarDate Kind = iota
	// KindMonthDate is a date in every year: "december 31",
	// "april 10 - may 15", "july 10 - 15", or a whole month: "may".
	KindMonthDate
	// KindMonthDay is a day of every month: "day 1", "day -1", "day 1 - 5".
	KindMonthDay
	// KindMonthWeekDay is the Nth weekday of a given month: "monday -1 may",
	// "thursday 4 november", "tuesday 1 april - friday 2 may".
	KindMonthWeekDay
	// KindWeekDay is the Nth weekday of every month: "monday 3",
	// "monday 1 - wednesday 3".
	KindWeekDay
	// KindWeekly is a day of the week or a span of them: "monday",
	// "monday - friday".
	KindWeekly
	// KindEveryDay has no day qualifier: "09:00-17:30".
	KindEveryDay
)

var kindNames = [...]string{"calendar date", "month date", "month day", "month week day", "week day of month", "weekly", "every day"}

// String names the kind.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// exception reports whether the kind is a date exception (overrides weekly).
func (k Kind) exception() bool { return k <= KindWeekDay }

// DayPoint is one end of a day qualifier. Zero fields mean "any": a zero
// Year repeats every year, a zero Month repeats every month.
type DayPoint struct {
	Year  int        // 0 for every year
	Month time.Month // 0 for every month
	// Day is the day of the month; negative counts back from the end
	// (-1 is the last day). Zero when Nth is used.
	Day int
	// Weekday and Nth select the Nth Weekday of the month (Nth negative
	// counts back: -1 is the last). Nth is 0 when Day is used.
	Weekday time.Weekday
	Nth     int
}

// TimeSpan is a range of wall-clock time within a day, [Start, End).
// Start == End means no time at all (Nagios's "00:00-00:00": the day
// matches, which overrides weekly ranges, but no time is inside).
type TimeSpan struct {
	Start, End time.Duration
}

// Range is one parsed time range: which days, and which hours of them.
type Range struct {
	Kind Kind
	// Start and End are the first and last day (inclusive). For KindWeekly
	// only Weekday is used. End equals Start for a single day.
	Start, End DayPoint
	// OpenEnd marks a calendar date range with no end ("2008-04-01 / 7").
	OpenEnd bool
	// Skip, when above 1, selects every Skip-th day counting from Start.
	Skip int
	// Times are the hours of each selected day.
	Times []TimeSpan
}

// String renders the range in the form ParseRange reads.
func (r Range) String() string {
	var b strings.Builder
	b.WriteString(r.dayString())
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	for i, ts := range r.Times {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(clock(ts.Start) + "-" + clock(ts.End))
	}
	return b.String()
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func monthName(m time.Month) string { return strings.ToLower(m.String()) }
func dayName(w time.Weekday) string { return strings.ToLower(w.String()) }

func (r Range) dayString() string {
	var s string
	switch r.Kind {
	case KindEveryDay:
		return ""
	case KindWeekly:
		s = dayName(r.Start.Weekday)
		if r.End.Weekday != r.Start.Weekday {
			s += " - " + dayName(r.End.Weekday)
		}
		return s
	case KindCalendarDate:
		s = fmt.Sprintf("%04d-%02d-%02d", r.Start.Year, int(r.Start.Month), r.Start.Day)
		if !r.OpenEnd && (r.End != r.Start || r.Skip > 1) {
			s += fmt.Sprintf(" - %04d-%02d-%02d", r.End.Year, int(r.End.Month), r.End.Day)
		}
	case KindMonthDate:
		if r.Start.Month == r.End.Month && r.Start.Day == 1 && r.End.Day == -1 {
			s = monthName(r.Start.Month)
		} else {
			s = fmt.Sprintf("%s %d", monthName(r.Start.Month), r.Start.Day)
			if r.End != r.Start {
				s += fmt.Sprintf(" - %s %d", monthName(r.End.Month), r.End.Day)
			}
		}
	case KindMonthDay:
		s = fmt.Sprintf("day %d", r.Start.Day)
		if r.End != r.Start {
			s += fmt.Sprintf(" - %d", r.End.Day)
		}
	case KindMonthWeekDay:
		s = fmt.Sprintf("%s %d %s", dayName(r.Start.Weekday), r.Start.Nth, monthName(r.Start.Month))
		if r.End != r.Start {
			s += fmt.Sprintf(" - %s %d %s", dayName(r.End.Weekday), r.End.Nth, monthName(r.End.Month))
		}
	case KindWeekDay:
		s = fmt.Sprintf("%s %d", dayName(r.Start.Weekday), r.Start.Nth)
		if r.End != r.Start {
			s += fmt.Sprintf(" - %s %d", dayName(r.End.Weekday), r.End.Nth)
		}
	}
	if r.Skip > 1 {
		s += fmt.Sprintf(" / %d", r.Skip)
	}
	return s
}

// civil is a calendar date without a time zone.
type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil {
	y, m, d := t.Date()
	return civil{y, m, d}
}

// days numbers the date: days since 1970-01-01.
func (c civil) days() int {
	return int(time.Date(c.y, c.m, c.d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func (c civil) weekday() time.Weekday {
	return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, time.UTC).Weekday()
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// resolve finds the day number of p in month m of year y. With clamp, a
// day past the end of a short month becomes its last day.
func (p DayPoint) resolve(y int, m time.Month, clamp bool) (int, bool) {
	// Normalise the month (m may be 0 or 13 when stepping).
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	y, m = first.Year(), first.Month()
	n := daysIn(y, m)
	var d int
	switch {
	case p.Nth > 0:
		d = 1 + (int(p.Weekday)-int(first.Weekday())+7)%7 + (p.Nth-1)*7
	case p.Nth < 0:
		lastWd := int(first.Weekday()+time.Weekday(n-1)) % 7
		d = n - (lastWd-int(p.Weekday)+7)%7 + (p.Nth+1)*7
	case p.Day > 0:
		d = p.Day
	default:
		d = n + 1 + p.Day
	}
	if d > n && clamp {
		d = n
	}
	if d < 1 || d > n {
		return 0, false
	}
	return civil{y, m, d}.days(), true
}

// matchesDay reports whether the range selects the given date.
func (r *Range) matchesDay(c civil) bool {
	switch r.Kind {
	case KindEveryDay:
		return true
	case KindWeekly:
		wd, s, e := int(c.weekday()), int(r.Start.Weekday), int(r.End.Weekday)
		if s <= e {
			return s <= wd && wd <= e
		}
		return wd >= s || wd <= e
	case KindCalendarDate:
		s, _ := r.Start.resolve(r.Start.Year, r.Start.Month, false)
		e := int(^uint(0) >> 1)
		if !r.OpenEnd {
			e, _ = r.End.resolve(r.End.Year, r.End.Month, false)
		}
		return r.inSpan(c.days(), s, e)
	case KindMonthDate, KindMonthWeekDay:
		for _, y := range []int{c.y - 1, c.y} {
			if r.matchAnchored(c.days(), y, r.Start.Month, r.End.Month, 12) {
				return true
			}
		}
	case KindMonthDay, KindWeekDay:
		for _, m := range []time.Month{c.m - 1, c.m} {
			if r.matchAnchored(c.days(), c.y, m, m, 1) {
				return true
			}
		}
	}
	return false
}

// matchAnchored resolves the range's ends around (y, sm) and (y, em); if
// the end falls before the start it moves on by step months (a year for
// yearly ranges, a month for monthly ones).
func (r *Range) matchAnchored(day, y int, sm, em time.Month, step time.Month) bool {
	s, ok := r.Start.resolve(y, sm, false)
	if !ok {
		return false
	}
	e, ok := r.End.resolve(y, em, true)
	if ok && e < s {
		e, ok = r.End.resolve(y, em+step, true)
	}
	return ok && r.inSpan(day, s, e)
}

func (r *Range) inSpan(day, s, e int) bool {
	if day < s || day > e {
		return false
	}
	return r.Skip <= 1 || (day-s)%r.Skip == 0
}

// containsTime reports whether the wall-clock time of day is in the range.
func (r *Range) containsTime(tod time.Duration) bool {
	for _, ts := range r.Times {
		if tod >= ts.Start && tod < ts.End {
			return true
		}
	}
	return false
}
