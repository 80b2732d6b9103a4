package script

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dop251/goja"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
)

// metadataAddrs are cloud instance-metadata endpoints outside link-local space.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6
}

// DefaultAllowAddress is the default network policy for scripts: TCP only,
// never to link-local (169.254.0.0/16, fe80::/10) or cloud metadata addresses.
func DefaultAllowAddress(network, address string) error {
	if !strings.HasPrefix(network, "tcp") {
		return fmt.Errorf("network %q is not allowed to scripts", network)
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("bad address %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("address %q is not an IP address", address)
	}
	ip = ip.Unmap()
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
		return fmt.Errorf("address %s is link-local, which scripts may not reach", ip)
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return fmt.Errorf("address %s is a cloud metadata endpoint, which scripts may not reach", ip)
		}
	}
	return nil
}

// dialer returns a dialer that applies the engine's network policy, and
// the run's execution policy (hosted: public addresses only), to the
// resolved address of every connection.
func (r *Run) dialer() *net.Dialer {
	d := &net.Dialer{Control: func(network, address string, _ syscall.RawConn) error {
		return r.engine.opts.AllowAddress(network, address)
	}}
	if r.Request != nil {
		d = r.Request.Policy.Network().Dialer(d)
	}
	return d
}

// CheckPolicy implements checks.PolicyChecker: under hosted a script's
// target host must not be a loopback or private literal; every connection
// the script opens is checked on its resolved address while it runs.
func (e *Engine) CheckPolicy(_ context.Context, p *checks.Policy, req *checks.Request) error {
	return checks.CheckHostParams(p, req)
}

// SetHTTPTLSConfig sets the base TLS configuration of the script's https
// requests (trusted roots, client certificate, server name); a request's
// permitInvalidCerts() still turns verification off for that request. Call
// it from an Extension, before the script runs; nil means system defaults.
func (r *Run) SetHTTPTLSConfig(cfg *tls.Config) { r.tlsBase = cfg }

// httpClient is the run's HTTP client for verified or unverified TLS
// (each created on first use, closed with the run).
func (r *Run) httpClient(insecure bool) *http.Client {
	if c, ok := r.clients[insecure]; ok {
		return c
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS10}
	if r.tlsBase != nil {
		cfg = r.tlsBase.Clone()
	}
	if insecure {
		cfg.InsecureSkipVerify = true //nolint:gosec // the script asked for it with permitInvalidCerts()
	}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would bypass the address policy
		DialContext:         r.dialer().DialContext,
		TLSClientConfig:     cfg,
		MaxIdleConnsPerHost: 2,
	}
	c := &http.Client{Transport: tr}
	if r.clients == nil {
		r.clients = map[bool]*http.Client{}
	}
	r.clients[insecure] = c
	return c
}

// httpRequest is the state of one http.check() builder.
type httpRequest struct {
	host, method, path, user, pass, body string
	port                                 int
	ssl, insecure, auth                  bool
	timeout                              time.Duration
	headers                              [][2]string
}

// httpObject is the `http` global: http.check() returns a request builder.
func (r *Run) httpObject(ctx context.Context) *goja.Object {
	return r.object(map[string]jsFunc{
		"check": func(goja.FunctionCall) goja.Value { return r.httpBuilder(ctx, &httpRequest{method: "GET", path: "/"}) },
	})
}

// httpBuilder returns the chainable builder for req.
func (r *Run) httpBuilder(ctx context.Context, req *httpRequest) *goja.Object {
	var o *goja.Object
	set := func(f func(c goja.FunctionCall)) jsFunc {
		return func(c goja.FunctionCall) goja.Value { f(c); return o }
	}
	method := func(m string) jsFunc {
		return set(func(c goja.FunctionCall) {
			req.method = m
			if len(c.Arguments) > 0 {
				req.path = c.Argument(0).String()
			}
		})
	}
	o = r.object(map[string]jsFunc{
		"connect": set(func(c goja.FunctionCall) { req.host = c.Argument(0).String() }),
		"host":    set(func(c goja.FunctionCall) { req.host = c.Argument(0).String() }),
		"port":    set(func(c goja.FunctionCall) { req.port = int(c.Argument(0).ToInteger()) }),
		"ssl": set(func(c goja.FunctionCall) {
			req.ssl = len(c.Arguments) == 0 || c.Argument(0).ToBoolean()
		}),
		"https":              set(func(goja.FunctionCall) { req.ssl = true }),
		"http":               set(func(goja.FunctionCall) { req.ssl = false }),
		"permitInvalidCerts": set(func(goja.FunctionCall) { req.insecure = true }),
		"timeout": set(func(c goja.FunctionCall) {
			req.timeout = time.Duration(c.Argument(0).ToInteger()) * time.Millisecond
		}),
		"get":    method("GET"),
		"head":   method("HEAD"),
		"post":   method("POST"),
		"put":    method("PUT"),
		"delete": method("DELETE"),
		"path":   set(func(c goja.FunctionCall) { req.path = c.Argument(0).String() }),
		"body":   set(func(c goja.FunctionCall) { req.body = c.Argument(0).String() }),
		"header": set(func(c goja.FunctionCall) {
			req.headers = append(req.headers, [2]string{c.Argument(0).String(), c.Argument(1).String()})
		}),
		"basicAuth": set(func(c goja.FunctionCall) {
			req.user, req.pass, req.auth = c.Argument(0).String(), c.Argument(1).String(), true
		}),
		"execute": func(c goja.FunctionCall) goja.Value { return r.execute(ctx, req, c.Argument(0), c.Argument(1)) },
	})
	return o
}

