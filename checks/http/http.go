package http

import (
	"container/list"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// Options configure the engine; zero values pick sensible defaults.
type Options struct {
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// MaxIdleConnsPerHost bounds idle pooled connections per target (default 4).
	MaxIdleConnsPerHost int
	// IdleConnTimeout closes pooled connections idle this long (default 60s).
	IdleConnTimeout time.Duration
	// MaxTransports bounds the number of distinct TLS settings pooled at
	// once; the least recently used is closed beyond it (default 256).
	MaxTransports int
	// MaxBodyBytes is how much of a body is kept for contains/regex/JSON
	// checks (default 1 MiB); the size is counted in full regardless.
	MaxBodyBytes int64
	// UserAgent is sent unless a check sets its own (default "Bergamot-Monitoring/1.0").
	UserAgent string
	// Now returns the current time (certificate expiry); nil is time.Now.
	Now func() time.Time
	// Script runs the "script" executor; nil creates one with default options.
	Script *script.Engine
}

// Engine is the "http" engine. It is safe for concurrent use.
type Engine struct {
	opts Options
	log  *slog.Logger

	mu         sync.Mutex
	transports map[transportKey]*list.Element
	lru        *list.List // of *pooled, most recent first
}

type pooled struct {
	key transportKey
	t   *nethttp.Transport
}

var _ checks.Engine = (*Engine)(nil)

// New returns an http engine.
func New(opts Options) *Engine {
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = 4
	}
	if opts.IdleConnTimeout <= 0 {
		opts.IdleConnTimeout = 60 * time.Second
	}
	if opts.MaxTransports <= 0 {
		opts.MaxTransports = 256
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Bergamot-Monitoring/1.0"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Script == nil {
		opts.Script = script.New(script.Options{Logger: opts.Logger})
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{opts: opts, log: log, transports: map[transportKey]*list.Element{}, lru: list.New()}
}

// Name returns "http".
func (e *Engine) Name() string { return "http" }

// Close closes every pooled idle connection. The engine stays usable.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, el := range e.transports {
		el.Value.(*pooled).t.CloseIdleConnections()
	}
	e.transports = map[transportKey]*list.Element{}
	e.lru.Init()
}

// transport returns the pooled transport for key, building it if needed.
func (e *Engine) transport(key transportKey) (*nethttp.Transport, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if el, ok := e.transports[key]; ok {
		e.lru.MoveToFront(el)
		return el.Value.(*pooled).t, nil
	}
	t, err := e.newTransport(key)
	if err != nil {
		return nil, err
	}
	e.transports[key] = e.lru.PushFront(&pooled{key: key, t: t})
	for e.lru.Len() > e.opts.MaxTransports {
		old := e.lru.Remove(e.lru.Back()).(*pooled)
		delete(e.transports, old.key)
		old.t.CloseIdleConnections()
	}
	return t, nil
}

func (e *Engine) newTransport(key transportKey) (*nethttp.Transport, error) {
	t := &nethttp.Transport{
		DialContext:         key.net.Dialer(&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: e.opts.MaxIdleConnsPerHost,
		MaxIdleConns:        e.opts.MaxIdleConnsPerHost * 64,
		IdleConnTimeout:     e.opts.IdleConnTimeout,
		ForceAttemptHTTP2:   key.version == "" || key.version == "2" || key.version == "2.0",
	}
	if !t.ForceAttemptHTTP2 {
		t.TLSNextProto = map[string]func(string, *tls.Conn) nethttp.RoundTripper{}
	}
	if key.proxy != "" {
		pu, err := url.Parse(key.proxy)
		if err != nil || pu.Host == "" {
			return nil, fmt.Errorf("parameter %q: %q is not a proxy URL", "proxy", key.proxy)
		}
		t.Proxy = nethttp.ProxyURL(pu)
	}
	if key.tls != (netcheck.TLSSettings{}) {
		cfg, err := key.tls.Config()
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = cfg
	}
	return t, nil
}

// CheckPolicy implements checks.PolicyChecker: under hosted the URL's host,
// the host and proxy must not be loopback or private literals, and no TLS
// file of the worker may be named. Names are checked on the resolved
// address of every connection, redirects included.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	if !p.Hosted() {
		return nil
	}
	if err := checks.CheckWorkerFiles(p, req, netcheck.TLSFileParams...); err != nil {
		return err
	}
	u, uerr := targetURL(req)
	if uerr != nil {
		return nil //nolint:nilerr // not a policy matter: parseSpec reports it when the check runs
	}
	if err := p.Network().CheckHost(u.Hostname()); err != nil {
		return &checks.PolicyError{Rule: "outbound connections only to public addresses", Detail: err.Error()}
	}
	for _, name := range []string{"proxy"} {
		raw := strings.TrimSpace(req.Param(name, ""))
		if !strings.Contains(raw, "://") {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			continue // parseSpec reports it
		}
		if err := p.Network().CheckHost(u.Hostname()); err != nil {
			return &checks.PolicyError{Rule: "outbound connections only to public addresses", Detail: fmt.Sprintf("parameter %q: %v", name, err)}
		}
	}
	return nil
}

// Execute runs one check.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	var res *checks.Result
	switch req.Executor {
	case "", "http":
		res = e.checkHTTP(ctx, req, start)
	case "certificate":
		res = e.checkCertificate(ctx, req)
	case "script":
		res = e.checkScript(ctx, req)
	default:
		res = &checks.Result{Status: checks.StatusError,
			Output: fmt.Sprintf("the http engine has no %q executor (have: http, certificate, script)", req.Executor)}
	}
	res.Started, res.Runtime = start, time.Since(start)
	e.log.DebugContext(ctx, "http check", slog.String("check", req.CheckID), slog.String("executor", req.Executor),
		slog.String("status", res.Status.String()), slog.Duration("runtime", res.Runtime))
	return res, nil
}

func misconfigured(err error) *checks.Result {
	return &checks.Result{Status: checks.StatusError, Output: "HTTP check misconfigured: " + err.Error()}
}
