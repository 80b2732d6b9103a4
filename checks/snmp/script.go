package snmp

import (
	"context"
	"fmt"
	"time"

	"github.com/dop251/goja"
	"github.com/gosnmp/gosnmp"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// execScript runs the command's script with an `agent` global over the
// connected SNMP client: agent.getValue(oid, onValue, onError),
// agent.getValues([oids], onValues, onError), agent.walk(oid, onValues, onError).
func (e *Engine) execScript(ctx context.Context, g *gosnmp.GoSNMP, req *checks.Request) (*checks.Result, error) {
	return e.opts.Script.Run(ctx, req, func(ctx context.Context, run *script.Run) error {
		return run.VM.Set("agent", agentObject(run, g, e.opts.WalkLimit))
	})
}

// agentObject is the `agent` global of SNMP scripts.
func agentObject(run *script.Run, g *gosnmp.GoSNMP, limit int) map[string]any {
	vm := run.VM
	deliver := func(c goja.FunctionCall, vals []Value, err error, single bool) goja.Value {
		if err != nil {
			if _, ok := goja.AssertFunction(c.Argument(2)); ok {
				return run.Call(c.Argument(2), vm.NewGoError(err))
			}
			run.Throw(err)
		}
		if single {
			return run.Call(c.Argument(1), varbind(vm, vals[0]))
		}
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = varbind(vm, v)
		}
		return run.Call(c.Argument(1), out)
	}
	return map[string]any{
		"getValue": func(c goja.FunctionCall) goja.Value {
			vals, err := get(g, c.Argument(0).String())
			return deliver(c, vals, err, true)
		},
		"getValues": func(c goja.FunctionCall) goja.Value {
			var oids []string
			if err := vm.ExportTo(c.Argument(0), &oids); err != nil {
				panic(vm.NewTypeError("agent.getValues: first argument must be an array of OIDs"))
			}
			vals, err := get(g, oids...)
			return deliver(c, vals, err, false)
		},
		"walk": func(c goja.FunctionCall) goja.Value {
			vals, err := walk(g, c.Argument(0).String(), limit)
			return deliver(c, vals, err, false)
		},
	}
}

// varbind is the script's view of one value, with the accessors Bergamot's
// SNMP scripts use (getTimeTicksValue().getTicksMillis(), toInterval(), ...).
func varbind(vm *goja.Runtime, v Value) *goja.Object {
	o := vm.NewObject()
	num := func() float64 {
		if v.Number == nil {
			panic(vm.NewTypeError(fmt.Sprintf("OID %s is %s, not a number", v.OID, v.Type)))
		}
		f, _ := v.Number.Float64()
		return f
	}
	_ = o.Set("oid", v.OID)
	_ = o.Set("type", v.Type)
	_ = o.Set("value", v.Text)
	_ = o.Set("getOID", func() string { return v.OID })
	_ = o.Set("getType", func() string { return v.Type })
	_ = o.Set("toString", func() string { return v.Text })
	_ = o.Set("getStringValue", func() string { return v.Text })
	_ = o.Set("getLongValue", func() float64 { return num() })
	_ = o.Set("getIntValue", func() float64 { return num() })
	_ = o.Set("getCounterValue", func() float64 { return num() })
	_ = o.Set("getTimeTicksValue", func() map[string]any {
		ticks := num() // hundredths of a second
		return map[string]any{
			"getTicks":       func() float64 { return ticks },
			"getTicksMillis": func() float64 { return ticks * 10 },
			"toInterval":     func() string { return interval(time.Duration(ticks) * 10 * time.Millisecond) },
		}
	})
	return o
}

// interval renders an uptime like "3 days 4:05:06".
func interval(d time.Duration) string {
	days := int(d.Hours()) / 24
	h, m, s := int(d.Hours())%24, int(d.Minutes())%60, int(d.Seconds())%60
	if days > 0 {
		return fmt.Sprintf("%d days %d:%02d:%02d", days, h, m, s)
	}
	return fmt.Sprintf("%d:%02d:%02d", h, m, s)
}
