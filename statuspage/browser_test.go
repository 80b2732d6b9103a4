package statuspage_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/statuspage"
)

// TestPageRendersInChromium: the page, with an outage, a degraded group
// and an open incident, renders in Chromium without JavaScript (its
// Content-Security-Policy allows none): the banner, every component with
// its condition and 90 uptime bars. The screenshot is written to
// $BERGAMOT_SCREENSHOTS (or the test's temporary directory).
func TestPageRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	e := apitest.Start(t, apitest.Options{StatusPages: statuspage.Options{Rate: -1, TTL: time.Millisecond}})
	a := newSite(t, e, "acme", [][2]string{{"Storefront", "web1/http"}, {"Search", "web2/http"}, {"Web tier", "group:web"}})
	e.Submit(t, a.Token, a.ids["web1/http"], "CRITICAL", "secret output")
	e.Submit(t, a.Token, a.ids["web2/http"], "OK", "fine")
	e.Submit(t, a.Token, a.ids["web1"], "OK", "fine")
	e.Submit(t, a.Token, a.ids["web2"], "WARNING", "slow")
	// Some history for the bars: web2/http was CRITICAL for six hours
	// three days ago.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
	e.Exec(t, `INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt)
		SELECT site_id, id, $2::timestamptz, 'CRITICAL', 'OK', false, true, 1 FROM checks WHERE id = $1::uuid
		UNION ALL SELECT site_id, id, $3::timestamptz, 'OK', 'CRITICAL', true, true, 1 FROM checks WHERE id = $1::uuid`,
		a.ids["web2/http"], day.Add(6*time.Hour), day.Add(12*time.Hour))
	openIncident(t, e, a, map[string]any{"kind": "incident", "title": "Checkout errors", "impact": "major", "state": "identified",
		"body": "A faulty payment gateway release; rolling back.", "components": []string{a.comps["Storefront"]}})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1000, 1100))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel3()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(e.URL+"/status/acme/public")); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	banner, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#overall").innerText`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	conditions, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#components").innerText`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#components .comp:first-of-type .bars span").length`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if banner != "Incident: Checkout errors" {
		t.Errorf("banner %q", banner)
	}
	for _, w := range []string{"Storefront", "Major outage", "Search", "Operational", "Web tier", "Degraded performance"} {
		if !strings.Contains(conditions, w) {
			t.Errorf("components in Chromium: %q missing from %q", w, conditions)
		}
	}
	if strings.Contains(conditions, "secret output") {
		t.Errorf("a check output shows in Chromium")
	}
	if bars != statuspage.HistoryDays {
		t.Errorf("%d uptime bars, want %d", bars, statuspage.HistoryDays)
	}
	dir := os.Getenv("BERGAMOT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "status-page.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
