package timeperiod

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	weekdays = map[string]time.Weekday{
		"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
		"wednesday": time.Wednesday, "thursday": time.Thursday,
		"friday": time.Friday, "saturday": time.Saturday,
	}
	months = map[string]time.Month{
		"january": time.January, "february": time.February, "march": time.March,
		"april": time.April, "may": time.May, "june": time.June, "july": time.July,
		"august": time.August, "september": time.September, "october": time.October,
		"november": time.November, "december": time.December,
	}
	// timeStart finds where the hours begin: the first "H:MM".
	timeStart = regexp.MustCompile(`\d+:`)
	dateRe    = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
)

// ParseRange parses one Bergamot <time-range> (or the day and hours of a
// Nagios timeperiod line), for example "monday 09:00-17:30",
// "monday 00:00-09:00, 17:00-24:00", "day 1 - 5 06:00-07:00",
// "thursday -1 november 00:00-24:00" or "2027-01-01 - 2027-01-07 / 2
// 00:00-24:00". The error names what is wrong and quotes the input.
func ParseRange(s string) (Range, error) {
	src := strings.ToLower(strings.TrimSpace(s))
	loc := timeStart.FindStringIndex(src)
	if loc == nil {
		return Range{}, fmt.Errorf("missing hours (like 09:00-17:00) in %q", s)
	}
	times, err := parseTimes(src[loc[0]:])
	if err != nil {
		return Range{}, fmt.Errorf("%w in %q", err, s)
	}
	toks, err := tokenize(src[:loc[0]])
	if err != nil {
		return Range{}, fmt.Errorf("%w in %q", err, s)
	}
	p := &dayParser{toks: toks}
	r, err := p.parse()
	if err != nil {
		return Range{}, fmt.Errorf("%w in %q", err, s)
	}
	r.Times = times
	return r, nil
}

// parseTimes parses "09:00-17:00, 18:00 - 19:00".
func parseTimes(s string) ([]TimeSpan, error) {
	var out []TimeSpan
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("bad hours %q (want HH:MM-HH:MM)", part)
		}
		start, err := parseClock(strings.TrimSpace(a))
		if err != nil {
			return nil, err
		}
		end, err := parseClock(strings.TrimSpace(b))
		if err != nil {
			return nil, err
		}
		if end < start {
			return nil, fmt.Errorf("hours %q end before they start", part)
		}
		out = append(out, TimeSpan{start, end})
	}
	return out, nil
}

func parseClock(s string) (time.Duration, error) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 || !digits(hs) || !digits(ms) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	h, _ := strconv.Atoi(hs)
	m, _ := strconv.Atoi(ms)
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// tokenize splits the day qualifier into words, numbers (with sign),
// dates, "-" and "/".
func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '/':
			toks = append(toks, "/")
			i++
		case c == '-':
			prevNum := len(toks) > 0 && (digits(toks[len(toks)-1]) || dateRe.MatchString(toks[len(toks)-1]))
			if i+1 < len(s) && isDigit(s[i+1]) && !prevNum {
				j := scan(s, i+1, isDigit)
				toks = append(toks, s[i:j])
				i = j
				continue
			}
			toks = append(toks, "-")
			i++
		case isDigit(c):
			j := scan(s, i, isDigit)
			if j-i == 4 && j+6 <= len(s) && dateRe.MatchString(s[i:j+6]) {
				j += 6
			}
			toks = append(toks, s[i:j])
			i = j
		case c >= 'a' && c <= 'z':
			j := scan(s, i, func(b byte) bool { return b >= 'a' && b <= 'z' })
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q", string(rune(c)))
		}
	}
	return toks, nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func scan(s string, i int, f func(byte) bool) int {
	for i < len(s) && f(s[i]) {
		i++
	}
	return i
}

// dayParser parses the tokens of a day qualifier.
type dayParser struct {
	toks []string
	pos  int
}

func (p *dayParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *dayParser) next() string {
	t := p.peek()
	if t != "" {
		p.pos++
	}
	return t
}

