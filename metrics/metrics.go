// Package metrics owns Bergamot's own Prometheus series: their names,
// help texts and buckets, one place for every role. The pipeline's
// packages record into them through the small functions below; each role
// serves them with Handler (serve on /metrics of its listener, worker and
// notifier on --metrics-listen). docs/operations.md lists every series and
// which roles expose it; TestDocumentedSeries in internal/rig fails when
// one of them disappears.
package metrics

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds every series of this process. Roles that share a process
// (bergamot run) share it.
var Registry = prometheus.NewRegistry()

// Outcomes of a notification delivery attempt (label outcome of
// bergamot_notifications_total).
const (
	OutcomeSent   = "sent"
	OutcomeRetry  = "retry"
	OutcomeFailed = "failed"
)

var (
	checksExecuted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bergamot_checks_executed_total",
		Help: "Checks run by this worker, by engine and result status.",
	}, []string{"engine", "status"})
	checkDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bergamot_check_duration_seconds",
		Help:    "How long one check ran on this worker, by engine.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"engine"})
	lateness = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bergamot_schedule_lateness_seconds",
		Help:    "How long after its scheduled slot a check started running.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 120},
	})
	handbackBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bergamot_handback_batch_size",
		Help:    "Results handed back to PostgreSQL in one transaction by a direct worker.",
		Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500},
	})
	handbackLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bergamot_handback_seconds",
		Help:    "From a check's end to its result committed in the result inbox (direct workers).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	})
	resultsProcessed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bergamot_results_processed_total",
		Help: "Results applied to check state by this serve node's result processor.",
	})
	resultBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bergamot_result_batch_size",
		Help:    "Results applied in one transaction by the result processor.",
		Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500},
	})
	liveCoalesced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bergamot_live_updates_coalesced_total",
		Help: "Live updates merged into a slow subscriber's backlog (by check) instead of queued one by one; none are dropped.",
	})
	liveResyncs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bergamot_live_resyncs_total",
		Help: "Times the live hub re-read its subscribers' checks after losing its PostgreSQL LISTEN connection.",
	})
	notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bergamot_notifications_total",
		Help: "Notification delivery attempts by channel and outcome (sent, retry, failed).",
	}, []string{"channel", "outcome"})
	configApplies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bergamot_config_applies_total",
		Help: "Configuration applies by outcome (applied, invalid, dry_run).",
	}, []string{"outcome"})
	httpRequests = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bergamot_http_requests_total",
		Help: "HTTP requests served.",
	})
	exportPoints = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bergamot_metrics_export_points_total",
		Help: "Performance data points of every site's metrics export targets, by protocol and outcome (sent; dropped: oldest beyond a target's buffer; rejected: refused by the receiver).",
	}, []string{"protocol", "outcome"})
	exportFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bergamot_metrics_export_failures_total",
		Help: "Metrics export requests that failed and will be retried (receiver unreachable, 429, 5xx, authentication), by protocol.",
	}, []string{"protocol"})
	buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bergamot_build_info",
		Help: "Always 1: the version and role of this process.",
	}, []string{"version", "role"})
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		checksExecuted, checkDuration, lateness, handbackBatch, handbackLatency, resultsProcessed, resultBatch,
		liveCoalesced, liveResyncs, notifications, configApplies, httpRequests, exportPoints, exportFailures, buildInfo)
	for _, o := range []string{"applied", "invalid", "dry_run"} {
		configApplies.WithLabelValues(o)
	}
}

// Role records that this process plays role (serve, worker, notifier, ...)
// in bergamot_build_info.
func Role(version, role string) { buildInfo.WithLabelValues(version, role).Set(1) }

// CheckExecuted records one check run: its engine, result status and run time.
func CheckExecuted(engine, status string, took time.Duration) {
	checksExecuted.WithLabelValues(engine, status).Inc()
	checkDuration.WithLabelValues(engine).Observe(took.Seconds())
}

// Engines makes the per-engine series of these engines exist from the
// start (with status OK at zero), so a scrape shows them before the first check.
func Engines(names []string) {
	for _, n := range names {
		checksExecuted.WithLabelValues(n, "OK")
		checkDuration.WithLabelValues(n)
	}
}

