package rest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type fixture struct {
	e          *apitest.Env
	a, b       *apitest.Site
	aIDs, bIDs map[string]string
	viewer     string
}

func setup(t *testing.T) *fixture {
	e := apitest.Start(t, apitest.Options{})
	f := &fixture{e: e, a: e.SignUp(t, "alpha"), b: e.SignUp(t, "bravo")}
	e.Apply(t, f.a.Token, apitest.SiteXML("alpha"))
	e.Apply(t, f.b.Token, apitest.SiteXML("bravo"))
	e.Apply(t, f.b.Token, `<bergamot site="bravo"><host name="bravo-only"><check-command command="dummy-ok"/><service name="bravo-svc"><check-command command="dummy-ok"/></service></host></bergamot>`)
	f.aIDs, f.bIDs = e.CheckIDs(t, f.a.Token), e.CheckIDs(t, f.b.Token)
	e.Invite(t, f.a.Token, "v@alpha.example", "Viewer-pass-123", "VIEWER")
	var out struct{ Login struct{ Token string } }
	e.MustDo(t, "", `mutation { login(site: "alpha", email: "v@alpha.example", password: "Viewer-pass-123") { token } }`, nil, &out)
	f.viewer = out.Login.Token
	return f
}

// call makes a REST request and decodes the JSON answer into v (may be nil).
func (f *fixture) call(t *testing.T, method, path, token string, body any, v any) int {
	t.Helper()
	var raw []byte
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		raw, ct = []byte(b), "application/xml"
	default:
		raw, _ = json.Marshal(b)
		ct = "application/json"
	}
	resp, out := f.e.HTTP(t, method, path, token, ct, raw)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s %s: Content-Type %q: %s", method, path, resp.Header.Get("Content-Type"), out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return resp.StatusCode
}

type apiErr struct {
	Error struct{ Code, Message string }
}

type checkJSON struct {
	ID, Kind, Name, Host, Address string
	State                         struct {
		Status, Output string
		OK             bool `json:"ok"`
		Hard           bool
		Acknowledged   bool
		Perfdata       []struct {
			Label string
			Value float64
		}
	}
	Services []checkJSON
}

