// Package jdbc is the "jdbc" check engine: SQL checks against PostgreSQL
// (pgx) and MySQL/MariaDB (go-sql-driver/mysql). Executor "query" (the
// default) connects, runs one query in a read-only transaction under a
// statement timeout and judges the first column of the first row, or the
// number of rows, against Nagios thresholds, with the time taken as
// perfdata. Executor "script" hands the command's script to the script
// engine, whose `jdbc` object speaks both databases through this package's
// sessions. Credentials come from the check's parameters (the stock
// commands fill them from the site's credential store).
package jdbc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
)

// Options configure the engine.
type Options struct {
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Script runs the "script" executor (the script engine); nil: no scripts.
	Script checks.Engine
	// Dial opens connections to databases; nil is a net.Dialer.
	Dial Dialer
	// MaxRows bounds the rows a query may return (default 10000).
	MaxRows int
	// DefaultTimeout applies when neither ctx nor the request has one (60s).
	DefaultTimeout time.Duration
}

// Engine is the "jdbc" engine. It is safe for concurrent use and keeps no
// connections between checks.
type Engine struct{ opts Options }

var _ checks.Engine = (*Engine)(nil)

// New returns a jdbc engine.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 10000
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 60 * time.Second
	}
	return &Engine{opts: opts}
}

// Name returns "jdbc".
func (e *Engine) Name() string { return "jdbc" }

// Execute implements checks.Engine.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	ex := req.Executor
	if ex == "" {
		ex = "query"
		if strings.TrimSpace(req.Script) != "" {
			ex = "script"
		}
	}
	switch ex {
	case "script":
		if e.opts.Script == nil {
			return &checks.Result{Status: checks.StatusError, Output: "the jdbc engine on this worker has no script engine"}, nil
		}
		return e.opts.Script.Execute(ctx, req)
	case "query":
		start := time.Now()
		ctx, cancel := checks.WithDeadline(ctx, req, e.opts.DefaultTimeout)
		defer cancel()
		res := e.query(ctx, req)
		res.Started, res.Runtime = start, time.Since(start)
		return res, nil
	}
	return &checks.Result{Status: checks.StatusError, Output: fmt.Sprintf("the jdbc engine has no executor %q (it has: query, script)", ex)}, nil
}

// CheckPolicy implements checks.PolicyChecker: under hosted, the database
// (the "url" parameter's host, else parameter "host" or the check's host
// address) must not be a literal address or name the network policy
// refuses; a script is asked as the script engine asks it. Databases a
// script names are judged when dialled.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	if !p.Hosted() {
		return nil
	}
	if e.opts.Script != nil && (req.Executor == "script" || req.Executor == "" && strings.TrimSpace(req.Script) != "") {
		return checks.CheckPolicy(ctx, e.opts.Script, p, req)
	}
	if u := strings.TrimSpace(req.Param("url", "")); u != "" {
		t, err := ParseURL(u)
		if err != nil {
			return nil //nolint:nilerr // the check reports its bad URL itself
		}
		if err := p.Network().CheckHost(t.Host); err != nil {
			return &checks.PolicyError{Rule: "outbound connections only to public addresses", Detail: fmt.Sprintf("parameter \"url\" %s: %v", t, err)}
		}
		return nil
	}
	return netcheck.CheckPolicy(ctx, p, req)
}

// TargetOf reads the database from the "url" parameter, or from "driver"
// (postgresql, mysql, mariadb), "host" (default: the check's host),
// "port" and "database".
func TargetOf(req *checks.Request) (Target, error) {
	if u := strings.TrimSpace(req.Param("url", "")); u != "" {
		t, err := ParseURL(u)
		if err != nil {
			return t, fmt.Errorf(`parameter "url": %w`, err)
		}
		return t, nil
	}
	driver := strings.ToLower(req.Param("driver", ""))
	if driver == "" {
		return Target{}, errors.New(`parameter "url" (jdbc:postgresql://HOST:PORT/DB or jdbc:mysql://HOST:PORT/DB) or "driver" is required`)
	}
	host, err := netcheck.Host(req)
	if err != nil {
		return Target{}, err
	}
	t, err := ParseURL(fmt.Sprintf("jdbc:%s://%s/%s", driver, netcheck.Address(host, 1), req.Param("database", "")))
	if err != nil {
		return t, fmt.Errorf(`parameter "driver": %w`, err)
	}
	def := 5432
	if t.Driver == MySQL {
		def = 3306
	}
	if t.Port, err = netcheck.Port(req, def); err != nil {
		return t, err
	}
	return t, nil
}