func (p *dayParser) parse() (Range, error) {
	if len(p.toks) == 0 {
		return Range{Kind: KindEveryDay}, nil
	}
	kind, start, err := p.point()
	if err != nil {
		return Range{}, err
	}
	r := Range{Kind: kind, Start: start, End: start}
	wholeMonth := kind == KindMonthDate && start.Day == 0
	if wholeMonth { // "may"
		r.Start.Day, r.End.Day = 1, -1
	}
	hasEnd := p.peek() == "-"
	if hasEnd {
		p.next()
		short := kind == KindMonthDay || (kind == KindMonthDate && !wholeMonth)
		if err := p.end(&r, short); err != nil {
			return Range{}, err
		}
	}
	if p.peek() == "/" {
		p.next()
		n, err := p.number("skip", 1, 1<<20)
		if err != nil {
			return Range{}, err
		}
		if kind == KindWeekly || kind == KindEveryDay {
			return Range{}, fmt.Errorf("skip \"/ %d\" needs a date range", n)
		}
		r.Skip = n
		if kind == KindCalendarDate && !hasEnd {
			r.OpenEnd = true
		}
	}
	if t := p.peek(); t != "" {
		return Range{}, fmt.Errorf("unexpected %q", t)
	}
	return r, nil
}

// end parses the part after "-".
func (p *dayParser) end(r *Range, short bool) error {
	// Short forms: "day 1 - 5", "july 10 - 15".
	if short && isNumber(p.peek()) {
		n, err := p.dayNumber(31)
		if err != nil {
			return err
		}
		r.End.Day = n
		return nil
	}
	kind, end, err := p.point()
	if err != nil {
		return err
	}
	if kind != r.Kind {
		return fmt.Errorf("range mixes a %s with a %s", r.Kind, kind)
	}
	if kind == KindMonthDate && end.Day == 0 {
		end.Day = -1
	}
	r.End = end
	if kind == KindCalendarDate {
		s, _ := r.Start.resolve(r.Start.Year, r.Start.Month, false)
		e, _ := end.resolve(end.Year, end.Month, false)
		if e < s {
			return fmt.Errorf("date range ends before it starts")
		}
	}
	return nil
}

func isNumber(t string) bool {
	return digits(strings.TrimPrefix(t, "-"))
}

func (p *dayParser) number(what string, lo, hi int) (int, error) {
	t := p.next()
	if t == "" {
		return 0, fmt.Errorf("missing %s number", what)
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < lo || n > hi || !isNumber(t) {
		return 0, fmt.Errorf("bad %s number %q", what, t)
	}
	return n, nil
}

// point parses one day: a date, "day N", "MONTH [N]", "WEEKDAY [N [MONTH]]".
func (p *dayParser) point() (Kind, DayPoint, error) {
	t := p.next()
	if m := dateRe.FindStringSubmatch(t); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		dt := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
		if y < 1 || dt.Year() != y || int(dt.Month()) != mo || dt.Day() != d {
			return 0, DayPoint{}, fmt.Errorf("bad date %q", t)
		}
		return KindCalendarDate, DayPoint{Year: y, Month: time.Month(mo), Day: d}, nil
	}
	if t == "day" {
		n, err := p.dayNumber(31)
		return KindMonthDay, DayPoint{Day: n}, err
	}
	if mo, ok := months[t]; ok {
		if !isNumber(p.peek()) {
			return KindMonthDate, DayPoint{Month: mo}, nil
		}
		n, err := p.dayNumber(maxDays(mo))
		return KindMonthDate, DayPoint{Month: mo, Day: n}, err
	}
	if wd, ok := weekdays[t]; ok {
		if !isNumber(p.peek()) {
			return KindWeekly, DayPoint{Weekday: wd}, nil
		}
		n, err := p.number("week", -5, 5)
		if err == nil && n == 0 {
			err = fmt.Errorf("bad week number \"0\"")
		}
		if err != nil {
			return 0, DayPoint{}, err
		}
		if mo, ok := months[p.peek()]; ok {
			p.next()
			return KindMonthWeekDay, DayPoint{Month: mo, Weekday: wd, Nth: n}, nil
		}
		return KindWeekDay, DayPoint{Weekday: wd, Nth: n}, nil
	}
	if t == "" {
		return 0, DayPoint{}, fmt.Errorf("missing day after \"-\"")
	}
	return 0, DayPoint{}, fmt.Errorf("unknown day %q", t)
}

func (p *dayParser) dayNumber(limit int) (int, error) {
	n, err := p.number("day", -limit, limit)
	if err == nil && n == 0 {
		err = fmt.Errorf("bad day number \"0\"")
	}
	return n, err
}

func maxDays(m time.Month) int { return daysIn(2000, m) } // 2000 is a leap year
