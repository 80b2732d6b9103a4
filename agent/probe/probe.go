// Package probe holds the host agent's executors: one function per
// executor name of Bergamot's stock agent commands (cpu, memory, disk,
// processes, port-listener, ...), reading the host through gopsutil, plus
// Nagios plugins and scripts from an allow-list local to the host.
//
// An executor takes the check's parameters (with the names and defaults of
// the stock templates in templates/commands/agent/) and returns a
// Nagios-style result: status from the thresholds, an output a person
// reads, perfdata. Nothing a check sends can run a program that is not in
// the agent's own allow-list.
package probe

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/agent/wire"
	"github.com/bergamot-monitoring/bergamot/checks"
)

// Executor runs one kind of check on the host.
type Executor func(ctx context.Context, r *Run) (*checks.Result, error)

// Run is one execution: the check's parameters and the agent's settings.
type Run struct {
	Params      map[string]string
	CommandLine string
	Agent       *Probes
	// Metrics is set by the metrics executor: the readings it hands back.
	Metrics []wire.Metric
}

// Param returns a parameter, or def when it is absent or empty.
func (r *Run) Param(name, def string) string {
	if v, ok := r.Params[name]; ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// Bool reads a yes/no parameter.
func (r *Run) Bool(name string, def bool) bool {
	switch strings.ToLower(r.Param(name, "")) {
	case "yes", "true", "1", "on":
		return true
	case "no", "false", "0", "off":
		return false
	}
	return def
}

// Float reads a number parameter; a malformed value is an error naming it.
func (r *Run) Float(name string, def float64) (float64, error) {
	v := r.Param(name, "")
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return def, fmt.Errorf("parameter %s: %q is not a number", name, v)
	}
	return f, nil
}

// Probes is the agent's set of executors and their local settings.
type Probes struct {
	// Version is the agent's version (the agent executor reports it).
	Version string
	// Host is the host name the agent reports.
	Host string
	// PluginDirs is the local allow-list of Nagios plugin directories
	// (the nagios executor runs nothing outside them).
	PluginDirs []string
	// ScriptDirs is the local allow-list of scripts the script executor runs.
	ScriptDirs []string
	// Sample is how long rate executors (cpu, disk-io, network-io) measure (default 1s).
	Sample time.Duration
	// Started is when the agent started.
	Started time.Time
	// Statsd holds the statsd metrics the agent receives (nil: none; the
	// metrics executor then says so).
	Statsd *Statsd

	executors map[string]Executor
	plugins   pluginRunner
}

// New returns the probes with every executor registered.
func New(p Probes) *Probes {
	if p.Sample <= 0 {
		p.Sample = time.Second
	}
	if p.Started.IsZero() {
		p.Started = time.Now()
	}
	if len(p.PluginDirs) == 0 {
		p.PluginDirs = []string{"/usr/lib/nagios/plugins"}
	}
	pp := &p
	pp.executors = map[string]Executor{}
	for name, ex := range map[string]Executor{
		"presence": presence, "agent": agentInfo, "agent-memory": agentMemory,
		"cpu": cpuUsage, "load": loadAverage, "memory": memory, "os": osInfo, "users": users, "uptime": uptime,
		"disk": diskOne, "disks": diskAll, "disk-io": diskIO,
		"network-io": networkIO, "network-connection": networkConnections, "port-listener": portListeners,
		"processes": processes, "process-stats": processStats,
		"nagios": nagiosPlugin, "script": localScript, "metrics": metrics,
	} {
		pp.Register(name, ex)
	}
	pp.plugins = newPluginRunner()
	return pp
}

// Register adds an executor; a duplicate name panics.
func (p *Probes) Register(name string, ex Executor) {
	if _, dup := p.executors[name]; dup {
		panic("probe: executor " + name + " registered twice")
	}
	p.executors[name] = ex
}

