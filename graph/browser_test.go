package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// browser starts a headless Chromium for one test (skipped without one).
func browser(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-background-networking", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

const attackerPage = `<!doctype html><title>not bergamot</title>
<form id="f" method="POST" action="TARGET/api/v1/config" enctype="text/plain" target="sink">
<input name='<bergamot site="victim"><host name="evil-form" address="192.0.2.1"><check-command command="dummy-ok"/></host></bergamot><!--' value='-->'>
</form><iframe name="sink"></iframe>
<script>
window.results = {};
const xml = (n) => '<bergamot site="victim"><host name="' + n + '" address="192.0.2.1"><check-command command="dummy-ok"/></host></bergamot>';
const send = (key, url, body, type) => fetch(url, {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": type}, body})
  .then(() => results[key] = "sent").catch((e) => results[key] = "error " + e);
send("rest", "TARGET/api/v1/config", xml("evil-rest"), "text/plain");
send("result", "TARGET/api/v1/checks/CHECK/result", JSON.stringify({status: "CRITICAL", output: "forged"}), "text/plain");
send("graphql", "TARGET/graphql", JSON.stringify({query: 'mutation($x: String!) { applyConfig(xml: $x) { ok } }', variables: {x: xml("evil-graphql")}}), "text/plain");
const ws = new WebSocket("WSTARGET/graphql", "graphql-transport-ws");
ws.onopen = () => { results.ws = "open"; ws.send(JSON.stringify({type: "connection_init", payload: {}})); };
ws.onmessage = (m) => { results.wsMessage = m.data; };
ws.onerror = () => { results.wsError = true; };
ws.onclose = (e) => { results.wsClose = e.code; };
document.getElementById("f").submit();
setTimeout(() => results.done = true, 3000);
</script>`

// A page on another origin (same host, another port: same-site, so the
// browser does send the SameSite=Lax session cookie) posts configuration
// and a passive result through REST, a mutation through GraphQL and opens
// a WebSocket, all with the victim's cookie: nothing changes and the
// WebSocket is refused. The same cookie from the service's own origin,
// with the anti-forgery token, does work (the control).
func TestCrossSiteRequestsInChromium(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	victim := e.SignUp(t, "victim")
	e.Apply(t, victim.Token, `<bergamot site="victim"><host name="web1" address="192.0.2.10"><check-command command="dummy-ok"/><service name="disk"><check-command command="dummy-ok"/></service></host></bergamot>`)
	var disk string
	for name, id := range e.CheckIDs(t, victim.Token) {
		if strings.HasSuffix(name, "disk") {
			disk = id
		}
	}
	if disk == "" {
		t.Fatalf("no disk check: %v", e.CheckIDs(t, victim.Token))
	}
	target := e.URL
	page := strings.NewReplacer("WSTARGET", strings.Replace(target, "http://", "ws://", 1), "TARGET", target, "CHECK", disk).Replace(attackerPage)
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprint(w, page)
	}))
	defer attacker.Close()

	ctx := browser(t)
	tru := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "bergamot_session", Value: victim.Token, URL: target + "/",
		HTTPOnly: &tru, SameSite: network.CookieSameSiteLax}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(attacker.URL)); err != nil {
		t.Fatalf("attacker page: %v", err)
	}
	results, err := chromedp.Run(ctx, chromedp.Poll[map[string]any](`window.results && window.results.done ? window.results : null`, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("attacker page: %v", err)
	}
	if results["ws"] == "open" || results["wsMessage"] != nil {
		t.Errorf("a WebSocket from another origin was accepted: %v", results)
	}
	hosts := func() string {
		var out struct{ Hosts []struct{ Name string } }
		e.MustDo(t, victim.Token, `{ hosts { name } }`, nil, &out)
		b, _ := json.Marshal(out.Hosts)
		return string(b)
	}
	if h := hosts(); strings.Contains(h, "evil") {
		t.Errorf("a cross-site request changed the configuration: hosts %s", h)
	}
	if st, _ := e.Status(t, victim.Token, disk); st == "CRITICAL" {
		t.Error("a cross-site passive result was accepted")
	}

	// The control: the service's own page, same cookie, reads the token
	// (a GET, which no other origin can read) and sends it.
	if err := chromedp.Do(ctx, chromedp.Navigate(target+"/healthz")); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const t = await (await fetch("/graphql?query=%7BcsrfToken%7D")).json();
		const x = '<bergamot site="victim"><host name="legit" address="192.0.2.2"><check-command command="dummy-ok"/></host></bergamot>';
		const r = await fetch("/graphql", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": t.data.csrfToken},
			body: JSON.stringify({query: 'mutation($x: String!) { applyConfig(xml: $x) { ok } }', variables: {x}})});
		return await r.text();
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, `"ok":true`) || !strings.Contains(hosts(), "legit") {
		t.Fatalf("the same cookie from the service's own origin with the token did not work (the test proves nothing): %s", got)
	}
}
