// Package server is Bergamot's one HTTP listener: the dashboard, GraphQL
// (HTTP and WebSocket), the REST facade, health, readiness and metrics.
package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/migrations"
	"github.com/bergamot-monitoring/bergamot/store"
)

// Options are what the server is built from.
type Options struct {
	Pool     *pgxpool.Pool
	Logger   *slog.Logger
	GraphQL  http.Handler // /graphql
	REST     http.Handler // /api/v1/ and /v1/actions/
	Frontend http.Handler // /
	Worker   http.Handler // /worker: the remote workers' gateway
	Metrics  *Metrics
	// TrustedProxies may tell the client's address and scheme
	// (X-Forwarded-For, X-Forwarded-Proto); everyone else's are dropped.
	TrustedProxies []netip.Prefix
	// CSRF, when set, guards the APIs' cookie-authenticated state changes.
	CSRF *CSRF
	// StatusPages, when set, serves the public status pages
	// (/status/<site>/<page> and pages' own host names).
	StatusPages StatusPages
}

// StatusPages is the public status pages' handler (package statuspage).
type StatusPages interface {
	// Register adds the /status/ routes.
	Register(mux *http.ServeMux)
	// Hosts serves the pages claimed by host name, the rest through next.
	Hosts(next http.Handler) http.Handler
}

// textf writes (part of) a plain-text response. An error means the client
// went away: there is no one left to tell.
func textf(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format, args...)
}

// New builds the HTTP handler.
func New(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		textf(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		v, current, err := migrations.Status(ctx, o.Pool)
		w.Header().Set("Content-Type", "text/plain")
		switch {
		case err != nil:
			w.WriteHeader(http.StatusServiceUnavailable)
			textf(w, "database not reachable: %v\n", err)
		case !current:
			w.WriteHeader(http.StatusServiceUnavailable)
			textf(w, "schema version %d, want %d: run bergamot migrate\n", v, migrations.Latest())
		default:
			textf(w, "ready (schema %d)\n", v)
		}
	})
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	if o.GraphQL != nil {
		mux.Handle("/graphql", o.GraphQL)
	}
	if o.REST != nil {
		mux.Handle("/api/v1/", o.REST)
		mux.Handle("/v1/actions/", o.REST)
	}
	if o.Worker != nil {
		mux.Handle("GET /worker", o.Worker)
	}
	if o.Frontend != nil {
		mux.Handle("/", o.Frontend)
	} else {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			textf(w, "Bergamot is running. The dashboard was not built into this binary: run make build.\n")
		})
	}
	var root http.Handler = mux
	if o.StatusPages != nil {
		o.StatusPages.Register(mux)
		root = o.StatusPages.Hosts(mux)
	}
	h := logRequests(o.Logger, root)
	if o.CSRF != nil {
		h = o.CSRF.Wrap(h)
	}
	return withTrustedProxies(o.TrustedProxies, withHSTS(h))
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(c int) { s.code = c; s.ResponseWriter.WriteHeader(c) }

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack hands the connection over for WebSocket upgrades.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("response writer cannot hijack the connection")
	}
	s.code = http.StatusSwitchingProtocols
	return h.Hijack()
}

// Flush passes streaming responses through.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		next.ServeHTTP(sw, r)
		metrics.HTTPRequest()
		if sw.code >= 500 {
			log.WarnContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.code), slog.Duration("took", time.Since(start)))
		}
	})
}

// Metrics serves /metrics: every series of package metrics, in Prometheus
// text format, plus what this serve node reads from the database when
// scraped (queue depth per zone, checks due, results pending, live
// workers). The series describe every site's load, so they are not
// public: with Token set a scraper must send it as a bearer token;
// without, only loopback clients are answered.
type Metrics struct {
	Pool *pgxpool.Pool
	// Token, when set, is the bearer token /metrics requires
	// (BERGAMOT_METRICS_TOKEN).
	Token string

	once    sync.Once
	handler http.Handler
}

// ServeHTTP writes the metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.once.Do(func() {
		if m.Pool != nil {
			metrics.Pool(m.Pool)
			metrics.Backlogs(m.backlog)
		}
		m.handler = metrics.Handler(m.Token)
	})
	m.handler.ServeHTTP(w, r)
}

// backlog reads the database side of the metrics.
func (m *Metrics) backlog(ctx context.Context) (*metrics.Backlog, error) {
	b := &metrics.Backlog{QueueDepth: map[string]int64{}}
	var err error
	b.ChecksDue, b.Results, b.WorkersAlive, err = store.PipelineGauges(ctx, m.Pool)
	if err != nil {
		return nil, fmt.Errorf("reading the backlog: %w", err)
	}
	// Every operator zone and every queue with check jobs, at zero when
	// nothing waits, so that the series exists for alerts and graphs.
	rows, err := m.Pool.Query(ctx, `SELECT 'zone_' || name, 0 FROM shared_zones
		UNION ALL SELECT queue, count(*) FILTER (WHERE state IN ('available', 'scheduled', 'retryable')) FROM river_job
		WHERE kind = 'check' GROUP BY queue`)
	if err != nil {
		return nil, fmt.Errorf("reading queue depths: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var q string
		var n int64
		if err := rows.Scan(&q, &n); err != nil {
			return nil, err
		}
		b.QueueDepth[strings.TrimPrefix(q, "zone_")] += n
	}
	return b, rows.Err()
}
