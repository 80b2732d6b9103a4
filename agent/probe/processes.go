package probe

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// procMatcher selects processes as check-agent-processes' parameters say.
type procMatcher struct {
	command, title, argument *regexp.Regexp
	user, group, state       string
	flatten                  bool
}

func newProcMatcher(r *Run) (*procMatcher, error) {
	regex := r.Bool("regex", false)
	m := &procMatcher{user: r.Param("user", ""), group: r.Param("group", ""), state: strings.ToLower(r.Param("state", "")), flatten: r.Bool("flatten", false)}
	for _, p := range []struct {
		name string
		to   **regexp.Regexp
	}{{"command", &m.command}, {"title", &m.title}, {"argument", &m.argument}} {
		v := r.Param(p.name, "")
		if v == "" {
			continue
		}
		expr := "^" + regexp.QuoteMeta(v) + "$"
		if regex {
			expr = v
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.name, err)
		}
		*p.to = re
	}
	return m, nil
}

func (m *procMatcher) empty() bool {
	return m.command == nil && m.title == nil && m.argument == nil && m.user == "" && m.group == "" && m.state == ""
}

// matches reports whether p is selected. A process that vanished while it
// was read is not.
func (m *procMatcher) matches(ctx context.Context, p *process.Process) bool {
	var argv []string
	needArgs := m.argument != nil || m.flatten || m.title != nil || m.command != nil
	if needArgs {
		argv, _ = p.CmdlineSliceWithContext(ctx)
	}
	if m.command != nil {
		name, _ := p.NameWithContext(ctx)
		ok := m.command.MatchString(name)
		if !ok && len(argv) > 0 {
			ok = m.command.MatchString(filepath.Base(argv[0]))
		}
		if !ok && m.flatten {
			ok = m.command.MatchString(strings.Join(argv, " "))
		}
		if !ok {
			return false
		}
	}
	if m.title != nil {
		// The process title: what ps shows (postgres sets it to
		// "postgres: checkpointer" and so on); its first word counts.
		title := strings.Join(argv, " ")
		first, _, _ := strings.Cut(title, ":")
		first = strings.Fields(first + " x")[0]
		if !m.title.MatchString(title) && !m.title.MatchString(filepath.Base(first)) {
			return false
		}
	}
	if m.argument != nil {
		found := false
		for _, a := range argv[min(1, len(argv)):] {
			if m.argument.MatchString(a) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if m.user != "" {
		u, err := p.UsernameWithContext(ctx)
		if err != nil || u != m.user {
			return false
		}
	}
	if m.group != "" {
		gids, err := p.GidsWithContext(ctx)
		if err != nil || len(gids) == 0 {
			return false
		}
		g, err := user.LookupGroupId(strconv.Itoa(int(gids[0])))
		if err != nil || g.Name != m.group {
			return false
		}
	}
	if m.state != "" && m.state != "total" {
		st, err := p.StatusWithContext(ctx)
		if err != nil || !contains(st, m.state) {
			return false
		}
	}
	return true
}

// processes: how many processes match (command, title, argument, user,
// group, state; regex and flatten) against warning/critical ranges, with
// their CPU and memory.
func processes(ctx context.Context, r *Run) (*checks.Result, error) {
	m, err := newProcMatcher(r)
	if err != nil {
		return nil, err
	}
	if m.empty() {
		return nil, errors.New("no process selected: give at least one of command, title, argument, user, group or state")
	}
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	var n int
	var cpuPct, rss float64
	var lines []string
	for _, p := range procs {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !m.matches(ctx, p) {
			continue
		}
		n++
		c, _ := p.CPUPercentWithContext(ctx)
		cpuPct += c
		var prss uint64
		if mi, err := p.MemoryInfoWithContext(ctx); err == nil {
			prss = mi.RSS
			rss += float64(mi.RSS)
		}
		if len(lines) < 50 {
			name, _ := p.NameWithContext(ctx)
			lines = append(lines, fmt.Sprintf("pid %d %s: cpu %.1f%%, rss %s", p.Pid, name, c, bytesText(float64(prss))))
		}
	}
	w, c := r.Param("warning", ""), r.Param("critical", "")
	res, err := threshold(float64(n), w, c, fmt.Sprintf("%d matching process(es), cpu %.1f%%, memory %s", n, cpuPct, bytesText(rss)),
		perf("processes", float64(n), "", w, c, 0), perf("cpu", round(cpuPct), "%", "", "", 0), perf("rss", rss, "B", "", "", 0))
	if res != nil {
		res.LongOutput = strings.Join(lines, "\n")
	}
	return res, err
}

// processStats: how many processes are in a state (parameter state:
// total, zombie, running, sleep, stop, idle, wait, lock); warning/critical
// counts (alert above).
func processStats(ctx context.Context, r *Run) (*checks.Result, error) {
	state := strings.ToLower(r.Param("state", "total"))
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	n := 0
	for _, p := range procs {
		if state == "total" {
			n++
			continue
		}
		st, err := p.StatusWithContext(ctx)
		if err == nil && contains(st, state) {
			n++
		}
	}
	w, c := above(r.Param("warning", ""), r.Param("critical", ""))
	label, out := state, fmt.Sprintf("%d %s process(es)", n, state)
	if state == "total" {
		label, out = "processes", fmt.Sprintf("%d processes", n)
	}
	return threshold(float64(n), w, c, out, perf(label, float64(n), "", w, c, 0))
}
