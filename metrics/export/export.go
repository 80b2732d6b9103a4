// Package export ships a site's performance data to the tools its users
// already run: Prometheus remote write (v1: snappy-compressed
// prometheus.WriteRequest protobuf) and OTLP/HTTP metrics (protobuf). It
// is the one owner of those two wire formats in Bergamot: it encodes a
// batch of points, posts it with the target's authentication, and says
// whether a failure is worth retrying. It knows nothing of the store: the
// shipper (jobs.Exporter) reads the outbox and calls it
// (docs/metrics-export.md).
package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// MetricName is the series name every exported point carries (OTLP:
// "bergamot.perfdata"), as on the per-site scrape endpoint; host, check,
// label and uom tell the points apart.
const MetricName = "bergamot_perfdata"

// Point is one performance data value of one check.
type Point struct {
	// Host is the host's name (a cluster's for clusters and resources);
	// Service the service's, trap's or resource's name ("" for the host
	// check itself).
	Host, Service string
	// Label is the perfdata label ("rta", "/var used"), Unit its unit of
	// measure as written ("ms", "%", "B", "" for none).
	Label, Unit string
	At          time.Time
	Value       float64
	// Name, when set, makes the point one of Bergamot's own series of the
	// site (bergamot_site_checks, ...: docs/metrics-export.md) instead of
	// perfdata: Name is the series' name and Attrs its labels; Host,
	// Service, Label and Unit are empty then.
	Name  string
	Attrs map[string]string
}

// metricName is the point's series name: Name, or MetricName for
// perfdata.
func (p Point) metricName() string {
	if p.Name != "" {
		return p.Name
	}
	return MetricName
}

// labels returns the point's label pairs as the per-site scrape endpoint
// names them (docs/api.md): host, check (the service's name, or the host's
// own for a host check), label and uom, sorted by name, an empty uom left
// out, values made valid UTF-8.
func (p Point) labels() [][2]string {
	if p.Name != "" {
		out := make([][2]string, 0, len(p.Attrs))
		for k, v := range p.Attrs {
			out = append(out, [2]string{k, strings.ToValidUTF8(v, "\uFFFD")})
		}
		sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
		return out
	}
	check := p.Service
	if check == "" {
		check = p.Host
	}
	out := [][2]string{{"check", check}, {"host", p.Host}, {"label", p.Label}}
	if p.Unit != "" {
		out = append(out, [2]string{"uom", p.Unit})
	}
	for i := range out {
		out[i][1] = strings.ToValidUTF8(out[i][1], "\uFFFD")
	}
	return out
}

// seriesKey identifies a point's series.
func (p Point) seriesKey() string {
	if p.Name != "" {
		k := p.Name
		for _, l := range p.labels() {
			k += "\x00" + l[0] + "\x00" + l[1]
		}
		return "\x01" + k
	}
	return p.Host + "\x00" + p.Service + "\x00" + p.Label + "\x00" + p.Unit
}

// Protocol encodes a batch of points as one HTTP request body.
type Protocol interface {
	// Name is the protocol's name in <metrics-export protocol="...">.
	Name() string
	// Encode returns the request body and the headers it needs.
	Encode(points []Point) (body []byte, header http.Header, err error)
}

// Registry maps protocol names to protocols.
type Registry struct {
	mu  sync.RWMutex
	byN map[string]Protocol
}

// NewRegistry returns a registry holding ps.
func NewRegistry(ps ...Protocol) *Registry {
	r := &Registry{byN: map[string]Protocol{}}
	for _, p := range ps {
		r.Register(p)
	}
	return r
}

// DefaultRegistry holds remote write and OTLP.
func DefaultRegistry() *Registry { return NewRegistry(RemoteWrite{}, OTLP{}) }

// Register adds p; a second protocol of the same name is a wiring mistake
// and panics.
func (r *Registry) Register(p Protocol) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byN[p.Name()]; dup {
		panic(fmt.Sprintf("export: protocol %q registered twice", p.Name()))
	}
	r.byN[p.Name()] = p
}

// Lookup returns the protocol named name.
func (r *Registry) Lookup(name string) (Protocol, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.byN[name]
	return p, ok
}

// Names lists the registered protocols, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.byN))
	for n := range r.byN {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Target is where a batch goes and how it authenticates.
type Target struct {
	URL string
	// Auth is "none", "bearer" (Password is the token) or "basic".
	Auth               string
	Username, Password string
}

// SendError is a failed delivery: the receiver's status (0 when it was
// not reached) and whether sending the same batch again may succeed.
type SendError struct {
	Status    int
	Retryable bool
	Err       error
}

// Error implements error.
func (e *SendError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("receiver answered %d: %v", e.Status, e.Err)
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *SendError) Unwrap() error { return e.Err }

// rejected reports whether a status says the batch itself is bad (400
// malformed or out-of-order samples, 409, 413 too large, 422): sending it
// again cannot succeed. Every other failure (401/403/404: the target's
// configuration; 429; 5xx) is retried, keeping the points, because fixing
// the target or waiting makes it succeed.
func rejected(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// Retryable reports whether err is worth retrying: network errors,
// timeouts, authentication and server errors are; a rejection of the
// batch itself (400, 409, 413, 422) is not.
func Retryable(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return se.Retryable
	}
	return err != nil
}

// Sender posts encoded batches.
type Sender struct {
	// Client makes the requests; under the hosted policy it is the
	// address policy's client (netpolicy.Policy.Client), so that a site
	// cannot export into the operator's network. Nil: a plain client.
	Client *http.Client
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// Send encodes points with p and posts them to t.
func (s *Sender) Send(ctx context.Context, p Protocol, t Target, points []Point) error {
	body, header, err := p.Encode(points)
	if err != nil {
		return &SendError{Err: fmt.Errorf("encoding %s batch: %w", p.Name(), err)}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return &SendError{Err: fmt.Errorf("export url: %w", err)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if s.UserAgent != "" {
		req.Header.Set("User-Agent", s.UserAgent)
	}
	switch t.Auth {
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+t.Password)
	case "basic":
		req.SetBasicAuth(t.Username, t.Password)
	}
	client := s.Client
	if client == nil {
		client = &http.Client{}
	}
	resp, err := client.Do(req)
	if err != nil {
		return &SendError{Retryable: true, Err: err}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	text := strings.TrimSpace(string(msg))
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	return &SendError{Status: resp.StatusCode, Retryable: !rejected(resp.StatusCode), Err: errors.New(strings.ToValidUTF8(text, "?"))}
}

func unixNano(n uint64) time.Time { return time.Unix(0, int64(n)).UTC() } //nolint:gosec // bounded by the caller
