package rest_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestSLAExports: an <sla> on web1's http service, CRITICAL for the last
// two hours, appears in the CSV export with its figures and in the
// printable report with its incident; site B gets neither A's rows nor
// A's report.
func TestSLAExports(t *testing.T) {
	f := setup(t)
	f.e.Apply(t, f.a.Token, `<bergamot site="alpha"><host name="web1" address="192.0.2.1" groups="web" location="dc1"><check-command command="dummy-ok"/>
		<service name="http"><check-command command="dummy-crit"/><sla name="http-7d" target="99.9" period="7d"/></service></host></bergamot>`)
	f.e.Exec(t, `INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt, output)
		SELECT site_id, id, now() - interval '2 hours', 'CRITICAL', 'OK', false, true, 1, 'broken <on> purpose' FROM checks WHERE id = $1::uuid`, f.aIDs["web1/http"])
	resp, body := f.e.HTTP(t, http.MethodGet, "/api/v1/slas.csv", f.a.Token, "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("GET slas.csv = %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "name" || rows[1][0] != "http-7d" || rows[1][2] != "web1/http" || rows[1][10] != "false" {
		t.Fatalf("slas.csv: %q; want the header and http-7d on web1/http, missed", rows)
	}
	var id string
	var out struct{ Slas []struct{ ID string } }
	f.e.MustDo(t, f.a.Token, `{ slas { id } }`, nil, &out)
	id = out.Slas[0].ID
	resp, body = f.e.HTTP(t, http.MethodGet, "/api/v1/slas/"+id+"/report", f.a.Token, "", nil)
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "SLA http-7d") || !strings.Contains(page, "misses the target") ||
		!strings.Contains(page, "broken &lt;on&gt; purpose") {
		t.Fatalf("report = %d:\n%s", resp.StatusCode, page)
	}
	// Site B: an empty export, and A's report is not found.
	_, body = f.e.HTTP(t, http.MethodGet, "/api/v1/slas.csv", f.b.Token, "", nil)
	if strings.Contains(string(body), "http-7d") {
		t.Errorf("site B's export holds site A's SLA: %s", body)
	}
	if resp, _ := f.e.HTTP(t, http.MethodGet, "/api/v1/slas/"+id+"/report", f.b.Token, "", nil); resp.StatusCode != 404 {
		t.Errorf("site B reading site A's report: %d, want 404", resp.StatusCode)
	}
}

// TestSiteScrapeEndpoint: GET /api/v1/metrics answers the token's site's
// checks in the Prometheus text format (parsed with Prometheus' own
// parser): a passive result's perfdata arrives with the check's labels;
// site B's checks never appear in site A's scrape; no token is 401.
func TestSiteScrapeEndpoint(t *testing.T) {
	f := setup(t)
	f.e.Submit(t, f.a.Token, f.aIDs["web1/http"], "WARNING", "slow|rt=1.5s;1;2 size=2048B")
	resp, body := f.e.HTTP(t, http.MethodGet, "/api/v1/metrics", f.a.Token, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/v1/metrics = %d: %s", resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, body)
	}
	find := func(family string, labels map[string]string) (float64, bool) {
		mf := families[family]
		if mf == nil {
			return 0, false
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m.GetGauge().GetValue(), true
		}
		return 0, false
	}
	if v, ok := find("bergamot_perfdata", map[string]string{"host": "web1", "check": "http", "label": "rt", "uom": "s", "check_id": f.aIDs["web1/http"]}); !ok || v != 1.5 {
		t.Errorf("bergamot_perfdata rt of web1/http: %v %v\n%s", v, ok, body)
	}
	if v, ok := find("bergamot_check_status", map[string]string{"host": "web1", "check": "http", "status": "WARNING"}); !ok || v != 1 {
		t.Errorf("bergamot_check_status WARNING of web1/http: %v %v", v, ok)
	}
	if v, ok := find("bergamot_check_up", map[string]string{"host": "web1", "check": "http"}); !ok || v != 0 {
		t.Errorf("bergamot_check_up of a WARNING check: %v %v, want 0", v, ok)
	}
	if strings.Contains(string(body), "bravo") {
		t.Errorf("site A's scrape names site B's checks:\n%s", body)
	}
	if resp, _ := f.e.HTTP(t, http.MethodGet, "/api/v1/metrics", "", "", nil); resp.StatusCode != 401 {
		t.Errorf("scrape without a token: %d, want 401", resp.StatusCode)
	}
}

// TestSiteScrapeShowsExportTargets: the scrape endpoint carries the site's
// metrics export counters (sent, dropped, queued), and only to that site.
func TestSiteScrapeShowsExportTargets(t *testing.T) {
	f := setup(t)
	f.e.Apply(t, f.a.Token, `<bergamot site="alpha"><metrics-export name="otel" protocol="otlp" url="https://otel.example/v1/metrics"/></bergamot>`)
	f.e.Exec(t, `UPDATE metric_exports SET sent = 40, dropped = 4`)
	_, body := f.e.HTTP(t, http.MethodGet, "/api/v1/metrics", f.a.Token, "", nil)
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, body)
	}
	for name, want := range map[string]float64{"bergamot_site_metrics_export_dropped_points_total": 4, "bergamot_site_metrics_export_sent_points_total": 40} {
		mf := families[name]
		if mf == nil || len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetCounter().GetValue() != want ||
			!strings.Contains(mf.GetMetric()[0].String(), `value:"otel"`) {
			t.Errorf("%s: %v, want %v for export otel\n%s", name, mf, want, body)
		}
	}
	_, body = f.e.HTTP(t, http.MethodGet, "/api/v1/metrics", f.b.Token, "", nil)
	if strings.Contains(string(body), "otel") {
		t.Errorf("site B's scrape shows site A's export target:\n%s", body)
	}
}