func TestRoutes(t *testing.T) {
	f := setup(t)
	e, a := f.e, f.a
	http1 := f.aIDs["web1/http"]

	t.Run("GET hosts", func(t *testing.T) {
		var out struct{ Hosts []checkJSON }
		if code := f.call(t, "GET", "/api/v1/hosts", a.Token, nil, &out); code != 200 || len(out.Hosts) != 2 {
			t.Fatalf("%d %+v", code, out)
		}
		if out.Hosts[0].Name != "web1" || out.Hosts[0].Kind != "host" || out.Hosts[0].Address != "192.0.2.1" || out.Hosts[0].State.Status != "PENDING" {
			t.Fatalf("host: %+v", out.Hosts[0])
		}
		f.call(t, "GET", "/api/v1/hosts?search=eb2", a.Token, nil, &out)
		if len(out.Hosts) != 1 || out.Hosts[0].Name != "web2" {
			t.Fatalf("search: %+v", out.Hosts)
		}
	})

	t.Run("POST checks/{id}/result and GET checks/{id}", func(t *testing.T) {
		var ok struct{ Accepted bool }
		if code := f.call(t, "POST", "/api/v1/checks/"+http1+"/result", a.Token, map[string]string{"status": "CRITICAL", "output": "HTTP 503|time=2.5s;1;2"}, &ok); code != 202 || !ok.Accepted {
			t.Fatalf("result: %d %+v", code, ok)
		}
		e.WaitStatus(t, a.Token, http1, "CRITICAL")
		var c checkJSON
		if code := f.call(t, "GET", "/api/v1/checks/"+http1, a.Token, nil, &c); code != 200 {
			t.Fatalf("GET check: %d", code)
		}
		if c.ID != http1 || c.Kind != "service" || c.Host != "web1" || c.State.Status != "CRITICAL" || c.State.OK || !c.State.Hard ||
			c.State.Output != "HTTP 503" || len(c.State.Perfdata) != 1 || c.State.Perfdata[0].Value != 2.5 {
			t.Fatalf("check: %+v", c)
		}
		var bad apiErr
		if code := f.call(t, "POST", "/api/v1/checks/"+http1+"/result", a.Token, map[string]string{"status": "PURPLE", "output": "x"}, &bad); code != 400 || bad.Error.Code != "INVALID" {
			t.Fatalf("bad status: %d %+v", code, bad)
		}
		if code := f.call(t, "POST", "/api/v1/checks/"+http1+"/result", a.Token, map[string]any{"status": "OK", "output": "x", "extra": 1}, &bad); code != 400 {
			t.Fatalf("unknown field: %d %+v", code, bad)
		}
	})

	t.Run("GET hosts/{name}", func(t *testing.T) {
		var h checkJSON
		if code := f.call(t, "GET", "/api/v1/hosts/web1", a.Token, nil, &h); code != 200 || h.ID != f.aIDs["web1"] || len(h.Services) != 2 {
			t.Fatalf("%d %+v", code, h)
		}
		names := h.Services[0].Name + "," + h.Services[1].Name
		if names != "disk,http" || h.Services[1].State.Status != "CRITICAL" {
			t.Fatalf("services: %+v", h.Services)
		}
		var bad apiErr
		if code := f.call(t, "GET", "/api/v1/hosts/nope", a.Token, nil, &bad); code != 404 || bad.Error.Code != "NOT_FOUND" {
			t.Fatalf("unknown host: %d %+v", code, bad)
		}
	})

	t.Run("GET alerts and POST acknowledge", func(t *testing.T) {
		var al struct {
			Alerts []struct {
				ID, CheckID, Status string
				Acknowledged        bool
			}
		}
		if code := f.call(t, "GET", "/api/v1/alerts?open=true", a.Token, nil, &al); code != 200 || len(al.Alerts) != 1 || al.Alerts[0].CheckID != http1 || al.Alerts[0].Status != "CRITICAL" {
			t.Fatalf("alerts: %+v", al)
		}
		var ack struct {
			Acknowledged bool
			Alert        struct {
				ID             string
				Acknowledged   bool
				AcknowledgedBy string
			}
		}
		if code := f.call(t, "POST", "/api/v1/checks/"+http1+"/acknowledge", a.Token, map[string]any{"comment": "looking", "sticky": true}, &ack); code != 200 ||
			!ack.Alert.Acknowledged || ack.Alert.ID != al.Alerts[0].ID || ack.Alert.AcknowledgedBy != a.Email {
			t.Fatalf("acknowledge: %d %+v", code, ack)
		}
		var bad apiErr
		f.call(t, "POST", "/api/v1/checks/"+f.aIDs["web2"]+"/result", a.Token, map[string]string{"status": "OK", "output": "fine"}, nil)
		e.WaitStatus(t, a.Token, f.aIDs["web2"], "OK")
		if code := f.call(t, "POST", "/api/v1/checks/"+f.aIDs["web2"]+"/acknowledge", a.Token, map[string]any{"comment": "x"}, &bad); code != 400 {
			t.Fatalf("acknowledging an OK check: %d %+v", code, bad)
		}
		f.call(t, "GET", "/api/v1/alerts?open=false", a.Token, nil, &al)
		if len(al.Alerts) != 0 {
			t.Fatalf("closed alerts: %+v", al)
		}
	})

	t.Run("POST config", func(t *testing.T) {
		var res struct {
			OK     bool `json:"ok"`
			Added  int
			Errors []struct {
				Message string
				Line    int
			}
		}
		xml := `<bergamot site="alpha"><host name="web9" address="192.0.2.9"><check-command command="dummy-ok"/></host></bergamot>`
		if code := f.call(t, "POST", "/api/v1/config?dryRun=true", a.Token, xml, &res); code != 200 || !res.OK || res.Added != 1 {
			t.Fatalf("dry run: %d %+v", code, res)
		}
		if len(e.CheckIDs(t, a.Token)) != 5 {
			t.Fatal("dry run applied")
		}
		if code := f.call(t, "POST", "/api/v1/config", a.Token, xml, &res); code != 200 || !res.OK {
			t.Fatalf("apply: %d %+v", code, res)
		}
		if len(e.CheckIDs(t, a.Token)) != 6 {
			t.Fatal("config not applied")
		}
		if code := f.call(t, "POST", "/api/v1/config", a.Token, "<bergamot site=\"alpha\">\n<host name=\"x\" extends=\"nope\"/>\n</bergamot>", &res); code != 422 || res.OK || len(res.Errors) == 0 || res.Errors[0].Line != 2 {
			t.Fatalf("bad config: %d %+v", code, res)
		}
		if len(e.CheckIDs(t, a.Token)) != 6 {
			t.Fatal("bad config changed checks")
		}
	})

	t.Run("roles, tokens and unknown routes", func(t *testing.T) {
		var bad apiErr
		if code := f.call(t, "GET", "/api/v1/hosts", "", nil, &bad); code != 401 || bad.Error.Code != "UNAUTHENTICATED" {
			t.Fatalf("no token: %d %+v", code, bad)
		}
		if code := f.call(t, "GET", "/api/v1/hosts", "bgt_bogus", nil, &bad); code != 401 {
			t.Fatalf("bad token: %d %+v", code, bad)
		}
		if code := f.call(t, "GET", "/api/v1/hosts", f.viewer, nil, nil); code != 200 {
			t.Fatalf("viewer read: %d", code)
		}
		for _, r := range []struct {
			path string
			body any
		}{
			{"/api/v1/checks/" + http1 + "/result", map[string]string{"status": "OK", "output": "x"}},
			{"/api/v1/checks/" + http1 + "/acknowledge", map[string]string{"comment": "x"}},
			{"/api/v1/config", `<bergamot site="alpha"/>`},
			{"/v1/actions/process-check-result", map[string]any{"type": "Host", "host": "web1", "exit_status": 0, "plugin_output": "x"}},
		} {
			if code := f.call(t, "POST", r.path, f.viewer, r.body, &bad); code != 403 || bad.Error.Code != "FORBIDDEN" {
				t.Errorf("viewer POST %s: %d %+v", r.path, code, bad)
			}
		}
		if code := f.call(t, "GET", "/api/v1/nope", a.Token, nil, &bad); code != 404 {
			t.Fatalf("unknown route: %d", code)
		}
		big := bytes.Repeat([]byte("x"), graph.MaxBodyBytes+10)
		resp, _ := e.HTTP(t, "POST", "/api/v1/config", a.Token, "application/xml", big)
		if resp.StatusCode != 400 && resp.StatusCode != 413 && resp.StatusCode != 422 {
			t.Fatalf("oversize config: %d", resp.StatusCode)
		}
	})
}