// Late records how long after its slot a scheduled check started.
func Late(d time.Duration) {
	if d < 0 {
		d = 0
	}
	lateness.Observe(d.Seconds())
}

// HandedBack records one hand-back transaction of n results, the oldest
// of which waited oldest.
func HandedBack(n int, oldest time.Duration) {
	handbackBatch.Observe(float64(n))
	handbackLatency.Observe(oldest.Seconds())
}

// ResultsProcessed records one committed batch of n results.
func ResultsProcessed(n int) {
	if n <= 0 {
		return
	}
	resultsProcessed.Add(float64(n))
	resultBatch.Observe(float64(n))
}

// LiveCoalesced records n updates coalesced into a slow subscriber's backlog.
func LiveCoalesced(n int) { liveCoalesced.Add(float64(n)) }

// LiveResynced records one re-read of every subscriber's checks.
func LiveResynced() { liveResyncs.Inc() }

// Notification records one delivery attempt.
func Notification(channel, outcome string) { notifications.WithLabelValues(channel, outcome).Inc() }

// Channels makes the notification series of these channels exist from the start.
func Channels(names []string) {
	for _, n := range names {
		for _, o := range []string{OutcomeSent, OutcomeRetry, OutcomeFailed} {
			notifications.WithLabelValues(n, o)
		}
	}
}

// Export outcomes (label outcome of bergamot_metrics_export_points_total).
const (
	ExportSent     = "sent"
	ExportDropped  = "dropped"
	ExportRejected = "rejected"
)

// ExportProtocols makes the metrics export series of these protocols
// exist from the start.
func ExportProtocols(names []string) {
	for _, n := range names {
		for _, o := range []string{ExportSent, ExportDropped, ExportRejected} {
			exportPoints.WithLabelValues(n, o)
		}
		exportFailures.WithLabelValues(n)
	}
}

// ExportPoints records n points of protocol with outcome.
func ExportPoints(protocol, outcome string, n int) {
	exportPoints.WithLabelValues(protocol, outcome).Add(float64(n))
}

// ExportFailed records one failed, retried export request.
func ExportFailed(protocol string) { exportFailures.WithLabelValues(protocol).Inc() }

// ConfigApplied records one configuration apply: outcome is applied,
// invalid or dry_run.
func ConfigApplied(outcome string) { configApplies.WithLabelValues(outcome).Inc() }

// HTTPRequest records one request served by the main listener.
func HTTPRequest() { httpRequests.Inc() }

var registered sync.Map // names of gauges registered once per process

// GaugeFunc registers, once per process and name, a gauge read when scraped.
// A second call with the same name replaces nothing and returns false.
func GaugeFunc(name, help string, f func() float64) bool {
	if _, loaded := registered.LoadOrStore(name, true); loaded {
		return false
	}
	Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	return true
}

// Register adds c (a database collector, ...) to the registry once per
// name; later calls with the same name are ignored.
func Register(name string, c prometheus.Collector) {
	if _, loaded := registered.LoadOrStore(name, true); loaded {
		return
	}
	Registry.MustRegister(c)
}

// Handler serves the registry in Prometheus text format. The series
// describe every site's load, so they are not public: with token set a
// scraper must send it as a bearer token (BERGAMOT_METRICS_TOKEN);
// without, only loopback clients are answered.
func Handler(token string) http.Handler {
	h := promhttp.HandlerFor(Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, why := Allowed(r, token); !ok {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, "%s\n", why)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Allowed reports whether r may read the metrics, and why not.
func Allowed(r *http.Request, token string) (bool, string) {
	if token != "" {
		got := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
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

// Serve answers /metrics (and /healthz) on addr until ctx ends: the
// --metrics-listen listener of roles without an HTTP listener of their
// own. It returns the address it listens on once listening, and serves in
// the background; errc gets the server's error, if any.
func Serve(ctx context.Context, addr, token string) (string, <-chan error, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(token))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if err == http.ErrServerClosed {
			err = nil
		}
		errc <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr().String(), errc, nil
}
