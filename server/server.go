// Package server is Bergamot's one HTTP listener: the dashboard, GraphQL
// (HTTP and WebSocket), the REST facade, health, readiness and metrics.
package server

import (
	"bufio"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

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
	return logRequests(o.Logger, o.Metrics, mux)
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

func logRequests(log *slog.Logger, m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		next.ServeHTTP(sw, r)
		if m != nil {
			m.requests.Add(1)
		}
		if sw.code >= 500 {
			log.WarnContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.code), slog.Duration("took", time.Since(start)))
		}
	})
}

// Metrics are Bergamot's own counters, in Prometheus text format. They
// describe every site's load, so they are not public: with Token set a
// scraper must send it as a bearer token; without, only loopback clients
// are answered.
type Metrics struct {
	Pool *pgxpool.Pool
	// Token, when set, is the bearer token /metrics requires
	// (BERGAMOT_METRICS_TOKEN).
	Token    string
	requests atomic.Int64
}

// allowed reports whether r may read the metrics, and why not.
func (m *Metrics) allowed(r *http.Request) (bool, string) {
	if m.Token != "" {
		got := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if subtle.ConstantTimeCompare([]byte(got), []byte(m.Token)) == 1 {
			return true, ""
		}
		return false, "send the metrics token: Authorization: Bearer <BERGAMOT_METRICS_TOKEN>"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		return true, ""
	}
	return false, "metrics are served to loopback clients only; set BERGAMOT_METRICS_TOKEN on the server and send it as a bearer token to scrape from elsewhere"
}

// ServeHTTP writes the metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ok, why := m.allowed(r); !ok {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		textf(w, "%s\n", why)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	textf(w, "# HELP bergamot_http_requests_total HTTP requests served.\n# TYPE bergamot_http_requests_total counter\nbergamot_http_requests_total %d\n", m.requests.Load())
	if m.Pool == nil {
		return
	}
	st := m.Pool.Stat()
	textf(w, "# HELP bergamot_db_connections Database connections in the pool.\n# TYPE bergamot_db_connections gauge\nbergamot_db_connections{state=\"acquired\"} %d\nbergamot_db_connections{state=\"idle\"} %d\n",
		st.AcquiredConns(), st.IdleConns())
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var due, inbox, workers int64
	due, inbox, workers, _ = store.PipelineGauges(ctx, m.Pool)
	textf(w, "# HELP bergamot_checks_due Checks due and not yet queued.\n# TYPE bergamot_checks_due gauge\nbergamot_checks_due %d\n", due)
	textf(w, "# HELP bergamot_results_pending Results waiting to be processed.\n# TYPE bergamot_results_pending gauge\nbergamot_results_pending %d\n", inbox)
	textf(w, "# HELP bergamot_workers_alive Workers seen in the last 30 seconds.\n# TYPE bergamot_workers_alive gauge\nbergamot_workers_alive %d\n", workers)
}
