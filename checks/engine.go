package checks

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is everything an engine needs to run one check. It is built by the
// worker from the resolved configuration; parameter values have had their
// #{...} expressions evaluated already.
type Request struct {
	// CheckID identifies the check (a UUID string).
	CheckID string
	// SiteID identifies the tenant (a UUID string).
	SiteID string
	// Kind is the kind of check: "host", "service", "trap", "resource" or
	// "cluster" (empty when unknown, e.g. an ad-hoc run). Engines that copy
	// Nagios tell a host check from a service check by it.
	Kind string `json:",omitempty"`
	// Engine and Executor select the implementation, e.g. "nagios"/"", "nrpe"/"", "snmp"/"get".
	Engine   string
	Executor string
	// CommandLine is the command line for engines that run one (nagios).
	CommandLine string
	// Script is the command's <script> body, for scripted executors.
	Script string
	// Parameters are the check's resolved parameters by name.
	Parameters map[string]string
	// Host is the name and address of the host the check belongs to (or is).
	HostName    string
	HostAddress string
	// Timeout is the hard deadline for the check; the context carries it too.
	Timeout time.Duration
	// Zone is the zone the check was queued in (decides its Policy).
	Zone string
	// Policy is the execution policy the check runs under (nil: trusted).
	// Registry.Execute sets it from the registry's policy and Zone. It is
	// never encoded: a remote worker applies its own policy, not one a
	// message carries.
	Policy *Policy `json:"-"`
}

// Param returns a parameter or def when it is absent or empty.
func (r *Request) Param(name, def string) string {
	if v, ok := r.Parameters[name]; ok && v != "" {
		return v
	}
	return def
}

// IntParam returns an integer parameter or def when absent; a malformed value is an error naming the parameter.
func (r *Request) IntParam(name string, def int) (int, error) {
	v, ok := r.Parameters[name]
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return def, fmt.Errorf("parameter %q: %q is not an integer", name, v)
	}
	return n, nil
}

// BoolParam returns a boolean parameter ("true", "yes", "1", "on") or def when absent.
func (r *Request) BoolParam(name string, def bool) bool {
	v, ok := r.Parameters[name]
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1", "on":
		return true
	}
	return false
}

// Result is what one execution of a check produced.
type Result struct {
	Status     Status
	Output     string
	LongOutput string
	// Perfdata holds parsed performance data items.
	Perfdata []Perfdata
	// PerfdataWarnings notes items that broke the perfdata grammar but were kept.
	PerfdataWarnings []string `json:",omitempty"`
	// Started is when execution began; Runtime how long it took.
	Started time.Time
	Runtime time.Duration
	// Worker names the worker that ran it (set by the worker, not the engine).
	Worker string `json:",omitempty"`
	// Scheduled is the slot the check was due at (set by the worker for
	// scheduled runs, zero for ad-hoc ones): Started minus Scheduled is how
	// late it ran.
	Scheduled time.Time `json:",omitzero"`
}

// Engine runs checks of one kind. Implementations must honour ctx (which
// carries the check's deadline), never leak goroutines or sockets, and return
// a Result that a person understands; the error return is for failures of
// Bergamot itself, and the worker turns it into an ERROR result.
type Engine interface {
	// Name is the engine name used in configuration (<command engine="...">).
	Name() string
	// Execute runs one check.
	Execute(ctx context.Context, req *Request) (*Result, error)
}

// Registry holds engines by name.
type Registry struct {
	mu      sync.RWMutex
	engines map[string]Engine
	policy  *Policy
}

// SetPolicy sets the execution policy Execute applies (nil: trusted). Call
// it once while wiring, before the registry runs checks.
func (r *Registry) SetPolicy(p *Policy) {
	if p.Hosted() && p.Net == nil {
		cp := *p
		cp.Net = cp.Network() // one address policy for every check
		p = &cp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.policy = p
}

// Policy returns the policy set with SetPolicy.
func (r *Registry) Policy() *Policy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.policy
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{engines: map[string]Engine{}} }

// Register adds an engine; registering the same name twice panics, as that is a wiring bug.
func (r *Registry) Register(e Engine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.engines[e.Name()]; dup {
		panic("checks: engine " + e.Name() + " registered twice")
	}
	r.engines[e.Name()] = e
}

// Lookup returns the engine of that name.
func (r *Registry) Lookup(name string) (Engine, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.engines[name]
	return e, ok
}

// Names lists registered engine names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.engines))
	for n := range r.engines {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Execute looks up the engine named by req and runs it, turning a missing
// engine or an engine error into an ERROR result. Under a hosted policy for
// req's zone the request carries the policy, and one the engine refuses in
// advance (PolicyChecker; an engine without it is refused altogether) is an
// ERROR result that says which rule it broke: the run-time half of the
// policy, in case a configuration slipped past the apply-time validation.
func (r *Registry) Execute(ctx context.Context, req *Request) *Result {
	start := time.Now()
	e, ok := r.Lookup(req.Engine)
	if !ok {
		return &Result{Status: StatusError, Output: fmt.Sprintf("no %q engine on this worker (have: %s)", req.Engine, strings.Join(r.Names(), ", ")), Started: start}
	}
	if p := r.Policy().ForZone(req.Zone); p != nil {
		cp := *req // the caller may share req (cached definitions)
		cp.Policy = p
		req = &cp
		if err := CheckPolicy(ctx, e, p, req); err != nil {
			return &Result{Status: StatusError, Output: err.Error(), Started: start, Runtime: time.Since(start)}
		}
	}
	res, err := e.Execute(ctx, req)
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		res = &Result{Status: StatusTimeout, Output: fmt.Sprintf("check timed out after %s: %v", time.Since(start).Round(time.Millisecond), err)}
	case err != nil:
		res = &Result{Status: StatusError, Output: fmt.Sprintf("%s engine failed: %v", req.Engine, err)}
	}
	if res.Started.IsZero() {
		res.Started = start
	}
	if res.Runtime == 0 {
		res.Runtime = time.Since(start)
	}
	return res
}

// CheckPolicy asks e whether req may run under p: nil when p is not hosted,
// the engine's verdict when it implements PolicyChecker, and a refusal when
// it does not (an engine that has not said how it runs confined does not
// run in a shared zone).
func CheckPolicy(ctx context.Context, e Engine, p *Policy, req *Request) error {
	if !p.Hosted() {
		return nil
	}
	pc, ok := e.(PolicyChecker)
	if !ok {
		return Refuse("engines that run confined", "the %q engine does not run in shared zones", e.Name())
	}
	return pc.CheckPolicy(ctx, p, req)
}

// WithDeadline returns ctx bounded by the check's deadline: ctx's own when
// it has one, else req.Timeout, else def. Engines call it first in Execute.
func WithDeadline(ctx context.Context, req *Request, def time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	t := req.Timeout
	if t <= 0 {
		t = def
	}
	return context.WithTimeout(ctx, t)
}
