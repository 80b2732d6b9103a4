package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
)

// errTooManyRedirects stops the client after max_redirects.
var errTooManyRedirects = errors.New("too many redirects")

func (e *Engine) checkHTTP(ctx context.Context, req *checks.Request, start time.Time) *checks.Result {
	s, err := parseSpec(req, false)
	if err != nil {
		return misconfigured(err)
	}
	t, err := e.transport(s.key)
	if err != nil {
		return misconfigured(err)
	}
	hreq, err := e.newRequest(ctx, s)
	if err != nil {
		return misconfigured(err)
	}
	client := &nethttp.Client{Transport: t, CheckRedirect: s.redirectPolicy}
	if np := s.key.net; np != nil {
		client.CheckRedirect = func(r *nethttp.Request, via []*nethttp.Request) error {
			if err := np.CheckRedirect(r, via); err != nil {
				return err
			}
			return s.redirectPolicy(r, via)
		}
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return e.requestFailed(ctx, s, err, time.Since(start))
	}
	defer resp.Body.Close()
	body, size, readErr := readBody(resp.Body, e.opts.MaxBodyBytes)
	elapsed := time.Since(start)
	if readErr != nil {
		st := netcheck.FailStatus(ctx, readErr)
		return &checks.Result{Status: st, Output: fmt.Sprintf("HTTP %s: %s - reading the body failed after %d bytes in %s s: %s",
			st, resp.Status, size, netcheck.Seconds(elapsed), netcheck.Describe(ctx, readErr))}
	}
	return e.evaluate(s, resp, body, size, elapsed)
}

func (e *Engine) newRequest(ctx context.Context, s *spec) (*nethttp.Request, error) {
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	hreq, err := nethttp.NewRequestWithContext(ctx, s.method, s.url.String(), body)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", "method", err)
	}
	if s.hostHeader != "" {
		hreq.Host = s.hostHeader
	}
	hreq.Header.Set("User-Agent", e.opts.UserAgent)
	for _, h := range s.headers {
		if strings.EqualFold(h[0], "Host") {
			hreq.Host = h[1]
			continue
		}
		hreq.Header.Add(h[0], h[1])
	}
	if s.username != "" || s.password != "" {
		hreq.SetBasicAuth(s.username, s.password)
	}
	return hreq, nil
}

func (s *spec) redirectPolicy(_ *nethttp.Request, via []*nethttp.Request) error {
	if !s.follow {
		return nethttp.ErrUseLastResponse
	}
	if len(via) > s.maxRedirects {
		return fmt.Errorf("%w (more than %d)", errTooManyRedirects, s.maxRedirects)
	}
	return nil
}

// requestFailed explains a request that got no response.
func (e *Engine) requestFailed(ctx context.Context, s *spec, err error, elapsed time.Duration) *checks.Result {
	st := netcheck.FailStatus(ctx, err)
	if errors.Is(err, errTooManyRedirects) {
		return &checks.Result{Status: checks.StatusCritical,
			Output: fmt.Sprintf("HTTP CRITICAL: stopped after %d redirects from %s", s.maxRedirects, s.url.Redacted())}
	}
	if msg, ok := netcheck.TLSError(err, s.serverName, e.opts.Now()); ok {
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("CRITICAL - %s (%s)", msg, s.url.Host)}
	}
	if st == checks.StatusTimeout {
		return &checks.Result{Status: st, Output: fmt.Sprintf("TIMEOUT - no response from %s within %s", s.url.Host, netcheck.Millis(elapsed))}
	}
	return &checks.Result{Status: st, Output: fmt.Sprintf("%s - %s to %s after %s",
		st, netcheck.Describe(ctx, err), s.url.Host, netcheck.Millis(elapsed))}
}

// readBody keeps the first max bytes and counts them all.
func readBody(r io.Reader, max int64) ([]byte, int64, error) {
	body, err := io.ReadAll(io.LimitReader(r, max))
	size := int64(len(body))
	if err != nil {
		return body, size, err
	}
	rest, err := io.Copy(io.Discard, r)
	return body, size + rest, err
}

// evaluate judges a response against the spec.
func (e *Engine) evaluate(s *spec, resp *nethttp.Response, body []byte, size int64, elapsed time.Duration) *checks.Result {
	status := checks.StatusOK
	var problems []string
	fail := func(st checks.Status, msg string) {
		status = netcheck.Worst(status, st)
		problems = append(problems, msg)
	}
	if !s.statuses.has(resp.StatusCode) {
		fail(checks.StatusCritical, fmt.Sprintf("status %d is not one of %s", resp.StatusCode, s.statusText))
	}
	if st := s.times.Evaluate(float64(elapsed) / float64(time.Millisecond)); st != checks.StatusOK {
		fail(st, "response took "+netcheck.Millis(elapsed))
	}
	if s.length != nil && s.length.Alerts(float64(size)) {
		fail(checks.StatusCritical, fmt.Sprintf("body is %d bytes, expected %s", size, s.length.Raw))
	}
	if s.contains != "" && !strings.Contains(string(body), s.contains) {
		fail(checks.StatusCritical, fmt.Sprintf("body does not contain %q", s.contains))
	}
	if s.regex != nil && !s.regex.Match(body) {
		fail(checks.StatusCritical, fmt.Sprintf("body does not match /%s/", s.regex))
	}
	if s.jsonPath != "" {
		if msg := checkJSON(body, s.jsonPath, s.jsonValue, s.hasJSONValue); msg != "" {
			fail(checks.StatusCritical, msg)
		}
	}
	var extra string
	if resp.TLS != nil && (s.certWarn > 0 || s.certCrit > 0) && len(resp.TLS.PeerCertificates) > 0 {
		st, msg := netcheck.CertExpiry(resp.TLS.PeerCertificates[0], s.serverName, s.certWarn, s.certCrit, e.opts.Now())
		if st != checks.StatusOK {
			fail(st, msg)
		} else {
			extra = ", " + msg
		}
	}
	out := fmt.Sprintf("HTTP %s: %s %s - %d bytes in %s s", status, resp.Proto, resp.Status, size, netcheck.Seconds(elapsed))
	if len(problems) > 0 {
		out += " - " + strings.Join(problems, ", ")
	}
	pt := s.times.Scale(0.001)
	return &checks.Result{
		Status: status,
		Output: out + extra,
		Perfdata: []checks.Perfdata{
			netcheck.Perf("time", elapsed.Seconds(), "s", pt.WarnRaw(), pt.CritRaw(), netcheck.Zero()),
			netcheck.Perf("size", float64(size), "B", "", "", netcheck.Zero()),
		},
	}
}
