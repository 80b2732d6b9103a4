package config

import (
	"fmt"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Freshness parameters of a passive check (its own <parameter>s); the
// freshness loop (jobs.Freshness) acts on them.
const (
	// FreshnessParam is how long a passive check may stay silent, as a
	// Bergamot interval ("25h", "90s", "30" = minutes).
	FreshnessParam = "freshness"
	// FreshnessStatusParam is the status a silent check gets (default UNKNOWN).
	FreshnessStatusParam = "freshness-status"
)

// ParseFreshness reads a freshness parameter.
func ParseFreshness(s string) (time.Duration, error) {
	d, err := ParseInterval(s)
	if err == nil && d <= 0 {
		err = fmt.Errorf("invalid freshness %q: must be more than zero", s)
	}
	return d, err
}

// ValidateFreshness checks the freshness parameters of passive checks.
func ValidateFreshness(m *Model) ErrorList {
	var out ErrorList
	check := func(c *Check, label string) {
		params := map[string]string{}
		if c.Command != nil {
			for k, v := range c.Command.Parameters {
				params[k] = v
			}
		}
		for k, v := range c.Parameters {
			params[k] = v
		}
		f, ok := params[FreshnessParam]
		if !ok {
			return
		}
		fail := func(msg string) {
			out = append(out, &Error{File: c.Source.File, Line: c.Source.Line, Object: label, Message: msg})
		}
		if _, err := ParseFreshness(f); err != nil {
			fail(fmt.Sprintf("parameter %q: %v", FreshnessParam, err))
		}
		if s, ok := params[FreshnessStatusParam]; ok {
			if _, err := checks.ParseStatus(s); err != nil {
				fail(fmt.Sprintf("parameter %q: %v", FreshnessStatusParam, err))
			}
		}
	}
	for _, h := range m.Hosts {
		hl := fmt.Sprintf("host %q", h.Name)
		check(h, hl)
		for _, s := range h.Services {
			check(s, fmt.Sprintf("service %q on %s", s.Name, hl))
		}
		for _, t := range h.Traps {
			check(t, fmt.Sprintf("trap %q on %s", t.Name, hl))
		}
	}
	return out
}
