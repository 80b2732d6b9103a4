// Package tcp is the native "tcp" check engine: it connects to a TCP port,
// optionally over TLS (reporting certificate expiry), optionally sends a
// string and expects a reply, and reports the connect time.
//
// A plain connect check (no send, expect or TLS) closes its connection with
// a reset rather than FIN, as load-balancer health checks do, so probing
// leaves no TIME_WAIT sockets behind; parameter close=graceful|reset|auto
// overrides that.
package tcp

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

// Options configure the engine.
type Options struct {
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// Now returns the current time (for certificate expiry); nil is time.Now.
	Now func() time.Time
}

// Engine is the "tcp" engine.
type Engine struct {
	log *slog.Logger
	now func() time.Time
}

var _ checks.Engine = (*Engine)(nil)

// New returns a tcp engine.
func New(opts Options) *Engine {
	e := &Engine{log: opts.Logger, now: opts.Now}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// Name returns "tcp".
func (e *Engine) Name() string { return "tcp" }

// maxRead bounds how much of a reply is read looking for "expect".
const maxRead = 64 << 10

type params struct {
	host, addr, send, expect, serverName string
	useTLS, reset                        bool
	idle                                 time.Duration
	times                                netcheck.Thresholds
	cert                                 netcheck.CertPolicy
	tls                                  netcheck.TLSSettings
	net                                  *netpolicy.Policy
}

func parse(req *checks.Request) (*params, error) {
	host, err := netcheck.Host(req)
	if err != nil {
		return nil, err
	}
	port, err := netcheck.Port(req, 0)
	if err != nil {
		return nil, err
	}
	p := &params{host: host, addr: netcheck.Address(host, port),
		send:   netcheck.Unescape(req.Param("send", "")),
		expect: netcheck.Unescape(req.Param("expect", "")),
		useTLS: req.BoolParam("ssl", false) || req.BoolParam("tls", false),
	}
	idleMS, err := req.IntParam("expect_idle_ms", 500)
	if err != nil {
		return nil, err
	}
	p.idle = time.Duration(idleMS) * time.Millisecond
	p.times, err = netcheck.ParseThresholds("warning_response_time", req.Param("warning_response_time", ""),
		"critical_response_time", req.Param("critical_response_time", ""))
	if err != nil {
		return nil, err
	}
	p.serverName = req.Param("server_name", req.Param("virtual_host", host))
	p.tls = netcheck.TLSSettingsFrom(req, p.serverName)
	if p.cert.WarnDays, err = req.IntParam("expires_in", 0); err != nil {
		return nil, err
	}
	if p.cert.CritDays, err = req.IntParam("critical_expires_in", 0); err != nil {
		return nil, err
	}
	p.cert.PermitInvalid = p.tls.PermitInvalid
	switch mode := strings.ToLower(strings.TrimSpace(req.Param("close", "auto"))); mode {
	case "auto":
		p.reset = !p.useTLS && p.send == "" && p.expect == ""
	case "reset":
		p.reset = true
	case "graceful":
	default:
		return nil, fmt.Errorf("parameter %q: %q is not auto, reset or graceful", "close", mode)
	}
	p.net = req.Policy.Network()
	return p, nil
}

// CheckPolicy implements checks.PolicyChecker: under hosted, no loopback or
// private literal target and no TLS files of the worker.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	return netcheck.CheckPolicy(ctx, p, req)
}

// Execute runs one TCP check.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	p, err := parse(req)
	if err != nil {
		res := misconfigured(err)
		res.Started = start
		return res, nil
	}
	res := e.run(ctx, p, start)
	res.Started, res.Runtime = start, time.Since(start)
	e.log.DebugContext(ctx, "tcp check", slog.String("addr", p.addr), slog.String("status", res.Status.String()))
	return res, nil
}

