package script

import (
	"fmt"
	"math"
	"strconv"

	"github.com/dop251/goja"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// resultKey names the hidden property that links a createResult() object to its Go state.
const resultKey = "__bergamotResult"

// pendingResult is a result a script is building with createResult().
type pendingResult struct {
	status checks.Status
	output string
	set    bool
}

// statusFuncs are the bergamot.<status>(output) publishers.
var statusFuncs = map[string]checks.Status{
	"info": checks.StatusInfo, "ok": checks.StatusOK, "warning": checks.StatusWarning,
	"critical": checks.StatusCritical, "unknown": checks.StatusUnknown, "error": checks.StatusError,
	"timeout": checks.StatusTimeout, "disconnected": checks.StatusDisconnected, "action": checks.StatusAction,
}

// text renders a script value as output text (an exception shows its message).
func text(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return ""
	}
	if o, ok := v.(*goja.Object); ok {
		if m := o.Get("message"); m != nil && !goja.IsUndefined(m) {
			return m.String()
		}
	}
	return v.String()
}

// bergamotObject is the `bergamot` global.
func (r *Run) bergamotObject(chk *goja.Object) *goja.Object {
	fns := map[string]jsFunc{
		"require": func(c goja.FunctionCall) goja.Value {
			name := c.Argument(0).String()
			if _, ok := r.param(name); !ok {
				msg := fmt.Sprintf("the parameter %q is required but not set", name)
				r.Publish(checks.StatusError, msg)
				panic(r.VM.NewGoError(fmt.Errorf("%s", msg)))
			}
			return goja.Undefined()
		},
		"publish": func(c goja.FunctionCall) goja.Value {
			p := r.pending(c.Argument(0))
			if p == nil || !p.set {
				panic(r.VM.NewTypeError("bergamot.publish: argument is not a result from bergamot.createResult() with a status set"))
			}
			r.Publish(p.status, p.output)
			return goja.Undefined()
		},
		"createResult": func(goja.FunctionCall) goja.Value { return r.resultObject() },
		"publishReadings": func(c goja.FunctionCall) goja.Value {
			for _, a := range c.Arguments {
				r.addReadings(a)
			}
			return goja.Undefined()
		},
		"applyGreaterThanThreshold":  r.thresholdPublisher(greater, false),
		"applyLessThanThreshold":     r.thresholdPublisher(less, false),
		"applyGreaterThanThresholds": r.thresholdPublisher(greater, true),
		"applyLessThanThresholds":    r.thresholdPublisher(less, true),
	}
	for name, st := range statusFuncs {
		fns[name] = func(c goja.FunctionCall) goja.Value {
			r.Publish(st, text(c.Argument(0)))
			return goja.Undefined()
		}
	}
	for _, g := range []struct{ fn, typ string }{
		{"createDoubleGaugeReading", "double-gauge"}, {"createFloatGaugeReading", "float-gauge"},
		{"createLongGaugeReading", "long-gauge"}, {"createIntegerGaugeReading", "int-gauge"},
		{"createIntGaugeReading", "int-gauge"},
	} {
		fns[g.fn] = func(c goja.FunctionCall) goja.Value {
			o := r.VM.NewObject()
			_ = o.Set("type", g.typ)
			for i, k := range []string{"name", "unit", "value", "warning", "critical", "min", "max"} {
				_ = o.Set(k, c.Argument(i))
			}
			return o
		}
	}
	b := r.object(fns)
	_ = b.Set("check", chk)
	return b
}

// thresholdPublisher publishes the status of value(s) against thresholds.
func (r *Run) thresholdPublisher(cmp compare, many bool) jsFunc {
	return func(c goja.FunctionCall) goja.Value {
		p := &pendingResult{}
		r.applyThreshold(p, cmp, many, c)
		r.Publish(p.status, p.output)
		return goja.Undefined()
	}
}

// compare reports whether value breaches threshold.
type compare func(value, threshold float64) bool

func greater(v, t float64) bool { return v > t }
func less(v, t float64) bool    { return v < t }