// execute performs req and hands the outcome to the script. Bergamot's
// scripts are written for an asynchronous API, execute(onResponse, onError);
// here the request runs while the script waits, and the callback is called
// before execute returns. Without onResponse, execute returns the response
// (synchronous style); without onError, a failure is thrown. A request cut
// short by the check's deadline ends the run with TIMEOUT.
func (r *Run) execute(ctx context.Context, req *httpRequest, onResponse, onError goja.Value) goja.Value {
	resp, err := r.doHTTP(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			r.VM.Interrupt(&interruption{status: checks.StatusTimeout,
				msg: "script interrupted at the check's deadline: " + err.Error()})
			return goja.Undefined()
		}
		if _, ok := goja.AssertFunction(onError); ok {
			return r.Call(onError, r.VM.NewGoError(err))
		}
		r.Throw(err)
	}
	if _, ok := goja.AssertFunction(onResponse); !ok {
		return resp
	}
	return r.Call(onResponse, resp)
}

// requestError is a failed http.check() request, described for people.
type requestError struct {
	msg string
	err error
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.err }

// doHTTP performs req under ctx and returns the response object for the script.
func (r *Run) doHTTP(ctx context.Context, req *httpRequest) (*goja.Object, error) {
	if req.host == "" {
		return nil, fmt.Errorf("http.check(): no host given (use .connect(host))")
	}
	scheme, port := "http", req.port
	if req.ssl {
		scheme = "https"
	}
	if port == 0 {
		port = map[bool]int{false: 80, true: 443}[req.ssl]
	}
	path := req.path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := scheme + "://" + net.JoinHostPort(req.host, strconv.Itoa(port)) + path
	rctx := ctx
	if req.timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, req.timeout)
		defer cancel()
	}
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(rctx, req.method, url, body)
	if err != nil {
		return nil, fmt.Errorf("http.check(): %w", err)
	}
	for _, h := range req.headers {
		if strings.EqualFold(h[0], "Host") {
			hr.Host = h[1]
			continue
		}
		hr.Header.Add(h[0], h[1])
	}
	if req.auth {
		hr.SetBasicAuth(req.user, req.pass)
	}
	start := time.Now()
	resp, err := r.httpClient(req.insecure).Do(hr)
	if err != nil {
		return nil, r.describe(rctx, req, url, err)
	}
	defer resp.Body.Close()
	limit := r.engine.opts.MaxResponseBytes
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &requestError{msg: fmt.Sprintf("http.check(): %s %s: reading the response failed: %s",
			req.method, url, netcheck.Describe(rctx, err)), err: err}
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("http.check(): response from %s is larger than %d bytes", url, limit)
	}
	return r.responseObject(resp, string(data), time.Since(start)), nil
}

// describe explains a request that got no response: "connection refused",
// "timed out", or what is wrong with the server's certificate.
func (r *Run) describe(ctx context.Context, req *httpRequest, url string, err error) error {
	why := netcheck.Describe(ctx, err)
	if msg, ok := netcheck.TLSError(err, req.host, time.Now()); ok {
		why = msg
	} else if req.timeout > 0 && ctx.Err() != nil {
		why = fmt.Sprintf("no response within %d ms", req.timeout.Milliseconds())
	}
	return &requestError{msg: fmt.Sprintf("http.check(): %s %s: %s", req.method, url, why), err: err}
}

// responseObject is what the script's onResponse callback receives.
func (r *Run) responseObject(resp *http.Response, content string, took time.Duration) *goja.Object {
	status := func(goja.FunctionCall) goja.Value { return r.VM.ToValue(resp.StatusCode) }
	body := func(goja.FunctionCall) goja.Value { return r.VM.ToValue(content) }
	runtime := func(goja.FunctionCall) goja.Value { return r.VM.ToValue(float64(took) / float64(time.Millisecond)) }
	return r.object(map[string]jsFunc{
		"status":     status,
		"getStatus":  status,
		"content":    body,
		"getContent": body,
		"runtime":    runtime,
		"getRuntime": runtime,
		"header": func(c goja.FunctionCall) goja.Value {
			return r.VM.ToValue(resp.Header.Get(c.Argument(0).String()))
		},
	})
}
