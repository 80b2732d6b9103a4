package jmx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dop251/goja"

	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// jmxObject is the `jmx` global of jmx scripts (Bergamot's JMX API):
//
//	jmx.connect(host, port, user, pass, function(con) {
//	    var bean = con.getMBean('java.lang:type=Memory');
//	    bean.getAttribute('HeapMemoryUsage').getValue().used;
//	    con.getMBeans('java.lang:type=GarbageCollector,*');  // beans by pattern
//	});
//
// Values are the agent's JSON: numbers, strings, and objects for
// composite data.
func (e *Engine) jmxObject(ctx context.Context, run *script.Run) *goja.Object {
	vm := run.VM
	o := vm.NewObject()
	_ = o.Set("connect", func(c goja.FunctionCall) goja.Value {
		host := c.Argument(0).String()
		port := int(c.Argument(1).ToInteger())
		if port <= 0 || port > 65535 {
			port = DefaultPort
		}
		user, pass := "", ""
		if v := c.Argument(2); !goja.IsUndefined(v) && !goja.IsNull(v) {
			user = v.String()
		}
		if v := c.Argument(3); !goja.IsUndefined(v) && !goja.IsNull(v) {
			pass = v.String()
		}
		cl, _ := e.client(run.Request, host, port, user, pass)
		defer cl.HTTP.CloseIdleConnections()
		// Fail early, as a JMX connect does, when the agent is not there.
		if _, _, err := cl.Do(ctx, Request{Type: "version"}); err != nil {
			run.Throw(fmt.Errorf("jmx.connect %s: %w", cl.URL, err))
		}
		return run.Call(c.Argument(4), connObject(ctx, run, cl))
	})
	return o
}

func connObject(ctx context.Context, run *script.Run, cl *Client) *goja.Object {
	vm := run.VM
	o := vm.NewObject()
	_ = o.Set("getMBean", func(name string) *goja.Object { return beanObject(ctx, run, cl, name) })
	_ = o.Set("getMBeans", func(pattern string) []any {
		names, err := cl.Search(ctx, pattern)
		if err != nil {
			run.Throw(fmt.Errorf("jmx search %s: %w", pattern, err))
		}
		out := make([]any, len(names))
		for i, n := range names {
			out[i] = beanObject(ctx, run, cl, n)
		}
		return out
	})
	_ = o.Set("search", func(pattern string) []string {
		names, err := cl.Search(ctx, pattern)
		if err != nil {
			run.Throw(fmt.Errorf("jmx search %s: %w", pattern, err))
		}
		return names
	})
	return o
}

func beanObject(ctx context.Context, run *script.Run, cl *Client, name string) *goja.Object {
	vm := run.VM
	o := vm.NewObject()
	_ = o.Set("getName", func() string { return name })
	_ = o.Set("name", name)
	_ = o.Set("getAttribute", func(attr string) *goja.Object {
		raw, err := cl.Read(ctx, name, attr, "")
		if err != nil {
			var je *Error
			if errors.As(err, &je) {
				run.Throw(fmt.Errorf("%s %s: %w", name, attr, err))
			}
			run.Throw(fmt.Errorf("jmx read %s %s: %w", name, attr, err))
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			run.Throw(err)
		}
		a := vm.NewObject()
		_ = a.Set("getName", func() string { return attr })
		_ = a.Set("getValue", func() any { return v })
		_ = a.Set("value", v)
		return a
	})
	return o
}
