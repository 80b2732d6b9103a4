package script

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/jackc/pgx/v5"
)

// jdbcObject is the `jdbc` global: jdbc.connect(url, user, pass, fn) opens a
// PostgreSQL session (jdbc:postgresql://host:port/db), calls fn(con) and
// closes the session; it returns what fn returns.
func (r *Run) jdbcObject(ctx context.Context) *goja.Object {
	return r.object(map[string]jsFunc{
		"connect": func(c goja.FunctionCall) goja.Value {
			conn, err := r.connectPG(ctx, c.Argument(0).String(), c.Argument(1).String(), c.Argument(2).String())
			if err != nil {
				r.Throw(err)
			}
			defer conn.Close(context.WithoutCancel(ctx))
			return r.Call(c.Argument(3), r.connObject(ctx, conn))
		},
	})
}

// parseJDBC turns jdbc:postgresql://host[:port]/db[?params] into a pgx config.
func (r *Run) parseJDBC(jdbcURL, user, pass string) (*pgx.ConnConfig, error) {
	rest, ok := strings.CutPrefix(jdbcURL, "jdbc:postgresql://")
	if !ok {
		return nil, fmt.Errorf("jdbc.connect: %q is not a jdbc:postgresql:// URL (only PostgreSQL is supported)", jdbcURL)
	}
	u, err := url.Parse("postgres://" + rest)
	if err != nil {
		return nil, fmt.Errorf("jdbc.connect: bad URL %q: %w", jdbcURL, err)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("jdbc.connect: URL %q has no host", jdbcURL)
	}
	port := 5432
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return nil, fmt.Errorf("jdbc.connect: URL %q has a bad port %q", jdbcURL, p)
		}
	}
	sslmode := "prefer"
	if s := u.Query().Get("sslmode"); s != "" {
		sslmode = s
	} else if u.Query().Get("ssl") == "true" {
		sslmode = "require"
	}
	dsn := fmt.Sprintf("host=%s port=%d dbname=%s sslmode=%s connect_timeout=10",
		quoteDSN(u.Hostname()), port, quoteDSN(strings.TrimPrefix(u.Path, "/")), quoteDSN(sslmode))
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("jdbc.connect: %w", err)
	}
	cfg.User, cfg.Password = user, pass
	d := r.dialer()
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.RuntimeParams["application_name"] = "bergamot-check"
	return cfg, nil
}

// quoteDSN quotes a keyword/value connection-string value.
func quoteDSN(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (r *Run) connectPG(ctx context.Context, jdbcURL, user, pass string) (*pgx.Conn, error) {
	cfg, err := r.parseJDBC(jdbcURL, user, pass)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("jdbc.connect %s: %w", strings.SplitN(jdbcURL, "?", 2)[0], err)
	}
	return conn, nil
}

// connObject is the connection a jdbc.connect callback receives.
func (r *Run) connObject(ctx context.Context, conn *pgx.Conn) *goja.Object {
	return r.object(map[string]jsFunc{
		"query": func(c goja.FunctionCall) goja.Value {
			return r.runQuery(ctx, conn, c.Argument(0).String(), nil, c.Argument(1))
		},
		"prepare": func(c goja.FunctionCall) goja.Value {
			return r.statementObject(ctx, conn, c.Argument(0).String())
		},
	})
}

// statementObject is con.prepare(sql): bind*(index, value) then query(fn).
// JDBC's ? placeholders become $n.
func (r *Run) statementObject(ctx context.Context, conn *pgx.Conn, sql string) *goja.Object {
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
			return r.runQuery(ctx, conn, jdbcPlaceholders(sql, types), args, c.Argument(0))
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
func (r *Run) runQuery(ctx context.Context, conn *pgx.Conn, sql string, args []any, fn goja.Value) goja.Value {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rows, err := conn.Query(qctx, sql, args...)
	if err != nil {
		r.Throw(fmt.Errorf("query failed: %w", err))
	}
	var names []string
	for _, f := range rows.FieldDescriptions() {
		names = append(names, f.Name)
	}
	var data [][]*string
	for rows.Next() {
		if len(data) >= r.engine.opts.MaxRows {
			rows.Close()
			r.Throw(fmt.Errorf("query returned more than %d rows", r.engine.opts.MaxRows))
		}
		raw := rows.RawValues()
		row := make([]*string, len(raw))
		for i, v := range raw {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		data = append(data, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		r.Throw(fmt.Errorf("query failed: %w", err))
	}
	return r.Call(fn, r.resultSetObject(names, data))
}
