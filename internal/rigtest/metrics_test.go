package rigtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bergamot-monitoring/bergamot/gateway"
)

// documented reads the series table of docs/operations.md: series name ->
// the roles it names.
func documented(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `(bergamot_[a-z_]+)(?:\\{[a-z,]+\\})?` \\| [a-z]+ \\| ([a-z ,-]+) \\|")
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			for _, r := range strings.Split(m[2], ",") {
				out[m[1]] = append(out[m[1]], strings.TrimSpace(r))
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("found %d series in docs/operations.md's table; its format changed?", len(out))
	}
	return out
}

// scrape reads and parses one role's /metrics.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("scraping %s: %s", addr, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s's metrics: %v", addr, err)
	}
	return fams
}

// TestDocumentedSeries: every role's /metrics, scraped from real
// processes after checks ran and an alert went out, holds every series
// docs/operations.md lists for it; then a real Prometheus scrapes all of
// them.
func TestDocumentedSeries(t *testing.T) {
	t.Parallel()
	c := New(t, Options{})
	rcv := NewReceiver(t)
	if _, err := (&gateway.Store{Pool: c.Pool}).CreateSharedZone(c.Ctx, "core"); err != nil {
		t.Fatal(err)
	}
	c.Site("a", `<bergamot site="a">
<contact name="hook"><parameter name="webhook.url">`+rcv.URL+`</parameter></contact>
<command name="dummy" engine="nagios"><parameter name="command_line">/usr/lib/nagios/plugins/check_dummy #{code} metrics</parameter></command>
<service name="t" template="yes"><check-command command="dummy"/><schedule every="2s"/><state failed-after="1"/><notify contacts="hook"/></service>
<host name="core" address="127.0.0.1" worker-pool="core"><service name="ok" extends="t"><parameter name="code">0</parameter></service>
<service name="crit" extends="t"><parameter name="code">2</parameter></service></host>
<host name="edge" address="127.0.0.1" worker-pool="edge"><service name="remote" extends="t"><parameter name="code">0</parameter></service></host></bergamot>`)
	serve := c.Serve("serve-1")
	mgr, mgrDir := c.AgentManager("agent-manager-1")
	// A certificate issued on the command line counts: the ledger is shared.
	if out, err := exec.Command(Binary(t), "agent", "cert", "--dir", mgrDir, "--site", "a", "--host", "web1", "--out", t.TempDir()).CombinedOutput(); err != nil {
		t.Fatalf("agent cert: %v\n%s", err, out)
	}
	roles := map[string]*Proc{
		"agent-manager": mgr,
		"serve":         serve,
		"direct worker": c.Worker("worker-1", "core"),
		"remote worker": c.RemoteWorker("remote-1", c.WorkerKey("a", "edge"), []string{HubURL(serve.Addr())}),
		"notifier":      c.Notifier("notifier-1"),
	}
	tok := c.Token("a")
	sub := c.Subscribe(tok, serve.Addr())
	c.WaitFor("an alert delivered and every check run", 120*time.Second, func() bool {
		return rcv.Covered() > 0 && len(c.LastChecks()) == 3
	})
	if err := c.InSync(sub, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	for name, fams := range documented(t) {
		for _, role := range fams {
			var procs []string
			switch role {
			case "worker":
				procs = []string{"direct worker", "remote worker"}
			default:
				procs = []string{role}
			}
			for _, p := range procs {
				got := scrape(t, roles[p].MetricsAddr())
				if _, ok := got[name]; !ok {
					t.Errorf("%s: documented series %s is missing", p, name)
				}
			}
		}
	}
	// Values a user would look at: work was counted where it happened.
	count := func(p, name string, labels map[string]string) float64 {
		var sum float64
		for _, m := range scrape(t, roles[p].MetricsAddr())[name].GetMetric() {
			match := true
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					match = false
				}
			}
			if match {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
		return sum
	}
	for _, want := range []struct {
		role, name string
		labels     map[string]string
	}{
		{"direct worker", "bergamot_checks_executed_total", map[string]string{"engine": "nagios", "status": "CRITICAL"}},
		{"remote worker", "bergamot_checks_executed_total", map[string]string{"engine": "nagios", "status": "OK"}},
		{"direct worker", "bergamot_schedule_lateness_seconds", nil},
		{"serve", "bergamot_results_processed_total", nil},
		{"serve", "bergamot_live_subscribers", nil},
		{"notifier", "bergamot_notifications_total", map[string]string{"channel": "webhook", "outcome": "sent"}},
		{"agent-manager", "bergamot_agent_certificates_issued_total", nil},
		{"agent-manager", "bergamot_agent_ca_expiry_timestamp_seconds", map[string]string{"certificate": "root"}},
	} {
		if v := count(want.role, want.name, want.labels); v <= 0 {
			t.Errorf("%s: %s%v is %v, want > 0", want.role, want.name, want.labels, v)
		}
	}
	prometheusScrapes(t, roles)
}

// prometheusScrapes runs a real Prometheus against every role and waits
// until it reports each target up with Bergamot's series in its database.
func prometheusScrapes(t *testing.T, roles map[string]*Proc) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not installed (make test installs the Debian package prometheus): %v", err)
	}
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n")
	for role, p := range roles {
		fmt.Fprintf(&cfg, "  - job_name: %q\n    static_configs: [{targets: [%q]}]\n", strings.ReplaceAll(role, " ", "_"), p.MetricsAddr())
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	out, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	query := func(q string) []map[string]any {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/query?query="+q, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var r struct {
			Data struct{ Result []map[string]any }
		}
		_ = json.NewDecoder(resp.Body).Decode(&r)
		return r.Data.Result
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		up := 0
		for _, r := range query("up==1") {
			_ = r
			up++
		}
		checks := len(query("bergamot_checks_executed_total"))
		notes := len(query("bergamot_notifications_total"))
		if up == len(roles) && checks > 0 && notes > 0 {
			t.Logf("Prometheus %s scrapes %d targets up; %d check series, %d notification series", addr, up, checks, notes)
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("Prometheus: %d of %d targets up, %d check series, %d notification series after 90s\n%s", up, len(roles), checks, notes, log)
		}
		time.Sleep(time.Second)
	}
}

// TestGrafanaDashboardUsesDocumentedSeries: every Bergamot series the
// shipped dashboard queries is one docs/operations.md documents (and so
// one TestDocumentedSeries scrapes).
func TestGrafanaDashboardUsesDocumentedSeries(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	docs := documented(t)
	name := regexp.MustCompile(`bergamot_[a-z_]+`)
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				if _, ok := docs[base]; !ok {
					t.Errorf("panel %q queries %s, which docs/operations.md does not document", p.Title, m)
				}
				n++
			}
		}
	}
	if n < 10 {
		t.Errorf("the dashboard queries only %d Bergamot series", n)
	}
}
