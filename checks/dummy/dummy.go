package dummy

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Options configure the engine. Zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now); timed and cycle executors use it.
	Now func() time.Time
	// Rand returns a uniform number in [0,1) (default math/rand/v2.Float64).
	Rand func() float64
	// Logger receives configuration problems; nil discards.
	Logger *slog.Logger
}

// executor computes one result from the request at time now.
type executor func(e *Engine, req *checks.Request, now time.Time) (*checks.Result, error)

// Engine is the dummy engine. It is safe for concurrent use.
type Engine struct {
	opts      Options
	executors map[string]executor
}

var _ checks.Engine = (*Engine)(nil)

// New returns a dummy engine.
func New(opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{opts: opts, executors: map[string]executor{
		"":         static,
		"static":   static,
		"random":   random,
		"timed":    timed,
		"cycle":    cycle("OK,WARNING,CRITICAL", time.Minute),
		"flapping": cycle("OK,CRITICAL", 30*time.Second),
		"script":   script,
	}}
}

// Name implements checks.Engine.
func (e *Engine) Name() string { return "dummy" }

// Executors lists the executor names the engine knows, sorted.
func (e *Engine) Executors() []string {
	var out []string
	for n := range e.executors {
		if n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Execute implements checks.Engine. A bad parameter gives an ERROR result
// naming it.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	now := e.opts.Now()
	ex, ok := e.executors[req.Executor]
	var res *checks.Result
	var err error
	if !ok {
		err = fmt.Errorf("dummy engine has no %q executor (have: %s)", req.Executor, strings.Join(e.Executors(), ", "))
	} else {
		res, err = ex(e, req, now)
	}
	if err != nil {
		e.opts.Logger.DebugContext(ctx, "dummy check misconfigured", slog.String("check", req.CheckID), slog.Any("error", err))
		res = &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	res.Started = now
	return res, nil
}

// finish fills output and perfdata common to all executors.
func finish(req *checks.Request, st checks.Status, defOutput string) *checks.Result {
	res := &checks.Result{Status: st, Output: req.Param("output", defOutput)}
	if raw := req.Param("perfdata", ""); raw != "" {
		res.Perfdata, res.PerfdataWarnings = checks.ParsePerfdata(raw)
	}
	return res
}

func static(_ *Engine, req *checks.Request, _ time.Time) (*checks.Result, error) {
	st := checks.StatusOK
	if s := req.Param("status", ""); s != "" {
		var err error
		if st, err = checks.ParseStatus(s); err != nil {
			return nil, fmt.Errorf("parameter status: %w", err)
		}
	} else if !req.BoolParam("ok", true) {
		st = checks.StatusCritical
	}
	return finish(req, st, st.String()), nil
}

func floatParam(req *checks.Request, name string, def float64) (float64, error) {
	s := req.Param(name, "")
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return def, fmt.Errorf("parameter %s: %q is not a number", name, s)
	}
	return v, nil
}

func random(e *Engine, req *checks.Request, _ time.Time) (*checks.Result, error) {
	warn, err := floatParam(req, "warning", 0.97)
	if err != nil {
		return nil, err
	}
	crit, err := floatParam(req, "critical", 0.99)
	if err != nil {
		return nil, err
	}
	r := e.opts.Rand()
	st := checks.StatusOK
	switch {
	case r >= crit:
		st = checks.StatusCritical
	case r >= warn:
		st = checks.StatusWarning
	}
	return finish(req, st, "Random "+st.String()), nil
}

func script(_ *Engine, _ *checks.Request, _ time.Time) (*checks.Result, error) {
	return nil, fmt.Errorf("the dummy engine's script executor needs a script engine; use a scripted command instead")
}

// CheckPolicy implements checks.PolicyChecker: a dummy check runs nothing
// and connects nowhere, so every policy allows it.
func (e *Engine) CheckPolicy(context.Context, *checks.Policy, *checks.Request) error { return nil }
