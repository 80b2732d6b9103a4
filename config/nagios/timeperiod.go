package nagios

import (
	"fmt"
	"strconv"
	"strings"
)

var weekdays = map[string]bool{"sunday": true, "monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true}

var months = map[string]bool{"january": true, "february": true, "march": true, "april": true, "may": true, "june": true, "july": true, "august": true, "september": true, "october": true, "november": true, "december": true}

// isTimerangeKey reports whether a timeperiod directive is a time range
// (a weekday or an exception) rather than a named property.
func isTimerangeKey(key string) bool {
	switch key {
	case "timeperiod_name", "alias", "exclude":
		return false
	}
	return !strings.HasPrefix(key, "_")
}

// splitTimerange splits "monday 1 - wednesday 3 10:00-11:00" into the day
// specification and the list of times (the last field).
func splitTimerange(line string) (day, times string) {
	line = strings.Join(strings.Fields(line), " ")
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return line, ""
	}
	return line[:i], line[i+1:]
}

// checkTimerange validates a timeperiod day specification and its times
// with nagios4's grammar.
func checkTimerange(day, times string) error {
	if err := checkTimes(times); err != nil {
		return err
	}
	f := strings.Fields(day)
	if len(f) == 1 && weekdays[f[0]] {
		return nil
	}
	if n := len(f); n >= 2 && f[n-2] == "/" {
		if _, err := strconv.Atoi(f[n-1]); err != nil {
			return fmt.Errorf("bad skip interval '%s'", f[n-1])
		}
		f = f[:n-2]
	}
	rest, ok := dateSpec(f, false)
	if !ok {
		return fmt.Errorf("unknown day specification '%s'", day)
	}
	if len(rest) > 0 {
		if rest[0] != "-" {
			return fmt.Errorf("unknown day specification '%s'", day)
		}
		if rest, ok = dateSpec(rest[1:], true); !ok || len(rest) > 0 {
			return fmt.Errorf("unknown day specification '%s'", day)
		}
	}
	return nil
}

func isInt(s string) bool { _, err := strconv.Atoi(s); return err == nil }

func isDate(s string) bool {
	p := strings.Split(s, "-")
	return len(p) == 3 && len(p[0]) == 4 && isInt(p[0]) && isInt(p[1]) && isInt(p[2])
}

// dateSpec consumes one end of a date range; end allows the short forms
// used after '-' ("day 1 - 5", "july 10 - 15").
func dateSpec(f []string, end bool) ([]string, bool) {
	switch {
	case len(f) == 0:
		return nil, false
	case isDate(f[0]):
		return f[1:], true
	case end && isInt(f[0]):
		return f[1:], true
	case len(f) >= 2 && (f[0] == "day" || months[f[0]]) && isInt(f[1]):
		return f[2:], true
	case len(f) >= 2 && weekdays[f[0]] && isInt(f[1]):
		if len(f) >= 3 && months[f[2]] {
			return f[3:], true
		}
		return f[2:], true
	}
	return nil, false
}

func checkTimes(times string) error {
	if times == "" {
		return fmt.Errorf("missing time range")
	}
	for _, r := range strings.Split(times, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(r), "-")
		if !ok || !isClock(a) || !isClock(b) {
			return fmt.Errorf("bad time range '%s'", r)
		}
	}
	return nil
}

func isClock(s string) bool {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(m) != 2 {
		return false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	return err1 == nil && err2 == nil && hh >= 0 && hh <= 24 && mm >= 0 && mm < 60 && (hh < 24 || mm == 0)
}