func TestRESTIsolation(t *testing.T) {
	f := setup(t)
	e, a, b := f.e, f.a, f.b
	bHTTP := f.bIDs["web1/http"]
	e.Submit(t, b.Token, bHTTP, "CRITICAL", "bravo down")
	var bad apiErr
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/checks/" + bHTTP, nil},
		{"GET", "/api/v1/hosts/bravo-only", nil},
		{"POST", "/api/v1/checks/" + bHTTP + "/acknowledge", map[string]string{"comment": "x"}},
		{"POST", "/api/v1/checks/" + bHTTP + "/result", map[string]string{"status": "OK", "output": "x"}},
		{"POST", "/v1/actions/process-check-result", map[string]any{"type": "Host", "filter": `host.name=="bravo-only"`, "exit_status": 0, "plugin_output": "x"}},
		{"POST", "/v1/actions/process-check-result", map[string]any{"service": "bravo-only!bravo-svc", "exit_status": 0, "plugin_output": "x"}},
	} {
		if code := f.call(t, r.method, r.path, a.Token, r.body, &bad); code != 404 || bad.Error.Code != "NOT_FOUND" || strings.Contains(bad.Error.Message, "bravo down") {
			t.Errorf("alpha %s %s: %d %+v", r.method, r.path, code, bad)
		}
	}
	var hosts struct{ Hosts []checkJSON }
	f.call(t, "GET", "/api/v1/hosts", a.Token, nil, &hosts)
	var alerts struct{ Alerts []struct{ CheckID string } }
	f.call(t, "GET", "/api/v1/alerts", a.Token, nil, &alerts)
	if len(hosts.Hosts) != 2 || len(alerts.Alerts) != 0 {
		t.Fatalf("alpha sees %d hosts, %d alerts", len(hosts.Hosts), len(alerts.Alerts))
	}
	// A config posted by alpha lands in alpha, whatever its site attribute says.
	f.call(t, "POST", "/api/v1/config", a.Token, `<bergamot site="bravo"><host name="bravo-only" address="203.0.113.1"><check-command command="dummy-ok"/></host></bergamot>`, nil)
	var bh checkJSON
	f.call(t, "GET", "/api/v1/hosts/bravo-only", b.Token, nil, &bh)
	if bh.Address != "" {
		t.Fatalf("alpha's config changed bravo's host: %+v", bh)
	}
	// Alpha's result for its own web1 (same name as bravo's) does not touch bravo's.
	f.call(t, "POST", "/v1/actions/process-check-result", a.Token, map[string]any{"service": "web1!http", "exit_status": 0, "plugin_output": "alpha ok"}, nil)
	e.WaitStatus(t, a.Token, f.aIDs["web1/http"], "OK")
	var c checkJSON
	f.call(t, "GET", "/api/v1/checks/"+bHTTP, b.Token, nil, &c)
	if c.State.Status != "CRITICAL" || c.State.Output != "bravo down" || c.State.Acknowledged {
		t.Fatalf("bravo's check changed: %+v", c.State)
	}
}

