package netcheck

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Range is a Nagios threshold range "[@][start:][end]". Without "@" a value
// alerts when it lies outside [Start, End]; with "@" when it lies inside.
type Range struct {
	Start, End float64
	Inside     bool
	// Raw is the text the range was parsed from, for perfdata.
	Raw string
}

// ParseRange parses a Nagios threshold range. "~" as start is minus
// infinity, a missing ":" means start 0, an empty end is plus infinity.
func ParseRange(s string) (Range, error) {
	raw := strings.TrimSpace(s)
	r := Range{Raw: raw, End: math.Inf(1)}
	t := raw
	if t == "" {
		return r, fmt.Errorf("empty threshold range")
	}
	if strings.HasPrefix(t, "@") {
		r.Inside = true
		t = t[1:]
	}
	start, end, hasColon := strings.Cut(t, ":")
	if !hasColon {
		start, end = "0", t
	}
	switch start {
	case "~":
		r.Start = math.Inf(-1)
	case "":
		r.Start = 0
	default:
		v, err := parseNumber(start)
		if err != nil {
			return r, fmt.Errorf("threshold range %q: start %q is not a number", raw, start)
		}
		r.Start = v
	}
	if end != "" {
		v, err := parseNumber(end)
		if err != nil {
			return r, fmt.Errorf("threshold range %q: end %q is not a number", raw, end)
		}
		r.End = v
	} else if !hasColon {
		return r, fmt.Errorf("threshold range %q has no end", raw)
	}
	if r.Start > r.End {
		return r, fmt.Errorf("threshold range %q: start is greater than end", raw)
	}
	return r, nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a number")
	}
	return v, nil
}

// Alerts reports whether v triggers the range.
func (r Range) Alerts(v float64) bool {
	in := v >= r.Start && v <= r.End
	if r.Inside {
		return in
	}
	return !in
}

// Thresholds is a warning and a critical range; either may be absent.
type Thresholds struct {
	Warn, Crit *Range
}

// ParseThresholds parses optional warning and critical ranges; the error
// names the parameter that is wrong.
func ParseThresholds(warnParam, warn, critParam, crit string) (Thresholds, error) {
	var t Thresholds
	if strings.TrimSpace(warn) != "" {
		r, err := ParseRange(warn)
		if err != nil {
			return t, fmt.Errorf("parameter %q: %w", warnParam, err)
		}
		t.Warn = &r
	}
	if strings.TrimSpace(crit) != "" {
		r, err := ParseRange(crit)
		if err != nil {
			return t, fmt.Errorf("parameter %q: %w", critParam, err)
		}
		t.Crit = &r
	}
	return t, nil
}

// Evaluate returns CRITICAL, WARNING or OK for v.
func (t Thresholds) Evaluate(v float64) checks.Status {
	switch {
	case t.Crit != nil && t.Crit.Alerts(v):
		return checks.StatusCritical
	case t.Warn != nil && t.Warn.Alerts(v):
		return checks.StatusWarning
	}
	return checks.StatusOK
}

// WarnRaw and CritRaw return the ranges' text for perfdata ("" when absent).
func (t Thresholds) WarnRaw() string { return rawOf(t.Warn) }

// CritRaw returns the critical range's text for perfdata ("" when absent).
func (t Thresholds) CritRaw() string { return rawOf(t.Crit) }

func rawOf(r *Range) string {
	if r == nil {
		return ""
	}
	return r.Raw
}

// Worst returns the most severe of the statuses (OK when none).
func Worst(ss ...checks.Status) checks.Status {
	w := checks.StatusOK
	for _, s := range ss {
		if s.Worse(w) {
			w = s
		}
	}
	return w
}

// Scale returns the range with both bounds multiplied by f (f > 0), e.g. to
// turn a millisecond threshold into seconds for perfdata.
func (r Range) Scale(f float64) Range {
	r.Start *= f
	r.End *= f
	r.Raw = r.String()
	return r
}

// String renders the range in Nagios form.
func (r Range) String() string {
	var b strings.Builder
	if r.Inside {
		b.WriteByte('@')
	}
	switch {
	case math.IsInf(r.Start, -1):
		b.WriteString("~:")
	case r.Start != 0:
		b.WriteString(strconv.FormatFloat(r.Start, 'f', -1, 64) + ":")
	}
	if !math.IsInf(r.End, 1) {
		b.WriteString(strconv.FormatFloat(r.End, 'f', -1, 64))
	} else if r.Start == 0 {
		b.WriteString("0:")
	}
	return b.String()
}

// Scale returns both thresholds scaled by f.
func (t Thresholds) Scale(f float64) Thresholds {
	var out Thresholds
	if t.Warn != nil {
		w := t.Warn.Scale(f)
		out.Warn = &w
	}
	if t.Crit != nil {
		c := t.Crit.Scale(f)
		out.Crit = &c
	}
	return out
}
