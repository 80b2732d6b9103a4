package netcheck

import (
	"fmt"
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

// ParseRange parses a Nagios threshold range with the shared grammar of
// checks.ParseRange, keeping the text for perfdata.
func ParseRange(s string) (Range, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return Range{Raw: raw}, fmt.Errorf("empty threshold range")
	}
	cr, err := checks.ParseRange(raw)
	if err != nil {
		return Range{Raw: raw}, err
	}
	return Range{Start: cr.Start, End: cr.End, Inside: cr.Inside, Raw: raw}, nil
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
	return checks.Range{Start: r.Start, End: r.End, Inside: r.Inside}.String()
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
