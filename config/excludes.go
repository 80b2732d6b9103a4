package config

import (
	"slices"
	"sort"
	"strings"
)

// Time periods that exclude other periods are evaluated for every check
// scheduled in them, every pass. Ten periods excluding each other cost 18 s
// per scheduling pass (issue 19, item 4): exclusions are bounded here, at
// apply, with an error naming the limit.
const (
	// MaxExcludeDepth is the longest chain of exclusions from one period
	// (a excludes b excludes c ... is a chain of 2 from a).
	MaxExcludeDepth = 8
	// MaxExcludedPeriods is how many periods one period may reach through
	// its exclusions, directly or not.
	MaxExcludedPeriods = 32
)

// checkExcludes refuses cycles of exclusions and chains beyond the limits.
// Unknown names are reported by checkRefs already.
func (r *resolver) checkExcludes(m *Model, nodes map[string]*Node) {
	names := make([]string, 0, len(m.TimePeriods))
	for n := range m.TimePeriods {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		node := nodes[name]
		if node == nil {
			continue
		}
		label := objectLabel("time-period", name)
		reached := map[string]bool{}
		depth, cycle := excludeWalk(m, name, []string{name}, reached)
		switch {
		case cycle != nil:
			r.sink.add(node, label, "time periods exclude each other in a cycle: %s (a period cannot exclude itself, directly or through others)", strings.Join(cycle, " -> "))
		case depth > MaxExcludeDepth:
			r.sink.add(node, label, "its exclusions are nested %d deep: at most %d levels are allowed (limit exclude-depth)", depth, MaxExcludeDepth)
		case len(reached) > MaxExcludedPeriods:
			r.sink.add(node, label, "it excludes %d time periods directly or through others: at most %d are allowed (limit excluded-periods)", len(reached), MaxExcludedPeriods)
		}
	}
}

// excludeWalk returns the depth of the exclusions below name and the first
// cycle found (nil if none); reached collects every period reached. The
// walk stops descending past the limits, so it is bounded too.
func excludeWalk(m *Model, name string, path []string, reached map[string]bool) (int, []string) {
	p := m.TimePeriods[name]
	if p == nil || len(path) > MaxExcludeDepth+2 || len(reached) > MaxExcludedPeriods+1 {
		return 0, nil
	}
	deepest := 0
	for _, ex := range p.Excludes {
		if i := slices.Index(path, ex); i >= 0 {
			return 0, append(slices.Clone(path[i:]), ex)
		}
		if m.TimePeriods[ex] == nil {
			continue
		}
		reached[ex] = true
		d, cycle := excludeWalk(m, ex, append(path, ex), reached)
		if cycle != nil {
			return 0, cycle
		}
		deepest = max(deepest, d+1)
	}
	return deepest, nil
}
