package checks

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Range is a Nagios threshold range, [@][start:][end]. Without '@' it alerts
// when a value is outside start..end; with '@' when it is inside (both ends
// inclusive). Start may be -Inf ('~') and End +Inf (empty end).
type Range struct {
	Start  float64
	End    float64
	Inside bool
}

// ParseRange parses a threshold range as the Monitoring Plugins do: "10"
// (0..10), "10:" (10..+inf), "~:10" (-inf..10), "10:20", "@10:20" (alert
// inside). A start greater than the end is invalid.
func ParseRange(s string) (Range, error) {
	r := Range{End: math.Inf(1)}
	body := strings.TrimSpace(s)
	if strings.HasPrefix(body, "@") {
		r.Inside = true
		body = body[1:]
	}
	if body == "" {
		return r, fmt.Errorf("range %q: empty", s)
	}
	startText, endText, hasColon := strings.Cut(body, ":")
	if !hasColon {
		startText, endText = "", body
	}
	switch startText {
	case "~":
		r.Start = math.Inf(-1)
	case "":
	default:
		v, err := parseRangeNumber(startText)
		if err != nil {
			return r, fmt.Errorf("range %q: start: %w", s, err)
		}
		r.Start = v
	}
	if endText != "" {
		v, err := parseRangeNumber(endText)
		if err != nil {
			return r, fmt.Errorf("range %q: end: %w", s, err)
		}
		r.End = v
	}
	if r.Start > r.End {
		return r, fmt.Errorf("range %q: start %g is greater than end %g", s, r.Start, r.End)
	}
	return r, nil
}

var errNotNumber = errors.New("not a number")

// parseRangeNumber accepts decimal numbers only (no "inf", "nan" or hex).
func parseRangeNumber(s string) (float64, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && !strings.ContainsRune("-+.eE", rune(c)) {
			return 0, fmt.Errorf("%q: %w", s, errNotNumber)
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q: %w", s, errNotNumber)
	}
	return v, nil
}

// Alert reports whether v should raise an alert under this range.
// NaN never alerts.
func (r Range) Alert(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	in := v >= r.Start && v <= r.End
	if r.Inside {
		return in
	}
	return !in
}

// String formats the range in Nagios syntax.
func (r Range) String() string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start != 0:
		b.WriteString(strconv.FormatFloat(r.Start, 'g', -1, 64))
		b.WriteByte(':')
	case math.IsInf(r.End, 1):
		b.WriteString("0:")
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(strconv.FormatFloat(r.End, 'g', -1, 64))
	}
	return b.String()
}

// Threshold decides a status for value from raw warning and critical ranges,
// either of which may be empty (no threshold): CRITICAL when the critical
// range alerts, else WARNING when the warning range alerts, else OK. An
// invalid range is an error naming it.
func Threshold(value float64, warn, crit string) (Status, error) {
	c, hasCrit, err := optionalRange(crit)
	if err != nil {
		return StatusUnknown, fmt.Errorf("critical threshold: %w", err)
	}
	w, hasWarn, err := optionalRange(warn)
	if err != nil {
		return StatusUnknown, fmt.Errorf("warning threshold: %w", err)
	}
	switch {
	case hasCrit && c.Alert(value):
		return StatusCritical, nil
	case hasWarn && w.Alert(value):
		return StatusWarning, nil
	}
	return StatusOK, nil
}

func optionalRange(s string) (Range, bool, error) {
	if strings.TrimSpace(s) == "" {
		return Range{}, false, nil
	}
	r, err := ParseRange(s)
	return r, err == nil, err
}
