package nrpe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Defaults, as check_nrpe has them.
const (
	DefaultPort    = 5666
	DefaultTimeout = 10 * time.Second
	// VersionCommand is the query that asks the daemon for its version.
	VersionCommand = "_NRPE_CHECK"
)

// Options configures an Engine. The zero value is usable.
type Options struct {
	// Logger receives debug records of each exchange; nil discards them.
	Logger *slog.Logger
	// Timeout applies when neither the check's `timeout` parameter nor its
	// context sets a shorter one (default 10 s).
	Timeout time.Duration
	// Port is the default daemon port (default 5666).
	Port int
	// Transport is the default transport (default auto).
	Transport Transport
	// TLSCertFile/TLSKeyFile are a default client certificate, TLSCAFile a
	// default CA bundle to verify daemons with; parameters override them.
	TLSCertFile, TLSKeyFile, TLSCAFile string
}

// Engine is the "nrpe" check engine: it queries NRPE daemons natively, without
// running check_nrpe.
type Engine struct {
	opts   Options
	log    *slog.Logger
	client *Client
}

var _ checks.Engine = (*Engine)(nil)

// New returns an NRPE engine. Call Close when done to free OpenSSL state.
func New(opts Options) *Engine {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Port == 0 {
		opts.Port = DefaultPort
	}
	if opts.Transport == "" {
		opts.Transport = TransportAuto
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{opts: opts, log: log, client: NewClient()}
}

// Name implements checks.Engine.
func (e *Engine) Name() string { return "nrpe" }

// Close frees the engine's OpenSSL context.
func (e *Engine) Close() { e.client.Close() }

// Client returns the engine's NRPE client (shared transport memory).
func (e *Engine) Client() *Client { return e.client }

// Execute implements checks.Engine. Parameters: host, port, command,
// args/arguments, transport/ssl, timeout, version, tls_cert, tls_key,
// tls_ca, tls_server_name, insecure (see docs/nrpe.md).
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	q, timeout, err := e.buildQuery(req)
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: "NRPE: " + err.Error(), Started: start, Runtime: time.Since(start)}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := e.client.Do(ctx, q)
	res := &checks.Result{Started: start}
	if err != nil {
		res.Status, res.Output = describeError(ctx, q, err, time.Since(start))
		e.log.DebugContext(ctx, "nrpe query failed", slog.String("address", q.Address), slog.String("command", q.Command), slog.Any("error", err))
	} else {
		e.log.DebugContext(ctx, "nrpe query answered", slog.String("address", q.Address), slog.String("command", q.Command),
			slog.String("transport", string(resp.Transport)), slog.String("security", resp.Security), slog.Int("version", resp.Version), slog.Int("result", resp.ResultCode))
		fillResult(res, resp)
	}
	res.Runtime = time.Since(start)
	return res, nil
}

// fillResult maps a daemon answer onto a Result with Nagios' output rules.
func fillResult(res *checks.Result, resp *Response) {
	po := checks.ParsePluginOutput([]byte(resp.Output))
	res.Output, res.LongOutput = po.Status, po.LongOutput
	res.Perfdata, res.PerfdataWarnings = checks.ParsePerfdata(po.Perfdata)
	st, ok := checks.FromNagiosExit(resp.ResultCode)
	res.Status = st
	if !ok {
		res.Output = fmt.Sprintf("%s (NRPE result code %d is out of bounds)", res.Output, resp.ResultCode)
	}
}

// describeError turns a failed query into a status and a sentence.
func describeError(ctx context.Context, q *Query, err error, took time.Duration) (checks.Status, string) {
	ms := took.Milliseconds()
	var de *DialError
	var he *HandshakeError
	switch {
	case netpolicy.IsRefused(err):
		var re *netpolicy.RefusedError
		errors.As(err, &re)
		return checks.StatusError, fmt.Sprintf("ERROR - NRPE at %s: %v", q.Address, re)
	case ctx.Err() != nil || isTimeout(err):
		return checks.StatusTimeout, fmt.Sprintf("TIMEOUT - no answer from NRPE at %s after %d ms (%v)", q.Address, ms, err)
	case errors.As(err, &de) && errors.Is(err, syscall.ECONNREFUSED):
		return checks.StatusCritical, fmt.Sprintf("CRITICAL - connection refused to %s after %d ms", q.Address, ms)
	case errors.As(err, &de):
		return checks.StatusCritical, fmt.Sprintf("CRITICAL - cannot connect to %s after %d ms: %v", q.Address, ms, de.Err)
	case errors.As(err, &he):
		return checks.StatusCritical, fmt.Sprintf("CRITICAL - no secure connection to NRPE at %s after %d ms: %v", q.Address, ms, err)
	case errors.Is(err, ErrNoAnswer) && len(q.Args) > 0:
		return checks.StatusUnknown, fmt.Sprintf("NRPE: server refused arguments (%s closed the connection without answering %q; "+
			"the daemon needs dont_blame_nrpe=1 and argument support, which Debian's build lacks)", q.Address, q.Command)
	case errors.Is(err, ErrNoAnswer):
		return checks.StatusUnknown, fmt.Sprintf("NRPE: %s closed the connection without answering (is this host in the daemon's allowed_hosts? does the transport match its ssl setting?): %v", q.Address, err)
	}
	return checks.StatusUnknown, fmt.Sprintf("NRPE: query to %s failed after %d ms: %v", q.Address, ms, err)
}

