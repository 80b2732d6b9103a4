package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/agent/wire"
	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/nagios"
)

// pluginRunner runs an allow-listed program as a Nagios plugin.
type pluginRunner struct {
	engine *nagios.Engine
}

func newPluginRunner() pluginRunner { return pluginRunner{engine: nagios.New(nagios.Options{})} }

// shellMeta are characters that would need a shell: refused, so that a
// command line is one program and its arguments.
const shellMeta = "|&;<>()$`\\\"*?[]#~{}\n\r"

// allowed resolves argv0 inside one of dirs (a bare name is looked up in
// them in turn) and refuses anything outside, following symbolic links.
func allowed(argv0 string, dirs []string) (string, error) {
	var candidates []string
	switch {
	case filepath.IsAbs(argv0):
		candidates = []string{filepath.Clean(argv0)}
	case !strings.Contains(argv0, "/"):
		for _, d := range dirs {
			candidates = append(candidates, filepath.Join(d, argv0))
		}
	default:
		return "", fmt.Errorf("%q: give a plugin name or an absolute path", argv0)
	}
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil {
			continue
		}
		for _, d := range dirs {
			rd, err := filepath.EvalSymlinks(d)
			if err != nil {
				continue
			}
			if strings.HasPrefix(real, rd+string(filepath.Separator)) {
				if fi, err := os.Stat(real); err == nil && fi.Mode().IsRegular() {
					return c, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s is not in this agent's allow-list (%s); the agent runs only programs from its own --plugin-dir and --script-dir",
		argv0, strings.Join(dirs, ", "))
}

func (p pluginRunner) run(ctx context.Context, cmdline string, dirs []string) (*checks.Result, error) {
	cmdline = strings.TrimSpace(cmdline)
	if cmdline == "" {
		return nil, errors.New("no command line (parameter command_line)")
	}
	if i := strings.IndexAny(cmdline, shellMeta); i >= 0 {
		return &checks.Result{Status: checks.StatusUnknown,
			Output: fmt.Sprintf("refused: the command line holds %q; the agent runs one allow-listed program with plain arguments, never a shell", cmdline[i])}, nil
	}
	argv := strings.Fields(cmdline)
	path, err := allowed(argv[0], dirs)
	if err != nil { // a refusal is the check's result, not the agent's failure
		return &checks.Result{Status: checks.StatusUnknown, Output: "refused: " + err.Error()}, nil //nolint:nilerr // see above
	}
	argv[0] = path
	return p.engine.Execute(ctx, &checks.Request{Engine: "nagios", CommandLine: strings.Join(argv, " "), Timeout: deadline(ctx)})
}

// nagiosPlugin: a Nagios plugin from the agent's --plugin-dir allow-list
// (command_line, built from the stock command_prefix and command).
func nagiosPlugin(ctx context.Context, r *Run) (*checks.Result, error) {
	cl := r.CommandLine
	if cl == "" {
		cl = r.Param("command_line", "")
	}
	return r.Agent.plugins.run(ctx, cl, r.Agent.PluginDirs)
}

// localScript: a script from the agent's --script-dir allow-list,
// parameter script (its name, then arguments), run as a Nagios plugin.
func localScript(ctx context.Context, r *Run) (*checks.Result, error) {
	if len(r.Agent.ScriptDirs) == 0 {
		return &checks.Result{Status: checks.StatusUnknown, Output: "this agent runs no scripts: start it with --script-dir DIR to allow the scripts in DIR"}, nil
	}
	s := r.Param("script", "")
	if s == "" {
		return nil, errors.New("no script named (parameter script: a file in the agent's --script-dir, then its arguments)")
	}
	return r.Agent.plugins.run(ctx, s, r.Agent.ScriptDirs)
}

// metrics: application metrics pushed to the agent (statsd in the Java
// agent) are not collected by this agent.
// metrics reads the statsd metrics the agent has aggregated: those whose
// name (without its source when strip_source_from_metric_name) matches
// metric_name_filter, a regular expression matched against the whole name
// ("#" alone: every metric). They go back as the reading's metrics, which
// the hub hands to the command's script as readings; without a script the
// result is OK with one perfdata item per metric.
func metrics(_ context.Context, r *Run) (*checks.Result, error) {
	sd := r.Agent.Statsd
	if sd == nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: "this agent does not receive statsd metrics (it was started with --statsd-listen off)"}, nil
	}
	addr, err := sd.Addr()
	if err != nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: "this agent receives no statsd metrics: " + err.Error()}, nil //nolint:nilerr // the reason is the result
	}
	expr := r.Param("metric_name_filter", ".*")
	if expr == "#" {
		expr = ".*"
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("parameter metric_name_filter: %q is not a regular expression: %w", expr, err)
	}
	ms := sd.Snapshot(re, r.Bool("strip_source_from_metric_name", true))
	r.Metrics = ms
	pd := make([]checks.Perfdata, 0, min(len(ms), maxMetricPerfdata))
	for _, m := range ms[:min(len(ms), maxMetricPerfdata)] {
		switch m.Type {
		case wire.MetricMeter:
			pd = append(pd, perf(m.Name, float64(m.Count), "c", "", ""))
		case wire.MetricTimer:
			pd = append(pd, perf(m.Name, m.Mean, "ms", "", ""))
		default:
			pd = append(pd, perf(m.Name, m.Value, "", "", ""))
		}
	}
	out := fmt.Sprintf("%d metrics match %s (statsd on %s)", len(ms), expr, addr)
	return &checks.Result{Status: checks.StatusOK, Output: out, Perfdata: pd}, nil
}

// maxMetricPerfdata bounds the perfdata of a metrics check without a script.
const maxMetricPerfdata = 200

func deadline(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return 0
}
