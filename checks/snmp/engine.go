package snmp

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// Options configure the engine.
type Options struct {
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Script runs the "script" executor; nil creates one with default options.
	Script *script.Engine
	// WalkLimit caps the values one walk returns (default 10000).
	WalkLimit int
}

// Engine is the "snmp" check engine. It is safe for concurrent use.
type Engine struct {
	opts      Options
	log       *slog.Logger
	executors map[string]executor

	mu      sync.Mutex
	samples map[string]counterSample // interface counters by check id
}

// executor runs one kind of SNMP check on a connected client.
type executor func(ctx context.Context, g *gosnmp.GoSNMP, req *checks.Request) (*checks.Result, error)

// New returns an snmp engine.
func New(opts Options) *Engine {
	if opts.Script == nil {
		opts.Script = script.New(script.Options{Logger: opts.Logger})
	}
	if opts.WalkLimit == 0 {
		opts.WalkLimit = 10000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: opts, log: log, samples: map[string]counterSample{}}
	e.executors = map[string]executor{
		"get":       e.execGet,
		"walk":      e.execWalk,
		"table":     e.execWalk,
		"interface": e.execInterface,
		"traffic":   e.execInterface,
		"script":    e.execScript,
	}
	return e
}

// Name implements checks.Engine.
func (e *Engine) Name() string { return "snmp" }

// CheckPolicy implements checks.PolicyChecker: under hosted, no loopback or
// private literal target.
func (e *Engine) CheckPolicy(_ context.Context, p *checks.Policy, req *checks.Request) error {
	return checks.CheckHostParams(p, req)
}

// Execute implements checks.Engine. The executor defaults to "script" when
// the request carries a script and "get" otherwise.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	name := req.Executor
	if name == "" {
		name = "get"
		if strings.TrimSpace(req.Script) != "" {
			name = "script"
		}
	}
	exec, ok := e.executors[name]
	if !ok {
		return &checks.Result{Status: checks.StatusError, Started: start,
			Output: fmt.Sprintf("the snmp engine has no executor %q (have get, walk, interface, script)", name)}, nil
	}
	g, err := dial(ctx, req)
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error(), Started: start}, nil
	}
	defer g.Conn.Close()
	res, err := exec(ctx, g, req)
	if err != nil {
		status := checks.StatusCritical
		if ctx.Err() != nil {
			status = checks.StatusTimeout
		}
		res = &checks.Result{Status: status, Output: err.Error()}
	}
	if res.Started.IsZero() {
		res.Started = start
	}
	res.Runtime = time.Since(start)
	return res, nil
}

// execGet fetches one OID: numeric values are compared with the warning and
// critical thresholds (greater than, or less than with threshold=less),
// strings with match (contains) or expect (equals); with none of these the
// result is INFO.
func (e *Engine) execGet(ctx context.Context, g *gosnmp.GoSNMP, req *checks.Request) (*checks.Result, error) {
	oid := param(req, "", "oid")
	if oid == "" {
		return &checks.Result{Status: checks.StatusError, Output: `parameter "oid" is required`}, nil
	}
	vals, err := get(g, oid)
	if err != nil {
		return nil, err
	}
	v := vals[0]
	label := param(req, v.OID, "label")
	res := &checks.Result{Status: checks.StatusInfo, Output: fmt.Sprintf("%s: %s", label, v.Text)}
	if want, ok := req.Parameters["expect"]; ok && want != "" {
		res.Status = map[bool]checks.Status{true: checks.StatusOK, false: checks.StatusCritical}[v.Text == want]
		return res, nil
	}
	if want, ok := req.Parameters["match"]; ok && want != "" {
		res.Status = map[bool]checks.Status{true: checks.StatusOK, false: checks.StatusCritical}[strings.Contains(v.Text, want)]
		return res, nil
	}
	warn, crit := param(req, "", "warning"), param(req, "", "critical")
	if warn == "" && crit == "" {
		return res, nil
	}
	if v.Number == nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("%s is %s %q, not a number, so thresholds cannot apply", v.OID, v.Type, v.Text)}, nil
	}
	f, _ := new(big.Float).SetInt(v.Number).Float64()
	status, err := threshold(f, warn, crit, param(req, "greater", "threshold") == "less")
	if err != nil {
		return misconfigured(err), nil
	}
	res.Status = status
	res.Perfdata = []checks.Perfdata{{Label: label, Value: &f, Warn: warn, Crit: crit}}
	return res, nil
}

// misconfigured is the result of a check whose parameters are wrong: an
// ERROR result that says why, not an engine failure (see checks.Engine).
func misconfigured(err error) *checks.Result {
	return &checks.Result{Status: checks.StatusError, Output: err.Error()}
}

// threshold compares value with numeric warn/crit thresholds.
func threshold(value float64, warn, crit string, less bool) (checks.Status, error) {
	breach := func(name, t string) (bool, error) {
		if t == "" {
			return false, nil
		}
		n, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return false, fmt.Errorf("parameter %q: %q is not a number", name, t)
		}
		if less {
			return value < n, nil
		}
		return value > n, nil
	}
	if b, err := breach("critical", crit); err != nil || b {
		return checks.StatusCritical, err
	}
	if b, err := breach("warning", warn); err != nil || b {
		return checks.StatusWarning, err
	}
	return checks.StatusOK, nil
}

// execWalk walks a subtree and summarises it: the count, and each value in
// the long output. warning/critical apply to the count of values.
func (e *Engine) execWalk(ctx context.Context, g *gosnmp.GoSNMP, req *checks.Request) (*checks.Result, error) {
	oid := param(req, "", "oid")
	if oid == "" {
		return &checks.Result{Status: checks.StatusError, Output: `parameter "oid" is required`}, nil
	}
	vals, err := walk(g, oid, e.opts.WalkLimit)
	if err != nil {
		return nil, err
	}
	var long strings.Builder
	for _, v := range vals {
		fmt.Fprintf(&long, "%s = %s: %s\n", v.OID, v.Type, v.Text)
	}
	n := float64(len(vals))
	res := &checks.Result{Status: checks.StatusInfo, Output: fmt.Sprintf("%d values under %s", len(vals), strings.TrimPrefix(oid, ".")),
		LongOutput: strings.TrimSuffix(long.String(), "\n"), Perfdata: []checks.Perfdata{{Label: "values", Value: &n}}}
	if warn, crit := param(req, "", "warning"), param(req, "", "critical"); warn != "" || crit != "" {
		status, err := threshold(n, warn, crit, param(req, "greater", "threshold") == "less")
		if err != nil {
			return misconfigured(err), nil
		}
		res.Status = status
	}
	return res, nil
}
