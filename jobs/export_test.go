package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/metrics/export"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// exportXML is a site with one passive service and one export target.
func exportXML(host, target string) string {
	return `<bergamot site="x">
	<credential name="tok"><username>user-` + host + `</username><password>token-` + host + `</password></credential>
	` + target + `
	<host name="` + host + `" address="127.0.0.1"><service name="http"><state failed-after="1"/></service></host>
</bergamot>`
}

// result puts one result of service "http" of site with perfdata
// latency=value ms, taken at, into the inbox and processes it.
func (r *e2eRig) exportResult(site uuid.UUID, at time.Time, value float64) {
	r.t.Helper()
	v := value
	r.inboxFor(site, r.stateIn(site, "http").id, checks.Result{Status: checks.StatusOK, Output: "ok", Started: at,
		Perfdata: []checks.Perfdata{{Label: "latency", Value: &v, UOM: "ms"}}})
	p := &Processor{Pool: r.db.Pool, Logger: r.log}
	for {
		n, err := p.RunOnce(r.ctx)
		if err != nil {
			r.t.Fatalf("processing: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

func (r *e2eRig) exporter() *Exporter {
	return &Exporter{Pool: r.db.Pool, Sealer: r.sealer, Protocols: export.DefaultRegistry(), Logger: r.log,
		Sender: &export.Sender{Timeout: 5 * time.Second}, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

// exportStatus reads site's one export target's status.
func (r *e2eRig) exportStatus(site uuid.UUID) store.ExportStatus {
	r.t.Helper()
	out := r.exportStatuses(site)
	if len(out) != 1 {
		r.t.Fatalf("export status: %d targets, want 1", len(out))
	}
	return out[0]
}

// exportStatuses reads site's targets' statuses by name.
func (r *e2eRig) exportStatuses(site uuid.UUID) []store.ExportStatus {
	r.t.Helper()
	var out []store.ExportStatus
	err := tenants.InSite(tenants.WithSite(r.ctx, site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.ExportStatuses(ctx, tx)
		return err
	})
	if err != nil {
		r.t.Fatalf("export status: %v", err)
	}
	return out
}

// drain runs the exporter until the queues of all site's targets are empty.
func (r *e2eRig) drain(ex *Exporter, site uuid.UUID, within time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, err := ex.RunOnce(r.ctx)
		busy := ""
		for _, st := range r.exportStatuses(site) {
			if st.Queued != 0 {
				busy += fmt.Sprintf(" %s: %d queued, last error %q;", st.Name, st.Queued, st.LastError)
			}
		}
		if busy == "" {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("export queue not drained after %s:%s (run error %v)", within, busy, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// prometheusReceiver is a real Prometheus with the remote write receiver
// on, restartable on the same port and data directory.
type prometheusReceiver struct {
	t         *testing.T
	bin, dir  string
	addr      string
	cmd       *exec.Cmd
	logOutput *os.File
}

func startPrometheusReceiver(t *testing.T) *prometheusReceiver {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not installed (make test installs the Debian package prometheus): %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	p := &prometheusReceiver{t: t, bin: bin, dir: dir, addr: addr}
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *prometheusReceiver) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "--config.file="+filepath.Join(p.dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(p.dir, "data"),
		"--web.listen-address="+p.addr, "--web.enable-remote-write-receiver")
	out, err := os.OpenFile(filepath.Join(p.dir, "prometheus.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.logOutput = out
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(p.dir, "prometheus.log"))
			p.t.Fatalf("prometheus not ready after 60s: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill stops it with SIGKILL: no clean shutdown.
func (p *prometheusReceiver) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	_ = p.logOutput.Close()
	p.cmd = nil
}

func (p *prometheusReceiver) writeURL() string { return "http://" + p.addr + "/api/v1/write" }

// values returns the sample values of the series matching selector in the
// last hour, in time order.
func (p *prometheusReceiver) values(selector string) []float64 {
	p.t.Helper()
	resp, err := http.Get("http://" + p.addr + "/api/v1/query?query=" + url.QueryEscape(selector+"[1h]"))
	if err != nil {
		p.t.Fatalf("querying prometheus: %v", err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Values [][2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		p.t.Fatalf("querying prometheus: %v %s", err, r.Error)
	}
	var out []float64
	for _, s := range r.Data.Result {
		for _, v := range s.Values {
			var f float64
			_, _ = fmt.Sscan(v[1].(string), &f)
			out = append(out, f)
		}
	}
	return out
}

func seq(from, to int) []float64 {
	var out []float64
	for i := from; i <= to; i++ {
		out = append(out, float64(i))
	}
	return out
}

func exportCounter(t *testing.T, protocol, outcome string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "bergamot_metrics_export_points_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["protocol"] == protocol && l["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestRemoteWriteIntoPrometheus: a site's perfdata arrives in a real
// Prometheus (remote write receiver) as bergamot_perfdata with the check's
// labels as the scrape endpoint names them (host, check, label, uom). Then the receiver is killed (SIGKILL)
// while results keep coming: the exporter keeps the newest points up to
// the target's buffer, drops the oldest beyond it and counts them (in
// GraphQL's status and bergamot_metrics_export_points_total); when
// Prometheus is back, everything within the buffer arrives, nothing else.
func TestRemoteWriteIntoPrometheus(t *testing.T) {
	prom := startPrometheusReceiver(t)
	r := newE2ERig(t, exportXML("web1", `<metrics-export name="prom" protocol="prometheus-remote-write" url="`+prom.writeURL()+`" batch="5" buffer="20"/>`))
	ex := r.exporter()
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	for i := 1; i <= 10; i++ {
		r.exportResult(r.site, base.Add(time.Duration(i)*time.Second), float64(i))
	}
	r.drain(ex, r.site, 30*time.Second)
	sel := `bergamot_perfdata{host="web1",check="http",label="latency",uom="ms"}`
	if got := prom.values(sel); fmt.Sprint(got) != fmt.Sprint(seq(1, 10)) {
		t.Fatalf("Prometheus holds %v for %s, want 1..10", got, sel)
	}
	if st := r.exportStatus(r.site); st.Sent != 10 || st.Dropped != 0 || st.LastSuccessAt == nil {
		t.Fatalf("status after the first batches: %+v", st)
	}

	droppedBefore := exportCounter(t, "prometheus-remote-write", metrics.ExportDropped)
	prom.kill()
	for i := 11; i <= 40; i++ { // 30 points: 10 beyond the buffer of 20
		r.exportResult(r.site, base.Add(time.Duration(i)*time.Second), float64(i))
	}
	time.Sleep(30 * time.Millisecond) // past the backoff
	if _, err := ex.RunOnce(r.ctx); err != nil {
		t.Fatalf("a failing receiver is recorded on the target, not returned: %v", err)
	}
	st := r.exportStatus(r.site)
	if st.Dropped != 10 || st.Queued != 20 || st.LastError == "" || st.Failures == 0 {
		t.Fatalf("receiver down, 30 points produced, buffer 20: status %+v, want dropped 10, queued 20, an error", st)
	}
	if d := exportCounter(t, "prometheus-remote-write", metrics.ExportDropped) - droppedBefore; d != 10 {
		t.Errorf("bergamot_metrics_export_points_total{outcome=dropped} rose by %v, want 10", d)
	}
	t.Logf("while down: %q", st.LastError)

	prom.start()
	r.drain(ex, r.site, 60*time.Second)
	want := append(seq(1, 10), seq(21, 40)...)
	if got := prom.values(sel); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the restart Prometheus holds %v, want 1..10 and 21..40 (11..20 were beyond the buffer)", got)
	}
	if st := r.exportStatus(r.site); st.Sent != 30 || st.Dropped != 10 || st.Failures != 0 {
		t.Fatalf("status after the restart: %+v", st)
	}
}

// otlpReceiver decodes OTLP/HTTP requests with the official proto types
// and keeps the points and the Authorization headers; fail makes it answer
// that status instead, once per queued status.
type otlpReceiver struct {
	mu     sync.Mutex
	points []export.Point
	auth   []string
	fail   []int
	srv    *httptest.Server
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	o := &otlpReceiver{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if len(o.fail) > 0 {
			code := o.fail[0]
			o.fail = o.fail[1:]
			http.Error(w, "not now", code)
			return
		}
		body, _ := io.ReadAll(req.Body)
		if req.URL.Path != "/v1/metrics" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want POST /v1/metrics application/x-protobuf", http.StatusUnsupportedMediaType)
			return
		}
		pts, err := export.DecodeOTLP(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		o.points = append(o.points, pts...)
		o.auth = append(o.auth, req.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *otlpReceiver) got() ([]export.Point, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]export.Point(nil), o.points...), append([]string(nil), o.auth...)
}

// TestOTLPExportKeepsSitesApart: two sites export over OTLP/HTTP to their
// own receivers, A with a bearer token and B with basic authentication,
// both sealed credentials. Each receiver gets only its own site's points
// (host names), with its own site's secret; a 503 is retried without
// losing the batch, and a 400 drops it and counts it.
func TestOTLPExportKeepsSitesApart(t *testing.T) {
	ra, rb := newOTLPReceiver(t), newOTLPReceiver(t)
	r := newE2ERig(t, exportXML("alpha", `<metrics-export name="otel" protocol="otlp" url="`+ra.srv.URL+`/v1/metrics" auth="bearer" credential="tok" batch="3"/>`))
	siteB := r.addSite(exportXML("bravo", `<metrics-export name="otel" protocol="otlp" url="`+rb.srv.URL+`/v1/metrics" auth="basic" credential="tok" batch="3"/>`))
	ex := r.exporter()
	ra.fail = []int{http.StatusServiceUnavailable}
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i := 1; i <= 7; i++ {
		r.exportResult(r.site, base.Add(time.Duration(i)*time.Second), float64(i))
		r.exportResult(siteB, base.Add(time.Duration(i)*time.Second), float64(100+i))
	}
	// Each site's outbox shows only its own points.
	for _, s := range []uuid.UUID{r.site, siteB} {
		if st := r.exportStatus(s); st.Queued != 7 {
			t.Fatalf("site %s: %d points queued, want its own 7", s, st.Queued)
		}
	}
	r.drain(ex, r.site, 30*time.Second)
	r.drain(ex, siteB, 30*time.Second)

	for _, c := range []struct {
		rec        *otlpReceiver
		host, auth string
		from       int
	}{
		{ra, "alpha", "Bearer token-alpha", 1},
		{rb, "bravo", "Basic dXNlci1icmF2bzp0b2tlbi1icmF2bw==", 101},
	} {
		pts, auths := c.rec.got()
		var vals []float64
		for _, p := range pts {
			if p.Host != c.host || p.Service != "http" || p.Label != "latency" || p.Unit != "ms" {
				t.Fatalf("receiver of %s got a point of another series or site: %+v", c.host, p)
			}
			vals = append(vals, p.Value)
		}
		sort.Float64s(vals)
		if fmt.Sprint(vals) != fmt.Sprint(seq(c.from, c.from+6)) {
			t.Errorf("receiver of %s got %v, want %d..%d", c.host, vals, c.from, c.from+6)
		}
		for _, a := range auths {
			if a != c.auth {
				t.Errorf("receiver of %s saw Authorization %q, want %q", c.host, a, c.auth)
			}
		}
	}
	if st := r.exportStatus(r.site); st.Sent != 7 || st.Dropped != 0 || !strings.Contains(st.LastError, "503") {
		t.Errorf("site A after a 503 and a retry: %+v, want 7 sent, none dropped, the 503 as last error", st)
	}

	// A batch the receiver refuses for good is dropped and counted.
	rb.fail = []int{http.StatusBadRequest}
	r.exportResult(siteB, base.Add(10*time.Second), 200)
	r.drain(ex, siteB, 30*time.Second)
	if st := r.exportStatus(siteB); st.Dropped != 1 || !strings.Contains(st.LastError, "400") {
		t.Errorf("site B after a 400: %+v, want 1 dropped and the 400 as last error", st)
	}
}

// TestBackoffGrowsWithJitter: the wait doubles per failure, stays within
// [d/2, d] and never passes the maximum.
func TestBackoffGrowsWithJitter(t *testing.T) {
	ex := &Exporter{MinBackoff: time.Second, MaxBackoff: time.Minute}
	for n, d := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 10: time.Minute, 50: time.Minute} {
		seen := map[time.Duration]bool{}
		for range 50 {
			w := ex.backoff(n)
			if w < d/2 || w > d {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, w, d/2, d)
			}
			seen[w] = true
		}
		if len(seen) < 2 {
			t.Errorf("backoff(%d) always %v: no jitter", n, seen)
		}
	}
}

// remoteWriteReceiver decodes remote write requests as a second receiver
// beside the real Prometheus: the latest value of each series.
type remoteWriteReceiver struct {
	mu     sync.Mutex
	latest map[string]float64
	srv    *httptest.Server
}

func newRemoteWriteReceiver(t *testing.T) *remoteWriteReceiver {
	rw := &remoteWriteReceiver{latest: map[string]float64{}}
	rw.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := export.DecodeRemoteWrite(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rw.mu.Lock()
		defer rw.mu.Unlock()
		for _, ts := range req.Timeseries {
			var parts []string
			for _, l := range ts.Labels {
				parts = append(parts, l.Name+"="+l.Value)
			}
			sort.Strings(parts)
			for _, s := range ts.Samples {
				rw.latest[strings.Join(parts, ",")] = s.Value
			}
		}
	}))
	t.Cleanup(rw.srv.Close)
	return rw
}

// value is the latest value of the series with exactly these labels, and
// whether the receiver has it.
func (rw *remoteWriteReceiver) value(labels ...string) (float64, bool) {
	sort.Strings(labels)
	rw.mu.Lock()
	defer rw.mu.Unlock()
	v, ok := rw.latest[strings.Join(labels, ",")]
	return v, ok
}

// TestOwnSeriesReachEachSitesTargets: each site's own Bergamot series
// (checks by status, late checks and lateness, notifications by result)
// go out through that site's export targets and count that site only.
// Site A (a real Prometheus): one CRITICAL service, one OK, a host never
// checked (PENDING), two notifications sent and one failed in the last
// hour. Site B (a second receiver): three WARNING services, a PENDING
// host, one check five minutes late. Each counts its own results
// processed (2 and 3). Site A's second target, own-series="no", gets
// its perfdata only. Queued once per OwnEvery however often the exporter
// runs.
func TestOwnSeriesReachEachSitesTargets(t *testing.T) {
	prom := startPrometheusReceiver(t)
	rb, perfOnly := newRemoteWriteReceiver(t), newRemoteWriteReceiver(t)
	r := newE2ERig(t, `<bergamot site="a">
	<metrics-export name="prom" protocol="prometheus-remote-write" url="`+prom.writeURL()+`"/>
	<metrics-export name="perf-only" protocol="prometheus-remote-write" url="`+perfOnly.srv.URL+`/api/v1/write" own-series="no"/>
	<host name="alpha" address="127.0.0.1"><service name="web"/><service name="dns"/></host>
</bergamot>`)
	siteB := r.addSite(`<bergamot site="b">
	<metrics-export name="prom" protocol="prometheus-remote-write" url="` + rb.srv.URL + `/api/v1/write"/>
	<host name="bravo" address="127.0.0.1"><service name="ssh"/><service name="smtp"/><service name="imap"/></host>
</bergamot>`)
	result := func(site uuid.UUID, check string, st checks.Status, perf ...checks.Perfdata) {
		r.inboxFor(site, r.stateIn(site, check).id, checks.Result{Status: st, Output: st.String(), Started: time.Now(), Perfdata: perf})
	}
	rtt := 0.25
	result(r.site, "web", checks.StatusCritical, checks.Perfdata{Label: "time", Value: &rtt, UOM: "s"})
	result(r.site, "dns", checks.StatusOK)
	for _, c := range []string{"ssh", "smtp", "imap"} {
		result(siteB, c, checks.StatusWarning)
	}
	p := &Processor{Pool: r.db.Pool, Logger: r.log}
	for {
		n, err := p.RunOnce(r.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	in := func(site uuid.UUID, sql string, args ...any) {
		t.Helper()
		if err := tenants.InSite(tenants.WithSite(r.ctx, site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql, args...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, res := range []string{"sent", "sent", "failed"} {
		in(r.site, `INSERT INTO notification_log (site_id, kind, recipient, channel, idempotency, result) VALUES ($1, 'problem', 'ops', 'email', $2, $3)`,
			r.site, fmt.Sprint("k", i), res)
	}
	in(siteB, `INSERT INTO check_schedule (check_id, site_id, next_run, interval_ms) VALUES ($1, $2, now() - interval '5 minutes', 60000)
		ON CONFLICT (check_id) DO UPDATE SET next_run = EXCLUDED.next_run, paused = false`, r.stateIn(siteB, "ssh").id, siteB)
	// check_schedule has no row-level security: filter by site.
	in(siteB, `UPDATE check_schedule SET next_run = now() + interval '1 minute' WHERE site_id = $1 AND check_id <> $2`, siteB, r.stateIn(siteB, "ssh").id)
	in(r.site, `UPDATE check_schedule SET next_run = now() + interval '1 minute' WHERE site_id = $1`, r.site)

	ex := r.exporter()
	ex.OwnEvery = time.Hour
	r.drain(ex, r.site, 30*time.Second)
	r.drain(ex, siteB, 30*time.Second)
	statusA := func() store.ExportStatus {
		t.Helper()
		for _, s := range r.exportStatuses(r.site) {
			if s.Name == "prom" {
				return s
			}
		}
		t.Fatal("site A has no target prom")
		return store.ExportStatus{}
	}
	sentA, sentB := statusA().Sent, r.exportStatus(siteB).Sent
	if sentA == 0 || sentB == 0 {
		t.Fatalf("own series sent: site A %d, site B %d points", sentA, sentB)
	}
	// Prometheus: site A's series, site A's values only.
	last := func(sel string) float64 {
		t.Helper()
		v := prom.values(sel)
		if len(v) != 1 {
			t.Fatalf("Prometheus holds %v for %s, want one sample", v, sel)
		}
		return v[0]
	}
	for sel, want := range map[string]float64{
		`bergamot_site_checks{status="CRITICAL"}`:                1,
		`bergamot_site_checks{status="OK"}`:                      1,
		`bergamot_site_checks{status="PENDING"}`:                 1,
		`bergamot_site_checks{status="WARNING"}`:                 0, // site B's three are not site A's
		`bergamot_site_checks_late`:                              0,
		`bergamot_site_notifications_last_hour{result="sent"}`:   2,
		`bergamot_site_notifications_last_hour{result="failed"}`: 1,
		`bergamot_site_results_processed_total`:                  2,
	} {
		if got := last(sel); got != want {
			t.Errorf("site A's Prometheus: %s = %v, want %v", sel, got, want)
		}
	}
	// Site B's receiver: site B's values only.
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"__name__=bergamot_site_checks", "status=WARNING"}, 3},
		{[]string{"__name__=bergamot_site_checks", "status=PENDING"}, 1},
		{[]string{"__name__=bergamot_site_checks", "status=CRITICAL"}, 0},
		{[]string{"__name__=bergamot_site_checks", "status=OK"}, 0},
		{[]string{"__name__=bergamot_site_checks_late"}, 1},
		{[]string{"__name__=bergamot_site_notifications_last_hour", "result=sent"}, 0},
		{[]string{"__name__=bergamot_site_results_processed_total"}, 3},
	} {
		if got, ok := rb.value(c.labels...); !ok || got != c.want {
			t.Errorf("site B's receiver: %v = %v (present %v), want %v", c.labels, got, ok, c.want)
		}
	}
	if got, ok := rb.value("__name__=bergamot_site_schedule_lateness_seconds"); !ok || got < 299 || got > 400 {
		t.Errorf("site B's schedule lateness %v s (present %v), want about 300", got, ok)
	}
	// A target with own-series="no" gets the perfdata only.
	perfOnly.mu.Lock()
	var perf, own []string
	for k := range perfOnly.latest {
		if strings.Contains(k, "__name__=bergamot_site_") {
			own = append(own, k)
		} else if strings.Contains(k, "__name__=bergamot_perfdata") {
			perf = append(perf, k)
		}
	}
	perfOnly.mu.Unlock()
	if len(own) != 0 || len(perf) != 1 {
		t.Errorf("the own-series=\"no\" target received own series %v and perfdata %v; want no own series and the one perfdata series", own, perf)
	}
	// Not queued again within OwnEvery.
	for range 3 {
		if _, err := ex.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := statusA(), r.exportStatus(siteB); a.Sent != sentA || b.Sent != sentB || a.Queued+b.Queued != 0 {
		t.Errorf("own series queued again within OwnEvery: site A %+v, site B %+v", a, b)
	}
}
