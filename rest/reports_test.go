package rest_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
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