// applyThreshold sets p from (value, message) using the check's warning and
// critical parameters, or from (value, warning, critical, message).
func (r *Run) applyThreshold(p *pendingResult, cmp compare, many bool, c goja.FunctionCall) {
	var warn, crit float64
	var msg goja.Value
	if len(c.Arguments) <= 2 {
		warn, crit = r.numParam("warning"), r.numParam("critical")
		msg = c.Argument(1)
	} else {
		warn, crit = c.Argument(1).ToFloat(), c.Argument(2).ToFloat()
		msg = c.Argument(3)
	}
	var values []float64
	if many {
		var arr []any
		if err := r.VM.ExportTo(c.Argument(0), &arr); err != nil {
			panic(r.VM.NewTypeError("threshold values must be an array"))
		}
		for i := range arr {
			values = append(values, r.VM.ToValue(arr[i]).ToFloat())
		}
	} else {
		values = []float64{c.Argument(0).ToFloat()}
	}
	p.status, p.output, p.set = checks.StatusOK, text(msg), true
	for _, v := range values {
		switch {
		case cmp(v, crit):
			p.status = checks.StatusCritical
		case cmp(v, warn) && p.status != checks.StatusCritical:
			p.status = checks.StatusWarning
		}
	}
}

// numParam is a numeric parameter for the two-argument threshold form.
func (r *Run) numParam(name string) float64 {
	v, ok := r.param(name)
	if !ok {
		panic(r.VM.NewGoError(fmt.Errorf("threshold needs the %q parameter", name)))
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		panic(r.VM.NewGoError(fmt.Errorf("parameter %q: %q is not a number", name, v)))
	}
	return f
}

// pending returns the Go state behind a createResult() object, or nil.
func (r *Run) pending(v goja.Value) *pendingResult {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	p, _ := o.Get(resultKey).Export().(*pendingResult)
	return p
}

// resultObject is what bergamot.createResult() returns: a chainable builder.
func (r *Run) resultObject() *goja.Object {
	p := &pendingResult{}
	var o *goja.Object
	self := func(goja.FunctionCall) goja.Value { return o }
	fns := map[string]jsFunc{}
	for name, st := range statusFuncs {
		fns[name] = func(c goja.FunctionCall) goja.Value {
			p.status, p.output, p.set = st, text(c.Argument(0)), true
			return o
		}
	}
	for name, spec := range map[string]struct {
		cmp  compare
		many bool
	}{
		"applyGreaterThanThreshold": {greater, false}, "applyLessThanThreshold": {less, false},
		"applyGreaterThanThresholds": {greater, true}, "applyLessThanThresholds": {less, true},
	} {
		fns[name] = func(c goja.FunctionCall) goja.Value {
			r.applyThreshold(p, spec.cmp, spec.many, c)
			return o
		}
	}
	fns["output"] = func(c goja.FunctionCall) goja.Value { p.output = text(c.Argument(0)); return o }
	fns["getStatus"] = func(goja.FunctionCall) goja.Value { return r.VM.ToValue(p.status.String()) }
	fns["getOutput"] = func(goja.FunctionCall) goja.Value { return r.VM.ToValue(p.output) }
	fns["self"] = self
	o = r.object(fns)
	_ = o.DefineDataProperty(resultKey, r.VM.ToValue(p), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	return o
}

// addReadings records a reading object or an array of them.
func (r *Run) addReadings(v goja.Value) {
	o, ok := v.(*goja.Object)
	if !ok {
		return
	}
	if o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			r.addReadings(o.Get(strconv.Itoa(i)))
		}
		return
	}
	name := text(o.Get("name"))
	if name == "" {
		panic(r.VM.NewTypeError("reading has no name"))
	}
	integer := false
	switch text(o.Get("type")) {
	case "long-gauge", "int-gauge":
		integer = true
	}
	p := checks.Perfdata{Label: name, UOM: text(o.Get("unit"))}
	p.Value = number(o.Get("value"), integer)
	p.Min, p.Max = number(o.Get("min"), integer), number(o.Get("max"), integer)
	if w := number(o.Get("warning"), integer); w != nil {
		p.Warn = strconv.FormatFloat(*w, 'f', -1, 64)
	}
	if c := number(o.Get("critical"), integer); c != nil {
		p.Crit = strconv.FormatFloat(*c, 'f', -1, 64)
	}
	r.AddReading(p)
}

// number converts a reading field; absent, null and NaN are nil.
func number(v goja.Value, integer bool) *float64 {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	f := v.ToFloat()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	if integer {
		f = math.Trunc(f)
	}
	return &f
}