// query is the "query" executor.
func (e *Engine) query(ctx context.Context, req *checks.Request) *checks.Result {
	bad := func(err error) *checks.Result { return &checks.Result{Status: checks.StatusError, Output: err.Error()} }
	t, err := TargetOf(req)
	if err != nil {
		return bad(err)
	}
	sqlText := strings.TrimSpace(req.Param("query", ""))
	if sqlText == "" {
		return bad(errors.New(`parameter "query" is required: the SQL to run (read-only)`))
	}
	th, err := netcheck.ParseThresholds("warning", req.Param("warning", ""), "critical", req.Param("critical", ""))
	if err != nil {
		return bad(err)
	}
	onRows := req.BoolParam("rows", false)
	stmtTimeout := time.Duration(0)
	if d, ok := ctx.Deadline(); ok {
		stmtTimeout = time.Until(d)
	}
	if s := req.Param("statement_timeout", ""); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			return bad(fmt.Errorf(`parameter "statement_timeout": %q is not a number of seconds`, s))
		}
		stmtTimeout = time.Duration(f * float64(time.Second))
	}
	label := req.Param("label", "value")
	start := time.Now()
	sess, err := Open(ctx, t, req.Param("username", ""), req.Param("password", ""), stmtTimeout, Dialer(checks.PolicyDial(req.Policy, checks.DialFunc(e.opts.Dial))))
	if err != nil {
		return &checks.Result{Status: netcheck.FailStatus(ctx, err), Output: fmt.Sprintf("cannot connect to %s: %s", t, describe(ctx, err))}
	}
	defer func() { _ = sess.Close(context.WithoutCancel(ctx)) }()
	connected := time.Since(start)
	cols, rows, err := sess.Query(ctx, sqlText, nil, e.opts.MaxRows)
	elapsed := time.Since(start)
	timing := []checks.Perfdata{
		netcheck.Perf("time", elapsed.Seconds(), "s", "", "", netcheck.Zero()),
		netcheck.Perf("connect_time", connected.Seconds(), "s", "", "", netcheck.Zero()),
	}
	if err != nil {
		return &checks.Result{Status: netcheck.FailStatus(ctx, err), Output: fmt.Sprintf("query on %s failed: %s", t, describe(ctx, err)), Perfdata: timing}
	}
	var v float64
	var shown string
	if onRows {
		v, label = float64(len(rows)), req.Param("label", "rows")
		shown = fmt.Sprintf("%d rows", len(rows))
	} else {
		if len(rows) == 0 || len(cols) == 0 {
			return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("query on %s returned no rows (set rows=true to judge the row count)", t), Perfdata: timing}
		}
		cell := rows[0][0]
		if cell == nil {
			return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("query on %s returned NULL", t), Perfdata: timing}
		}
		if v, err = strconv.ParseFloat(strings.TrimSpace(*cell), 64); err != nil {
			if th.Warn != nil || th.Crit != nil {
				return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("query on %s returned %q, not a number to compare with the thresholds", t, *cell), Perfdata: timing}
			}
			return &checks.Result{Status: checks.StatusOK, Output: fmt.Sprintf("%s: %s", cols[0], *cell), Perfdata: timing}
		}
		shown = fmt.Sprintf("%s = %s", cols[0], strings.TrimSpace(*cell))
	}
	st := th.Evaluate(v)
	return &checks.Result{Status: st,
		Output:   fmt.Sprintf("%s %s on %s in %s", st, shown, t, netcheck.Millis(elapsed)),
		Perfdata: append([]checks.Perfdata{netcheck.Perf(label, v, "", th.WarnRaw(), th.CritRaw(), nil)}, timing...)}
}

// describe shortens database and network errors for people.
func describe(ctx context.Context, err error) string {
	msg := netcheck.Describe(ctx, err)
	if strings.Contains(msg, "statement timeout") || strings.Contains(msg, "max_statement_time") || strings.Contains(msg, "maximum statement execution time") {
		return "the statement timeout ended the query: " + msg
	}
	return msg
}
