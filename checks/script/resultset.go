package script

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// resultSetObject is the JDBC-like result set a query callback receives:
// next() advances, get*(column) read the current row by 1-based index or
// column name. SQL NULL reads as null from getString and 0/false otherwise,
// as in JDBC.
func (r *Run) resultSetObject(names []string, data [][]*string) *goja.Object {
	cur := -1
	cell := func(c goja.FunctionCall) *string {
		if cur < 0 || cur >= len(data) {
			panic(r.VM.NewTypeError("result set is not on a row (call next() first)"))
		}
		col := c.Argument(0)
		idx := -1
		if n, ok := col.Export().(int64); ok {
			idx = int(n) - 1
		} else {
			for i, name := range names {
				if strings.EqualFold(name, col.String()) {
					idx = i
				}
			}
		}
		if idx < 0 || idx >= len(names) {
			panic(r.VM.NewTypeError(fmt.Sprintf("no column %s in the result (it has %d)", col.String(), len(names))))
		}
		return data[cur][idx]
	}
	numeric := func(integer bool) jsFunc {
		return func(c goja.FunctionCall) goja.Value {
			s := cell(c)
			if s == nil {
				return r.VM.ToValue(0)
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(*s), 64)
			if err != nil {
				panic(r.VM.NewTypeError(fmt.Sprintf("column %s: %q is not a number", c.Argument(0).String(), *s)))
			}
			if integer {
				return r.VM.ToValue(int64(math.Trunc(f)))
			}
			return r.VM.ToValue(f)
		}
	}
	return r.object(map[string]jsFunc{
		"next": func(goja.FunctionCall) goja.Value {
			if cur < len(data) {
				cur++
			}
			return r.VM.ToValue(cur < len(data))
		},
		"getString": func(c goja.FunctionCall) goja.Value {
			if s := cell(c); s != nil {
				return r.VM.ToValue(*s)
			}
			return goja.Null()
		},
		"getInt":    numeric(true),
		"getLong":   numeric(true),
		"getDouble": numeric(false),
		"getFloat":  numeric(false),
		"getBoolean": func(c goja.FunctionCall) goja.Value {
			s := cell(c)
			return r.VM.ToValue(s != nil && (*s == "t" || *s == "true" || *s == "1"))
		},
		"getObject": func(c goja.FunctionCall) goja.Value {
			if s := cell(c); s != nil {
				return r.VM.ToValue(*s)
			}
			return goja.Null()
		},
		"length": func(goja.FunctionCall) goja.Value { return r.VM.ToValue(len(data)) },
	})
}