// TestIcinga2ProcessCheckResult sends bodies as Icinga 2's documentation
// shows them (filter form, "service": "h!s", host results, perfdata arrays).
func TestIcinga2ProcessCheckResult(t *testing.T) {
	f := setup(t)
	e, a := f.e, f.a
	var tok struct{ CreateAPIToken string }
	e.MustDo(t, a.Token, `mutation { createApiToken(name: "icinga-sender") }`, nil, &tok)
	type icingaResp struct {
		Results []struct {
			Code   float64
			Status string
		}
	}
	post := func(path string, body string, auth func(*http.Request)) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.URL+path, strings.NewReader(body))
		req.Header.Set("Accept", "application/json")
		auth(req)
		resp, err := e.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return resp.StatusCode, buf.Bytes()
	}
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.CreateAPIToken) }
	basic := func(r *http.Request) { r.SetBasicAuth("root", tok.CreateAPIToken) }
	cases := []struct {
		name, path, body string
		auth             func(*http.Request)
		check, status    string
		output           string
	}{
		{"service by filter, perfdata array", "/v1/actions/process-check-result",
			`{ "type": "Service", "filter": "host.name==\"web1\" && service.name==\"http\"", "exit_status": 2, "plugin_output": "PING CRITICAL - Packet loss = 100%", "performance_data": [ "rta=5000.000000ms;3000.000000;5000.000000;0.000000", "pl=100%;80;100;0" ], "check_source": "example.localdomain", "pretty": true }`,
			bearer, "web1/http", "CRITICAL", "PING CRITICAL - Packet loss = 100%"},
		{"host by filter, exit 1 is DOWN", "/v1/actions/process-check-result",
			`{ "type": "Host", "filter": "host.name==\"web1\"", "exit_status": 1, "plugin_output": "Host is not available." }`,
			basic, "web1", "CRITICAL", "Host is not available."},
		{"host exit 0 is UP", "/v1/actions/process-check-result",
			`{ "type": "Host", "filter": "host.name==\"web1\"", "exit_status": 0, "plugin_output": "Host is back." }`,
			basic, "web1", "OK", "Host is back."},
		{"service as h!s in the body", "/v1/actions/process-check-result",
			`{ "type": "Service", "service": "web1!disk", "exit_status": 1, "plugin_output": "DISK WARNING - free space: / 3326 MB (56%)", "performance_data": "/=2643MB;5948;5958;0;5968" }`,
			bearer, "web1/disk", "WARNING", "DISK WARNING - free space: / 3326 MB (56%)"},
		{"service in the URL", "/v1/actions/process-check-result?service=web2!http",
			`{ "exit_status": 3, "plugin_output": "UNKNOWN - plugin timed out", "check_source": "example.localdomain" }`,
			basic, "web2/http", "UNKNOWN", "UNKNOWN - plugin timed out"},
		{"host by address", "/v1/actions/process-check-result",
			`{ "type": "Host", "host": "192.0.2.2", "exit_status": 1, "plugin_output": "DOWN by address" }`,
			bearer, "web2", "CRITICAL", "DOWN by address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, raw := post(c.path, c.body, c.auth)
			var r icingaResp
			if err := json.Unmarshal(raw, &r); err != nil || code != 200 || len(r.Results) != 1 || r.Results[0].Code != 200 || !strings.Contains(r.Results[0].Status, "Successfully processed") {
				t.Fatalf("%d %s", code, raw)
			}
			id := f.aIDs[c.check]
			e.WaitStatus(t, a.Token, id, c.status)
			var out struct {
				Check struct {
					State struct {
						Output, Worker string
						Perfdata       []struct{ Label string }
					}
				}
			}
			e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { output worker perfdata { label } } } }`, map[string]any{"id": id}, &out)
			if out.Check.State.Output != c.output {
				t.Fatalf("output %q, want %q", out.Check.State.Output, c.output)
			}
			if strings.Contains(c.body, "performance_data") && len(out.Check.State.Perfdata) == 0 {
				t.Fatalf("perfdata lost: %+v", out.Check.State)
			}
			if strings.Contains(c.body, "check_source") && out.Check.State.Worker != "example.localdomain" {
				t.Fatalf("check_source %q", out.Check.State.Worker)
			}
		})
	}
	t.Run("rejected bodies", func(t *testing.T) {
		for _, body := range []string{
			`{ "type": "Host", "filter": "host.name==\"web1\"", "exit_status": 2, "plugin_output": "x" }`,
			`{ "type": "Service", "filter": "host.name==\"web1\"", "exit_status": 2, "plugin_output": "x" }`,
			`{ "type": "Service", "service": "web1!http", "exit_status": 7, "plugin_output": "x" }`,
			`{ "type": "Service", "service": "web1!http", "plugin_output": "no exit status" }`,
			`{ "type": "Service", "filter": "match(\"web*\", host.name)", "exit_status": 0, "plugin_output": "x" }`,
			`{ "exit_status": 0, "plugin_output": "no object" }`,
			`not json`,
		} {
			code, raw := post("/v1/actions/process-check-result", body, bearer)
			if code != 400 {
				t.Errorf("%s: %d %s", body, code, raw)
			}
		}
		code, _ := post("/v1/actions/process-check-result", `{ "service": "web1!nope", "exit_status": 0, "plugin_output": "x" }`, bearer)
		if code != 404 {
			t.Errorf("unknown service: %d", code)
		}
		code, _ = post("/v1/actions/process-check-result", `{ "service": "web1!http", "exit_status": 0, "plugin_output": "x" }`, func(r *http.Request) { r.SetBasicAuth("root", "icinga") })
		if code != 401 {
			t.Errorf("Icinga's own password instead of a token: %d", code)
		}
	})
	_ = time.Second
}
