// Package jmx is the "jmx" check engine. JMX from Go means the Jolokia
// protocol: JSON over HTTP to a Jolokia agent or proxy in the JVM
// (http://HOST:PORT/jolokia/). Executor "attribute" (the default) reads
// one attribute of an MBean or MBean pattern (heap, threads, GC, custom
// MBeans), optionally a path inside it (HeapMemoryUsage/used), and judges
// the number against Nagios thresholds with perfdata; executor "script"
// runs Bergamot's jmx scripts (jmx.connect(host, port, user, pass, fn)
// with con.getMBean(name).getAttribute(attr).getValue()) on the script
// engine. Every connection goes through Options.Dial.
package jmx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// DefaultPort is the Jolokia JVM agent's port.
const DefaultPort = 8778

// Options configure the engine.
type Options struct {
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Dial opens connections to agents; nil is a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Script runs the "script" executor; nil gives a default script engine.
	Script *script.Engine
	// DefaultTimeout applies when neither ctx nor the request has one (60s).
	DefaultTimeout time.Duration
}

// Engine is the "jmx" engine; it keeps no connection between checks.
type Engine struct{ opts Options }

var _ checks.Engine = (*Engine)(nil)

// New returns a jmx engine.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	if opts.Script == nil {
		opts.Script = script.New(script.Options{Logger: opts.Logger})
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 60 * time.Second
	}
	return &Engine{opts: opts}
}

// CheckPolicy implements checks.PolicyChecker: under hosted, the agent
// (parameter "host", else the check's host address) must not be a literal
// address or name the network policy refuses. Agents a script names are
// judged when dialled.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	return netcheck.CheckPolicy(ctx, p, req)
}

// Name returns "jmx".
func (e *Engine) Name() string { return "jmx" }

// Execute implements checks.Engine.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	ctx, cancel := checks.WithDeadline(ctx, req, e.opts.DefaultTimeout)
	defer cancel()
	ex := req.Executor
	if ex == "" {
		ex = "attribute"
		if strings.TrimSpace(req.Script) != "" {
			ex = "script"
		}
	}
	var res *checks.Result
	switch ex {
	case "attribute":
		res = e.attribute(ctx, req)
	case "script":
		var err error
		res, err = e.opts.Script.Run(ctx, req, func(ctx context.Context, run *script.Run) error {
			return run.VM.Set("jmx", e.jmxObject(ctx, run))
		})
		if err != nil {
			return nil, err
		}
	default:
		res = &checks.Result{Status: checks.StatusError, Output: fmt.Sprintf("the jmx engine has no executor %q (it has: attribute, script)", ex)}
	}
	res.Started, res.Runtime = start, time.Since(start)
	return res, nil
}

// client builds the agent client for host:port and the check's settings.
func (e *Engine) client(req *checks.Request, host string, port int, user, password string) (*Client, error) {
	scheme := "http"
	if req.BoolParam("ssl", false) {
		scheme = "https"
	}
	path := req.Param("path", "/jolokia/")
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := url.URL{Scheme: scheme, Host: netcheck.Address(host, port), Path: path}
	return &Client{URL: u.String(), User: user, Password: password, HTTP: newHTTPClient(checks.PolicyDial(req.Policy, e.opts.Dial), req.BoolParam("ssl_insecure", false))}, nil
}

// attribute is the "attribute" executor.
func (e *Engine) attribute(ctx context.Context, req *checks.Request) *checks.Result {
	bad := func(err error) *checks.Result { return &checks.Result{Status: checks.StatusError, Output: err.Error()} }
	host, err := netcheck.Host(req)
	if err != nil {
		return bad(err)
	}
	port, err := netcheck.Port(req, DefaultPort)
	if err != nil {
		return bad(err)
	}
	mbean, attr := strings.TrimSpace(req.Param("mbean", "")), strings.TrimSpace(req.Param("attribute", ""))
	if mbean == "" || attr == "" {
		return bad(errors.New(`parameters "mbean" and "attribute" are required (e.g. mbean java.lang:type=Memory, attribute HeapMemoryUsage, inner_path used)`))
	}
	th, err := netcheck.ParseThresholds("warning", req.Param("warning", ""), "critical", req.Param("critical", ""))
	if err != nil {
		return bad(err)
	}
	c, _ := e.client(req, host, port, req.Param("jmx_username", ""), req.Param("jmx_password", ""))
	defer c.HTTP.CloseIdleConnections()
	inner := req.Param("inner_path", "")
	start := time.Now()
	raw, err := c.Read(ctx, mbean, attr, inner)
	elapsed := time.Since(start)
	if err != nil {
		var je *Error
		if errors.As(err, &je) {
			return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("%s %s: %s", mbean, attr, je.Error())}
		}
		return &checks.Result{Status: netcheck.FailStatus(ctx, err), Output: fmt.Sprintf("Jolokia agent at %s: %s", c.URL, netcheck.Describe(ctx, err))}
	}
	values, err := numbers(mbean, raw)
	if err != nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("%s %s: %v", mbean, attr, err)}
	}
	label := req.Param("label", strings.TrimSuffix(attr+"_"+inner, "_"))
	uom := req.Param("uom", "")
	st := checks.StatusOK
	var parts []string
	var perf []checks.Perfdata
	for _, v := range values {
		s := th.Evaluate(v.value)
		if s.Severity() > st.Severity() {
			st = s
		}
		l := label
		if v.name != "" {
			l = label + "_" + v.name
			parts = append(parts, fmt.Sprintf("%s=%s", v.name, fmtNum(v.value)))
		} else {
			parts = append(parts, fmtNum(v.value)+uom)
		}
		perf = append(perf, netcheck.Perf(l, v.value, uom, th.WarnRaw(), th.CritRaw(), nil))
	}
	perf = append(perf, netcheck.Perf("time", elapsed.Seconds(), "s", "", "", netcheck.Zero()))
	return &checks.Result{Status: st, Output: fmt.Sprintf("%s %s %s", label, strings.Join(parts, ", "), st), Perfdata: perf}
}

type namedValue struct {
	name  string
	value float64
}

// numbers reads a read reply's value: a number, or for an MBean pattern a
// map of MBean name to {attribute: number}, named by the pattern's "name"
// or "type" key.
func numbers(mbean string, raw json.RawMessage) ([]namedValue, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return []namedValue{{value: f}}, nil
	}
	var byBean map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byBean); err != nil || !strings.ContainsAny(mbean, "*?") {
		return nil, fmt.Errorf("the value %s is not a number (give inner_path for a composite value)", printable(string(raw), 200))
	}
	var out []namedValue
	for bean, attrs := range byBean {
		for _, v := range attrs {
			if err := json.Unmarshal(v, &f); err != nil {
				return nil, fmt.Errorf("%s: the value %s is not a number", bean, printable(string(v), 100))
			}
			out = append(out, namedValue{name: beanKey(bean), value: f})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no MBean matches the pattern")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// beanKey is the short name of an MBean: its name= key, else type=, else all of it.
func beanKey(bean string) string {
	_, props, _ := strings.Cut(bean, ":")
	var typ string
	for _, kv := range strings.Split(props, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "name":
			return strings.ReplaceAll(v, " ", "_")
		case "type":
			typ = v
		}
	}
	if typ != "" {
		return typ
	}
	return bean
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
