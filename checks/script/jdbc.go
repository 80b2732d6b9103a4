package script

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/bergamot-monitoring/bergamot/checks/jdbc"
)

// jdbcObject is the `jdbc` global: jdbc.connect(url, user, pass, fn) opens a
// read-only session to PostgreSQL (jdbc:postgresql://host:port/db) or
// MySQL/MariaDB (jdbc:mysql://..., jdbc:mariadb://...), calls fn(con) and
// closes the session; it returns what fn returns. Every query runs in a
// read-only transaction under a statement timeout (the check's remaining
// time, at most five minutes).
func (r *Run) jdbcObject(ctx context.Context) *goja.Object {
	return r.object(map[string]jsFunc{
		"connect": func(c goja.FunctionCall) goja.Value {
			sess, t, err := r.connectDB(ctx, c.Argument(0).String(), c.Argument(1).String(), c.Argument(2).String())
			if err != nil {
				r.Throw(err)
			}
			defer func() { _ = sess.Close(context.WithoutCancel(ctx)) }()
			return r.Call(c.Argument(3), r.connObject(ctx, sess, t.Driver))
		},
	})
}

// connectDB opens the session a jdbc URL names.
func (r *Run) connectDB(ctx context.Context, jdbcURL, user, pass string) (jdbc.Session, jdbc.Target, error) {
	t, err := jdbc.ParseURL(jdbcURL)
	if err != nil {
		return nil, t, fmt.Errorf("jdbc.connect: %w", err)
	}
	timeout := 5 * time.Minute
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sess, err := jdbc.Open(cctx, t, user, pass, timeout, r.dialer().DialContext)
	if err != nil {
		return nil, t, fmt.Errorf("jdbc.connect %s: %w", t, err)
	}
	return sess, t, nil
}

// connObject is the connection a jdbc.connect callback receives.
func (r *Run) connObject(ctx context.Context, sess jdbc.Session, driver jdbc.Driver) *goja.Object {
	return r.object(map[string]jsFunc{
		"query": func(c goja.FunctionCall) goja.Value {
			return r.runQuery(ctx, sess, c.Argument(0).String(), nil, c.Argument(1))
		},
		"prepare": func(c goja.FunctionCall) goja.Value {
			return r.statementObject(ctx, sess, driver, c.Argument(0).String())
		},
	})
}

// statementObject is con.prepare(sql): bind*(index, value) then query(fn).
// JDBC's ? placeholders become $n.
func (r *Run) statementObject(ctx context.Context, sess jdbc.Session, driver jdbc.Driver, sql string) *goja.Object {
	var args []any
	var types []string
	var o *goja.Object
	bind := func(typ string, conv func(goja.Value) any) jsFunc {
		return func(c goja.FunctionCall) goja.Value {
			i := int(c.Argument(0).ToInteger())
			if i < 1 || i > 1000 {
				panic(r.VM.NewTypeError(fmt.Sprintf("bind index %d out of range", i)))
			}
			for len(args) < i {
				args, types = append(args, nil), append(types, "")
			}
			args[i-1], types[i-1] = conv(c.Argument(1)), typ
			return o
		}
	}
	toNull := func(f func(goja.Value) any) func(goja.Value) any {
		return func(v goja.Value) any {
			if goja.IsNull(v) || goja.IsUndefined(v) {
				return nil
			}
			return f(v)
		}
	}
	o = r.object(map[string]jsFunc{
		"bindDouble":  bind("float8", toNull(func(v goja.Value) any { return v.ToFloat() })),
		"bindFloat":   bind("float8", toNull(func(v goja.Value) any { return v.ToFloat() })),
		"bindLong":    bind("int8", toNull(func(v goja.Value) any { return v.ToInteger() })),
		"bindInt":     bind("int8", toNull(func(v goja.Value) any { return v.ToInteger() })),
		"bindString":  bind("text", toNull(func(v goja.Value) any { return v.String() })),
		"bindBoolean": bind("bool", toNull(func(v goja.Value) any { return v.ToBoolean() })),
		"query": func(c goja.FunctionCall) goja.Value {
			if driver == jdbc.MySQL { // the MySQL protocol takes ? placeholders as they are
				return r.runQuery(ctx, sess, sql, args, c.Argument(0))
			}
			return r.runQuery(ctx, sess, jdbcPlaceholders(sql, types), args, c.Argument(0))
		},
	})
	return o
}

// jdbcPlaceholders rewrites ? placeholders outside quotes to $1, $2, ...,
// cast to the type they were bound with (as JDBC's typed setters do).
func jdbcPlaceholders(sql string, types []string) string {
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(sql); i++ { // bytewise: the syntax is ASCII, other bytes pass through
		ch := sql[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			if n <= len(types) && types[n-1] != "" {
				b.WriteString("::" + types[n-1])
			}
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// runQuery executes sql, buffers up to MaxRows rows as text, calls fn(rs)
// and returns what fn returns.
func (r *Run) runQuery(ctx context.Context, sess jdbc.Session, sql string, args []any, fn goja.Value) goja.Value {
	names, data, err := sess.Query(ctx, sql, args, r.engine.opts.MaxRows)
	if err != nil {
		r.Throw(fmt.Errorf("query failed: %w", err))
	}
	return r.Call(fn, r.resultSetObject(names, data))
}