// CheckPolicy implements checks.PolicyChecker: under hosted, no loopback or
// private literal target and no TLS files of the worker (tls_ca, tls_cert,
// tls_key).
func (e *Engine) CheckPolicy(_ context.Context, p *checks.Policy, req *checks.Request) error {
	if err := checks.CheckWorkerFiles(p, req, "tls_ca", "tls_cert", "tls_key"); err != nil {
		return err
	}
	return checks.CheckHostParams(p, req, "address")
}

// buildQuery reads the check's parameters.
func (e *Engine) buildQuery(req *checks.Request) (*Query, time.Duration, error) {
	host := req.Param("host", req.Param("address", req.HostAddress))
	if host == "" {
		host = req.HostName
	}
	if host == "" {
		return nil, 0, errors.New(`parameter "host" is empty and the check's host has no address`)
	}
	port, err := req.IntParam("port", e.opts.Port)
	if err != nil {
		return nil, 0, err
	}
	if port < 1 || port > 65535 {
		return nil, 0, fmt.Errorf("parameter \"port\": %d is not a TCP port", port)
	}
	if h, p, err := net.SplitHostPort(host); err == nil && req.Param("port", "") == "" {
		host = h
		if port, err = strconv.Atoi(p); err != nil {
			return nil, 0, fmt.Errorf("parameter \"host\": bad port in %q", req.Param("host", ""))
		}
	}
	host = strings.Trim(host, "[]")
	q := &Query{Address: net.JoinHostPort(host, strconv.Itoa(port)), Command: req.Param("command", VersionCommand), Net: req.Policy.Network()}
	if strings.ContainsAny(q.Command, "!\x00") {
		return nil, 0, fmt.Errorf("parameter \"command\": %q must not contain '!' (use \"args\")", q.Command)
	}
	if a := req.Param("args", req.Param("arguments", "")); a != "" {
		q.Args = strings.Split(a, "!")
	} else if l := req.Param("args_line", ""); strings.TrimSpace(l) != "" {
		// What nagios4 makes of `check_nrpe ... -a WORDS` once its macros are
		// expanded: the words of the line, each one NRPE argument.
		if q.Args, err = checks.SplitWords(l); err != nil {
			return nil, 0, fmt.Errorf("parameter \"args_line\": %w", err)
		}
	}
	q.Transport = e.opts.Transport
	if t := req.Param("transport", req.Param("ssl", "")); t != "" {
		if q.Transport, err = ParseTransport(t); err != nil {
			return nil, 0, fmt.Errorf("parameter \"transport\": %w", err)
		}
	}
	switch v := req.Param("version", "4"); v {
	case "4", "auto":
		q.Version = Version4
	case "2":
		q.Version = Version2
	default:
		return nil, 0, fmt.Errorf("parameter \"version\": %q (want 4 or 2)", v)
	}
	if q.TLS, err = e.tlsConfig(req, host); err != nil {
		return nil, 0, err
	}
	timeout, err := e.timeout(req)
	return q, timeout, err
}

// timeout reads the `timeout` parameter: seconds ("10", "2.5") or a Go
// duration ("1500ms").
func (e *Engine) timeout(req *checks.Request) (time.Duration, error) {
	t := e.opts.Timeout
	if v := strings.TrimSpace(req.Param("timeout", "")); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
			t = time.Duration(f * float64(time.Second))
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			t = d
		} else {
			return 0, fmt.Errorf("parameter \"timeout\": %q is not a number of seconds or a duration", v)
		}
	}
	if req.Timeout > 0 && req.Timeout < t {
		t = req.Timeout
	}
	return t, nil
}

// tlsConfig builds the crypto/tls configuration. Without a CA (tls_ca or
// Options.TLSCAFile) or tls_verify=true the daemon is not verified, as with
// check_nrpe: the link is encrypted but not authenticated. insecure=true
// turns verification off even with a CA.
func (e *Engine) tlsConfig(req *checks.Request, host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: req.Param("tls_server_name", host)}
	ca := req.Param("tls_ca", e.opts.TLSCAFile)
	verify := ca != "" || req.BoolParam("tls_verify", false)
	if req.BoolParam("insecure", false) {
		verify = false
	}
	cfg.InsecureSkipVerify = !verify //nolint:gosec // documented: verification needs a CA
	if verify && ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("parameter \"tls_ca\": %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("parameter \"tls_ca\": %s holds no PEM certificate", ca)
		}
		cfg.RootCAs = pool
	}
	certFile, keyFile := req.Param("tls_cert", e.opts.TLSCertFile), req.Param("tls_key", e.opts.TLSKeyFile)
	if certFile != "" || keyFile != "" {
		if keyFile == "" {
			keyFile = certFile
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("parameters \"tls_cert\"/\"tls_key\": %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
