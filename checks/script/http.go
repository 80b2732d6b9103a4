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

	"github.com/dop251/goja"
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

// dialer returns a dialer that applies the engine's network policy to the
// resolved address of every connection.
func (e *Engine) dialer() *net.Dialer {
	return &net.Dialer{Control: func(network, address string, _ syscall.RawConn) error {
		return e.opts.AllowAddress(network, address)
	}}
}

// httpClient is the run's HTTP client (created on first use).
func (r *Run) httpClient(insecure bool) *http.Client {
	if r.client == nil {
		tr := &http.Transport{
			Proxy:               nil, // a proxy would bypass the address policy
			DialContext:         r.engine.dialer().DialContext,
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // the command's permit_invalid_certs asks for it
			MaxIdleConnsPerHost: 2,
		}
		r.client = &http.Client{Transport: tr}
	}
	return r.client
}

// httpRequest is the state of one http.check() builder.
type httpRequest struct {
	host, method, path, user, pass, body string
	port                                 int
	ssl, insecure, auth                  bool
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
		"permitInvalidCerts": set(func(goja.FunctionCall) { req.insecure = true }),
		"get":                method("GET"),
		"head":               method("HEAD"),
		"post":               method("POST"),
		"put":                method("PUT"),
		"delete":             method("DELETE"),
		"path":               set(func(c goja.FunctionCall) { req.path = c.Argument(0).String() }),
		"body":               set(func(c goja.FunctionCall) { req.body = c.Argument(0).String() }),
		"header": set(func(c goja.FunctionCall) {
			req.headers = append(req.headers, [2]string{c.Argument(0).String(), c.Argument(1).String()})
		}),
		"basicAuth": set(func(c goja.FunctionCall) {
			req.user, req.pass, req.auth = c.Argument(0).String(), c.Argument(1).String(), true
		}),
		"execute": func(c goja.FunctionCall) goja.Value {
			resp, err := r.doHTTP(ctx, req)
			if err != nil {
				if f, ok := goja.AssertFunction(c.Argument(1)); ok && f != nil {
					return r.Call(c.Argument(1), r.VM.NewGoError(err))
				}
				r.Throw(err)
			}
			return r.Call(c.Argument(0), resp)
		},
	})
	return o
}

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
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, url, body)
	if err != nil {
		return nil, fmt.Errorf("http.check(): %w", err)
	}
	for _, h := range req.headers {
		hr.Header.Add(h[0], h[1])
	}
	if req.auth {
		hr.SetBasicAuth(req.user, req.pass)
	}
	resp, err := r.httpClient(req.insecure).Do(hr)
	if err != nil {
		return nil, fmt.Errorf("http.check(): %w", err)
	}
	defer resp.Body.Close()
	limit := r.engine.opts.MaxResponseBytes
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("http.check(): reading %s: %w", url, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("http.check(): response from %s is larger than %d bytes", url, limit)
	}
	content := string(data)
	return r.object(map[string]jsFunc{
		"status":     func(goja.FunctionCall) goja.Value { return r.VM.ToValue(resp.StatusCode) },
		"getStatus":  func(goja.FunctionCall) goja.Value { return r.VM.ToValue(resp.StatusCode) },
		"content":    func(goja.FunctionCall) goja.Value { return r.VM.ToValue(content) },
		"getContent": func(goja.FunctionCall) goja.Value { return r.VM.ToValue(content) },
		"header": func(c goja.FunctionCall) goja.Value {
			return r.VM.ToValue(resp.Header.Get(c.Argument(0).String()))
		},
	}), nil
}
