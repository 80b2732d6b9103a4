package config

import (
	"fmt"
	"time"
)

// DefaultMinInterval is the shortest check interval (every, retry-every,
// changing-every) a configuration may set unless the operator sets
// another (BERGAMOT_MIN_INTERVAL; see docs/limits.md). every="1ms" would
// queue a thousand jobs a second for one check, at every other site's
// expense.
const DefaultMinInterval = time.Second

// MinInterval returns a validator refusing every check whose schedule
// runs more often than min, naming the check, its file:line and the limit.
// A check that never set its schedule keeps the defaults, which are far
// above any sensible minimum.
func MinInterval(min time.Duration) func(m *Model) ErrorList {
	return func(m *Model) ErrorList {
		var out ErrorList
		check := func(c *Check, label string) {
			for _, iv := range []struct {
				attr string
				d    time.Duration
			}{{"every", c.Schedule.Every}, {"retry-every", c.Schedule.RetryEvery}, {"changing-every", c.Schedule.ChangingEvery}} {
				if iv.d < min {
					out = append(out, &Error{File: c.Source.File, Line: c.Source.Line, Object: label,
						Message: fmt.Sprintf("schedule %s=%q is below the minimum check interval of %s (limit min-interval, set by the operator)",
							iv.attr, iv.d.String(), min)})
				}
			}
		}
		walk := func(cs []*Check, kind, parent string) {
			for _, c := range cs {
				check(c, fmt.Sprintf("%s %q%s", kind, c.Name, parent))
			}
		}
		for _, h := range m.Hosts {
			hl := fmt.Sprintf(" on host %q", h.Name)
			walk([]*Check{h}, "host", "")
			walk(h.Services, "service", hl)
			walk(h.Traps, "trap", hl)
		}
		for _, c := range m.Clusters {
			walk([]*Check{c}, "cluster", "")
			walk(c.Resources, "resource", fmt.Sprintf(" on cluster %q", c.Name))
		}
		return out
	}
}
