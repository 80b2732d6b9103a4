// Package self is the "internal" engine: Bergamot checking itself, as the
// stock templates' generic_internal_commands.xml asks (commands
// bergamot-internal-workers, -notifiers and -proxies, used by the base
// set's internal hosts). It counts the live parts of the installation
// (workers of a zone, notifiers, serve nodes accepting remote workers)
// and judges the count against the minimums the command gives.
//
// The engine reads through a Source (the database's worker and node
// registrations on a worker connected to it: store.SelfCheck); a worker
// without one (a remote worker) does not offer the engine.
package self

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Member is one live part of the installation: a worker or a node.
type Member struct {
	Name string
	// Offers is what it offers: a worker's engines, a notifier's channels.
	Offers []string
}

// Source answers the engine's questions about the running installation.
type Source interface {
	// Workers lists the live workers serving zone for site: for a shared
	// zone the operator's workers, for the site's private zone its own
	// remote workers (never another site's).
	Workers(ctx context.Context, site, zone string) ([]Member, error)
	// Nodes lists the live nodes of a role: "serve" or "notifier".
	Nodes(ctx context.Context, role string) ([]Member, error)
}

// Options configure the engine.
type Options struct {
	// Source is required.
	Source Source
	Logger *slog.Logger
	// DefaultTimeout bounds a check without a deadline (default 10 s).
	DefaultTimeout time.Duration
}

// Engine is the "internal" engine.
type Engine struct{ opts Options }

var (
	_ checks.Engine        = (*Engine)(nil)
	_ checks.PolicyChecker = (*Engine)(nil)
)

// New returns the engine; opts.Source must be set.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 10 * time.Second
	}
	return &Engine{opts: opts}
}

// Name returns "internal".
func (e *Engine) Name() string { return "internal" }

// CheckPolicy implements checks.PolicyChecker: an internal check connects
// nowhere and reads only what the site may see, so it runs under any
// policy (under hosted it does not name the operator's workers).
func (e *Engine) CheckPolicy(context.Context, *checks.Policy, *checks.Request) error { return nil }

// kinds are the executors: what they count, in words and in the Source.
var kinds = map[string]struct {
	noun, offers string
	list         func(ctx context.Context, s Source, req *checks.Request, zone string) ([]Member, error)
}{
	"workers": {"worker", "engine", func(ctx context.Context, s Source, req *checks.Request, zone string) ([]Member, error) {
		return s.Workers(ctx, req.SiteID, zone)
	}},
	"notifiers": {"notifier", "channel", func(ctx context.Context, s Source, _ *checks.Request, _ string) ([]Member, error) {
		return s.Nodes(ctx, "notifier")
	}},
	"proxies": {"proxy", "", func(ctx context.Context, s Source, _ *checks.Request, _ string) ([]Member, error) {
		return s.Nodes(ctx, "serve")
	}},
}

// Execute implements checks.Engine.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	ctx, cancel := checks.WithDeadline(ctx, req, e.opts.DefaultTimeout)
	defer cancel()
	res := e.run(ctx, req)
	res.Started, res.Runtime = start, time.Since(start)
	return res, nil
}

func (e *Engine) run(ctx context.Context, req *checks.Request) *checks.Result {
	bad := func(err error) *checks.Result { return &checks.Result{Status: checks.StatusError, Output: err.Error()} }
	if e.opts.Source == nil {
		return bad(errors.New("the internal engine has no view of the installation on this worker (it runs on workers connected to the database: bergamot run or bergamot worker)"))
	}
	k, ok := kinds[req.Executor]
	if !ok {
		return bad(fmt.Errorf("the internal engine has no executor %q (it has: notifiers, proxies, workers)", req.Executor))
	}
	warn, err := minimum(req, "warning")
	if err != nil {
		return bad(err)
	}
	crit, err := minimum(req, "critical")
	if err != nil {
		return bad(err)
	}
	var need []string
	if k.offers != "" {
		need = split(req.Param("engines", ""))
	}
	zone := ""
	if req.Executor == "workers" {
		zone = req.Param("zone", req.Zone)
		if zone == "" {
			zone = "default"
		}
	}
	members, err := k.list(ctx, e.opts.Source, req, zone)
	if err != nil {
		if ctx.Err() != nil {
			return &checks.Result{Status: checks.StatusTimeout, Output: fmt.Sprintf("counting %ss timed out: %v", k.noun, err)}
		}
		e.opts.Logger.WarnContext(ctx, "internal check cannot read the installation", slog.String("executor", req.Executor), slog.Any("error", err))
		return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("cannot count %ss: %v", k.noun, err)}
	}
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	var good []Member
	offered := map[string]bool{}
	for _, m := range members {
		for _, o := range m.Offers {
			offered[o] = true
		}
		if hasAll(m.Offers, need) {
			good = append(good, m)
		}
	}
	var missing []string
	for _, n := range need {
		if !offered[n] {
			missing = append(missing, n)
		}
	}
	n := len(good)
	st := checks.StatusOK
	switch {
	case n < crit:
		st = checks.StatusCritical
	case n < warn:
		st = checks.StatusWarning
	}
	out := fmt.Sprintf("%s: %d %s alive", st, n, plural(k.noun, n))
	if zone != "" {
		out += fmt.Sprintf(" in zone %q", zone)
	}
	if len(need) > 0 {
		out += fmt.Sprintf(" offering %s", strings.Join(need, ", "))
	}
	if st != checks.StatusOK {
		out += fmt.Sprintf(" (want at least %d, critical below %d)", warn, crit)
	}
	if len(missing) > 0 {
		out += fmt.Sprintf("; no %s offers %s %s", k.noun, k.offers, strings.Join(missing, ", "))
	}
	var long []string
	if !req.Policy.Hosted() { // the names of a shared zone's workers are the operator's
		for _, m := range members {
			line := m.Name
			if k.offers != "" {
				line += ": " + strings.Join(m.Offers, ", ")
			}
			long = append(long, line)
		}
	}
	label := k.noun + "s"
	if k.noun == "proxy" {
		label = "proxies"
	}
	return &checks.Result{Status: st, Output: out, LongOutput: strings.Join(long, "\n"),
		Perfdata: []checks.Perfdata{perf(label, n, warn, crit)}}
}

// minimum reads a "minimum expected" parameter (default 1).
func minimum(req *checks.Request, name string) (int, error) {
	v := strings.TrimSpace(req.Param(name, "1"))
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("parameter %q: %q is not a number of members (the minimum expected, e.g. 1)", name, v)
	}
	return n, nil
}

func perf(label string, n, warn, crit int) checks.Perfdata {
	v := float64(n)
	zero := 0.0
	p := checks.Perfdata{Label: label, Value: &v, Min: &zero}
	if warn > 0 {
		p.Warn = strconv.Itoa(warn) + ":"
	}
	if crit > 0 {
		p.Crit = strconv.Itoa(crit) + ":"
	}
	return p
}

func split(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

func hasAll(have, need []string) bool {
	for _, n := range need {
		if !slices.Contains(have, n) {
			return false
		}
	}
	return true
}

func plural(noun string, n int) string {
	if n == 1 {
		return noun
	}
	if noun == "proxy" {
		return "proxies"
	}
	return noun + "s"
}