// Names lists the executors (the agent's capabilities).
func (p *Probes) Names() []string {
	out := make([]string, 0, len(p.executors))
	for n := range p.executors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Execute runs executor with params under ctx's deadline. An unknown
// executor or a failure is an UNKNOWN or ERROR result, never a panic.
func (p *Probes) Execute(ctx context.Context, executor string, params map[string]string, commandLine string) *checks.Result {
	res, _ := p.Run(ctx, executor, params, commandLine)
	return res
}

// Run is Execute that also returns the metrics a metrics check read.
func (p *Probes) Run(ctx context.Context, executor string, params map[string]string, commandLine string) (*checks.Result, []wire.Metric) {
	start := time.Now()
	ex := p.executors[executor]
	var res *checks.Result
	var err error
	run := &Run{Params: params, CommandLine: commandLine, Agent: p}
	if ex == nil {
		res = &checks.Result{Status: checks.StatusUnknown,
			Output: fmt.Sprintf("this agent has no executor %q (it has: %s)", executor, strings.Join(p.Names(), ", "))}
	} else {
		res, err = safe(ctx, ex, run)
	}
	if err != nil {
		status := checks.StatusError
		if ctx.Err() != nil {
			status = checks.StatusTimeout
		}
		res = &checks.Result{Status: status, Output: fmt.Sprintf("%s: %v", executor, err)}
	}
	if res.Started.IsZero() {
		res.Started = start
	}
	res.Runtime = time.Since(start)
	return res, run.Metrics
}

func safe(ctx context.Context, ex Executor, r *Run) (res *checks.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			buf := make([]byte, 2048)
			buf = buf[:runtime.Stack(buf, false)]
			res, err = nil, fmt.Errorf("executor panicked: %v\n%s", v, buf)
		}
	}()
	return ex(ctx, r)
}

// perf builds one perfdata item.
func perf(label string, v float64, uom, warn, crit string, minMax ...float64) checks.Perfdata {
	p := checks.Perfdata{Label: label, Value: &v, UOM: uom, Warn: warn, Crit: crit}
	if len(minMax) > 0 {
		p.Min = &minMax[0]
	}
	if len(minMax) > 1 {
		p.Max = &minMax[1]
	}
	return p
}

// above turns "greater than" thresholds (80, 90) into Nagios ranges
// ("80", "90": alert above); a negative or empty value disables one.
func above(warn, crit string) (string, string) {
	f := func(s string) string {
		s = strings.TrimSpace(s)
		if v, err := strconv.ParseFloat(s, 64); err == nil && v < 0 {
			return ""
		}
		return s
	}
	return f(warn), f(crit)
}

// below turns "less than" thresholds (900, 300) into Nagios ranges
// ("900:": alert below).
func below(warn, crit string) (string, string) {
	f := func(s string) string {
		s = strings.TrimSpace(s)
		if s == "" || strings.ContainsAny(s, ":@~") {
			return s
		}
		if v, err := strconv.ParseFloat(s, 64); err == nil && v < 0 {
			return ""
		}
		return s + ":"
	}
	return f(warn), f(crit)
}

// threshold applies ranges to v and builds the result.
func threshold(v float64, warn, crit, output string, pd ...checks.Perfdata) (*checks.Result, error) {
	st, err := checks.Threshold(v, warn, crit)
	if err != nil {
		return nil, err
	}
	return &checks.Result{Status: st, Output: output, Perfdata: pd}, nil
}

// worst combines statuses.
func worst(ss ...checks.Status) checks.Status {
	w := checks.StatusOK
	for _, s := range ss {
		if s.Worse(w) {
			w = s
		}
	}
	return w
}

// bytesText formats a byte count for people (KiB, MiB, GiB).
func bytesText(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(b) >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// parseSize reads "10MiB", "5 MB", "1024" (bytes).
func parseSize(s string) (float64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: not a number", s)
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1e3, "kib": 1 << 10, "m": 1 << 20, "mb": 1e6, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1e9, "gib": 1 << 30, "t": 1 << 40, "tb": 1e12, "tib": 1 << 40}
	m, ok := mult[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	return v * m, nil
}

// contains reports whether list holds s.
func contains(list []string, s string) bool { return slices.Contains(list, s) }
