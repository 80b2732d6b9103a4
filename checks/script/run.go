package script

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/dop251/goja"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Run is one execution of a script: a fresh VM and what the script has
// published so far. Extensions use it to add globals and call back into
// JavaScript.
type Run struct {
	// VM is this run's JavaScript runtime.
	VM *goja.Runtime
	// Request is the check being run.
	Request *checks.Request

	engine    *Engine
	clients   map[bool]*http.Client // by "certificates not verified"
	tlsBase   *tls.Config
	published *checks.Result
	readings  []checks.Perfdata
	stopped   *interruption // set by stop: why the run was interrupted
	cleanups  []func()
}

func newRun(ctx context.Context, e *Engine, req *checks.Request) *Run {
	vm := goja.New()
	vm.SetMaxCallStackSize(e.opts.MaxCallStack)
	vm.SetFieldNameMapper(goja.UncapFieldNameMapper())
	return &Run{VM: vm, Request: req, engine: e}
}

// close releases what the run opened (HTTP connections, database sessions).
func (r *Run) close() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	for _, c := range r.clients {
		c.CloseIdleConnections()
	}
}

// Throw aborts the running JavaScript with an Error carrying err's message;
// the script may catch it. Call it only from Go functions the script called.
func (r *Run) Throw(err error) {
	panic(r.VM.NewGoError(err))
}

// Call invokes the JavaScript function fn (a callback the script passed in)
// and returns its result; exceptions and interrupts propagate to the script.
func (r *Run) Call(fn goja.Value, args ...any) goja.Value {
	f, ok := goja.AssertFunction(fn)
	if !ok {
		panic(r.VM.NewTypeError("callback is not a function"))
	}
	vals := make([]goja.Value, len(args))
	for i, a := range args {
		vals[i] = r.VM.ToValue(a)
	}
	v, err := f(goja.Undefined(), vals...)
	if err != nil {
		panic(err)
	}
	return v
}

// Publish records a result; the first published result is the check's.
func (r *Run) Publish(status checks.Status, output string) {
	if r.published != nil {
		return
	}
	r.published = &checks.Result{Status: status, Output: output}
}

// AddReading records one reading as performance data.
func (r *Run) AddReading(p checks.Perfdata) { r.readings = append(r.readings, p) }

// install sets up the standard globals: check, bergamot, http, jdbc.
func (r *Run) install(ctx context.Context) error {
	chk := r.checkObject()
	b := r.bergamotObject(chk)
	for name, v := range map[string]any{
		"check":    chk,
		"bergamot": b,
		"http":     r.httpObject(ctx),
		"jdbc":     r.jdbcObject(ctx),
	} {
		if err := r.VM.Set(name, v); err != nil {
			return err
		}
	}
	return nil
}

type jsFunc = func(goja.FunctionCall) goja.Value

// object builds a JavaScript object from Go functions.
func (r *Run) object(fns map[string]jsFunc) *goja.Object {
	o := r.VM.NewObject()
	for k, f := range fns {
		_ = o.Set(k, f)
	}
	return o
}

// param returns the named parameter and whether it is present and non-empty.
func (r *Run) param(name string) (string, bool) {
	v, ok := r.Request.Parameters[name]
	return v, ok && v != ""
}

// checkObject is the `check` global: access to the check's parameters.
func (r *Run) checkObject() *goja.Object {
	num := func(parse func(string) (any, error)) jsFunc {
		return func(c goja.FunctionCall) goja.Value {
			name := c.Argument(0).String()
			v, ok := r.param(name)
			if !ok {
				if len(c.Arguments) > 1 {
					return c.Argument(1)
				}
				return goja.Null()
			}
			n, err := parse(strings.TrimSpace(v))
			if err != nil {
				panic(r.VM.NewTypeError(fmt.Sprintf("parameter %q: %q is not a number", name, v)))
			}
			return r.VM.ToValue(n)
		}
	}
	integer := num(func(s string) (any, error) { return strconv.ParseInt(s, 10, 64) })
	double := num(func(s string) (any, error) { return strconv.ParseFloat(s, 64) })
	return r.object(map[string]jsFunc{
		"getParameter": func(c goja.FunctionCall) goja.Value {
			if v, ok := r.param(c.Argument(0).String()); ok {
				return r.VM.ToValue(v)
			}
			if len(c.Arguments) > 1 {
				return c.Argument(1)
			}
			return goja.Null()
		},
		"containsParameter": func(c goja.FunctionCall) goja.Value {
			_, ok := r.param(c.Argument(0).String())
			return r.VM.ToValue(ok)
		},
		"getIntParameter":    integer,
		"getLongParameter":   integer,
		"getDoubleParameter": double,
		"getFloatParameter":  double,
		"getBooleanParameter": func(c goja.FunctionCall) goja.Value {
			v, ok := r.param(c.Argument(0).String())
			if !ok {
				if len(c.Arguments) > 1 {
					return r.VM.ToValue(c.Argument(1).ToBoolean())
				}
				return r.VM.ToValue(false)
			}
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true", "on", "yes":
				return r.VM.ToValue(true)
			}
			return r.VM.ToValue(false)
		},
		"getParameterCSV": func(c goja.FunctionCall) goja.Value {
			v, ok := r.param(c.Argument(0).String())
			if !ok && len(c.Arguments) > 1 {
				v, ok = c.Argument(1).String(), true
			}
			out := []any{}
			if ok {
				for _, s := range strings.Split(v, ",") {
					if s = strings.TrimSpace(s); s != "" {
						out = append(out, s)
					}
				}
			}
			return r.VM.ToValue(out)
		},
	})
}