func (e *Engine) run(ctx context.Context, p *params, start time.Time) *checks.Result {
	conn, err := p.net.Dialer(nil).DialContext(ctx, "tcp", p.addr)
	connectTime := time.Since(start)
	if err != nil {
		st := netcheck.FailStatus(ctx, err)
		return &checks.Result{Status: st,
			Output: fmt.Sprintf("%s - %s to %s after %s", st, netcheck.Describe(ctx, err), p.addr, netcheck.Millis(connectTime))}
	}
	defer closeConn(conn, p.reset)
	stop := netcheck.BindConn(ctx, conn)
	defer stop()

	status := p.times.Evaluate(float64(connectTime) / float64(time.Millisecond))
	msgs := []string{fmt.Sprintf("connected to %s in %s", p.addr, netcheck.Millis(connectTime))}
	if p.useTLS {
		tconn, st, msg := e.handshake(ctx, conn, p)
		if tconn == nil {
			return &checks.Result{Status: st, Output: fmt.Sprintf("%s - %s (%s)", st, msg, p.addr)}
		}
		conn = tconn
		status = netcheck.Worst(status, st)
		msgs = append(msgs, msg)
	}
	if st, msg := exchange(ctx, conn, p); msg != "" {
		status = netcheck.Worst(status, st)
		msgs = append(msgs, msg)
	}
	pt := p.times.Scale(0.001)
	return &checks.Result{
		Status:   status,
		Output:   fmt.Sprintf("TCP %s - %s", status, strings.Join(msgs, ", ")),
		Perfdata: []checks.Perfdata{netcheck.Perf("time", connectTime.Seconds(), "s", pt.WarnRaw(), pt.CritRaw(), netcheck.Zero())},
	}
}

// closeConn closes the connection. With reset it aborts it (SO_LINGER 0:
// the kernel sends RST instead of FIN), so neither side keeps the socket in
// TIME_WAIT. A connect check that closes with FIN is the active closer and
// holds every probe's port in TIME_WAIT for 60 s; at thousands of probes a
// second to one address that fills the ephemeral port range and makes each
// connect() search it.
func closeConn(conn net.Conn, reset bool) {
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// handshake upgrades conn to TLS and judges the certificate. A nil conn
// means the handshake failed, and the status and message say why.
func (e *Engine) handshake(ctx context.Context, conn net.Conn, p *params) (net.Conn, checks.Status, string) {
	cfg, err := p.tls.Config()
	if err != nil {
		return nil, checks.StatusError, err.Error()
	}
	roots := cfg.RootCAs
	cfg.InsecureSkipVerify = true //nolint:gosec // verified below by EvaluateCertificate, so expiry can be reported
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, netcheck.FailStatus(ctx, err), "TLS handshake failed: " + netcheck.Describe(ctx, err)
	}
	p.cert.Roots = roots
	st, msg := netcheck.EvaluateCertificate(tc.ConnectionState(), p.serverName, p.cert, e.now())
	return tc, st, msg
}

// exchange sends p.send and waits for p.expect; an empty message means
// there was nothing to do.
func exchange(ctx context.Context, conn net.Conn, p *params) (checks.Status, string) {
	if p.send != "" {
		if _, err := conn.Write([]byte(p.send)); err != nil {
			return netcheck.FailStatus(ctx, err), "sending failed: " + netcheck.Describe(ctx, err)
		}
	}
	if p.expect == "" {
		return checks.StatusOK, ""
	}
	got, found, err := netcheck.ReadUntil(ctx, conn, []byte(p.expect), maxRead, p.idle)
	if found {
		return checks.StatusOK, fmt.Sprintf("received %q", netcheck.Printable(got, 60))
	}
	if len(got) == 0 && err != nil {
		return netcheck.FailStatus(ctx, err), fmt.Sprintf("expected %q but read nothing: %s", p.expect, netcheck.Describe(ctx, err))
	}
	return checks.StatusCritical, fmt.Sprintf("expected %q but received %q", p.expect, netcheck.Printable(got, 60))
}

// misconfigured is the result of a check whose parameters are wrong: an
// ERROR result that says why, not an engine failure (see checks.Engine).
func misconfigured(err error) *checks.Result {
	return &checks.Result{Status: checks.StatusError, Output: "TCP check misconfigured: " + err.Error()}
}
