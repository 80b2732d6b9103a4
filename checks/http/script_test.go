package http_test

import (
	"context"
	"fmt"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	bhttp "github.com/bergamot-monitoring/bergamot/checks/http"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
	"github.com/bergamot-monitoring/bergamot/internal/fixturecmd"
)

// healthScript GETs /json and judges the replica lag against max_lag,
// written the way Bergamot's templates are (asynchronous callbacks).
const healthScript = `
bergamot.require('host');
http.check()
  .connect(check.getParameter('host'))
  .port(check.getIntParameter('port'))
  .ssl(check.getBooleanParameter('ssl', false))
  .get('/json')
  .execute(
    function(r) {
      if (r.status() != 200) { bergamot.error('API returned: ' + r.status()); return; }
      var doc = JSON.parse(r.content());
      var lag = doc.db.replicas[0].lag;
      if (doc.status == 'up' && lag <= check.getIntParameter('max_lag'))
        bergamot.ok('up, replica lag ' + lag);
      else
        bergamot.critical('replica lag ' + lag + ' over ' + check.getIntParameter('max_lag'));
    },
    function(e) { bergamot.error(e); }
  );`

// runScript runs a script check with the http engine under a deadline.
func runScript(t *testing.T, e *bhttp.Engine, timeout time.Duration, src string, params map[string]string) *checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := e.Execute(ctx, &checks.Request{CheckID: "s1", Engine: "http", Executor: "script", Script: src, Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestScriptExecutor(t *testing.T) {
	base := certtest.Snapshot()
	now := time.Now()
	ca := certtest.NewCA(t)
	plain := httptest.NewServer(testMux())
	secure := tlsServer(t, certtest.Leaf(t, ca, "127.0.0.1", now.Add(-time.Hour), now.Add(90*24*time.Hour)), nil)
	self := tlsServer(t, certtest.Leaf(t, nil, "self.test", now.Add(-time.Hour), now.Add(90*24*time.Hour)), nil)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	p := func(addr string, kv ...string) map[string]string {
		h, port := hostPort(t, addr)
		m := map[string]string{"host": h, "port": port}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	e := bhttp.New(bhttp.Options{})
	cases := []struct {
		name   string
		src    string
		params map[string]string
		status checks.Status
		output string
	}{
		{"json ok", healthScript, p(plain.URL, "max_lag", "5"), checks.StatusOK, "up, replica lag 3"},
		{"json critical", healthScript, p(plain.URL, "max_lag", "2"), checks.StatusCritical, "replica lag 3 over 2"},
		{"https with ca_file", healthScript, p(secure.URL, "max_lag", "5", "ssl", "yes", "ca_file", ca.File), checks.StatusOK, "up, replica lag 3"},
		{"https untrusted goes to onError", healthScript, p(secure.URL, "max_lag", "5", "ssl", "yes"), checks.StatusError,
			"https://" + strings.TrimPrefix(secure.URL, "https://") + "/json: certificate for 127.0.0.1 is not trusted"},
		{"https permit_invalid_certs", healthScript, p(self.URL, "max_lag", "5", "ssl", "yes", "permit_invalid_certs", "yes"), checks.StatusOK, "up"},
		{"closed port goes to onError", healthScript, p("http://"+closedAddr, "max_lag", "5"), checks.StatusError,
			"http.check(): GET http://" + closedAddr + "/json: connection refused"},
		{"closed port without onError throws", `http.check().connect(check.getParameter('host')).port(check.getIntParameter('port'))
			.execute(function(r) { bergamot.ok('reached'); });`, p("http://" + closedAddr), checks.StatusError,
			"script failed: GoError: http.check(): GET http://" + closedAddr + "/: connection refused"},
		{"synchronous style", `var r = http.check().connect(check.getParameter('host')).port(check.getIntParameter('port')).get('/missing').execute();
			bergamot.warning('status ' + r.status() + ' in ' + (r.runtime() >= 0 ? 'some' : 'no') + ' ms');`,
			p(plain.URL), checks.StatusWarning, "status 404 in some ms"},
		{"request timeout", `http.check().connect(check.getParameter('host')).port(check.getIntParameter('port')).timeout(100)
			.get('/slow?d=3s').execute(function(r) { bergamot.ok('fast'); }, function(e) { bergamot.critical(e); });`,
			p(plain.URL), checks.StatusCritical, "/slow?d=3s: no response within 100 ms"},
		{"permitInvalidCerts applies to its own request only", `
			var h = check.getParameter('host'), p = check.getIntParameter('port');
			var first = http.check().connect(h).port(p).https().permitInvalidCerts().execute();
			http.check().connect(h).port(p).https().execute(
				function(r) { bergamot.critical('verified request accepted a self-signed certificate'); },
				function(e) { bergamot.ok('first ' + first.status() + ', then ' + e.message); });`,
			p(self.URL), checks.StatusOK, "first 200, then http.check(): GET " + self.URL + "/: certificate for 127.0.0.1 is not trusted"},
		{"missing parameter", healthScript, map[string]string{}, checks.StatusError, `the parameter "host" is required but not set`},
		{"no script", "", p(plain.URL), checks.StatusError, "command has no script to run"},
		{"does not compile", "http.check(", p(plain.URL), checks.StatusError, "script does not compile"},
		{"bad ca_file", healthScript, p(plain.URL, "ca_file", "/nonexistent/ca.pem"), checks.StatusError, `HTTP script check misconfigured: parameter "ca_file"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runScript(t, e, 3*time.Second, c.src, c.params)
			if res.Status != c.status || !strings.Contains(res.Output, c.output) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Output, c.status, c.output)
			}
		})
	}
	t.Run("script that never ends stops at the deadline", func(t *testing.T) {
		start := time.Now()
		res := runScript(t, e, 200*time.Millisecond, `while (true) {}`, nil)
		if res.Status != checks.StatusTimeout || time.Since(start) > time.Second {
			t.Fatalf("got %s %q after %s", res.Status, res.Output, time.Since(start))
		}
	})
	t.Run("slow server stops at the deadline", func(t *testing.T) {
		start := time.Now()
		res := runScript(t, e, 200*time.Millisecond, `http.check().connect(check.getParameter('host')).port(check.getIntParameter('port'))
			.get('/slow?d=5s').execute(function(r) { bergamot.ok('fast'); }, function(e) { bergamot.error(e); });`, p(plain.URL))
		if res.Status != checks.StatusTimeout || !strings.Contains(res.Output, "deadline") || time.Since(start) > time.Second {
			t.Fatalf("got %s %q after %s", res.Status, res.Output, time.Since(start))
		}
	})
	t.Run("request timeout from the check", func(t *testing.T) {
		// No ctx deadline: the check's own Timeout bounds the run.
		start := time.Now()
		res, err := e.Execute(context.Background(), &checks.Request{Executor: "script", Script: `for (;;) {}`, Timeout: 150 * time.Millisecond})
		if err != nil || res.Status != checks.StatusTimeout || time.Since(start) > time.Second {
			t.Fatalf("got %v %s %q after %s", err, res.Status, res.Output, time.Since(start))
		}
	})
	e.Close()
	for _, s := range []*httptest.Server{plain, secure, self} {
		s.Close()
	}
	base.Check(t, 2)
}

// TestRabbitMQTemplates runs Bergamot's own rabbitmq-* scripts (commands
// extending http-script-check) through the http engine against a server
// that answers RabbitMQ's /api/overview.
func TestRabbitMQTemplates(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "guest" || p != "s3cret" {
			nethttp.Error(w, "unauthorized", nethttp.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/api/overview" {
			nethttp.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"rabbitmq_version":"3.12.1","object_totals":{"connections":25,"channels":40}}`)
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	cmds := fixturecmd.Load(t, "rabbitmq/rabbitmq_overview_commands.xml")
	e := bhttp.New(bhttp.Options{})
	defer e.Close()
	params := func(cmd string, kv ...string) map[string]string {
		m := map[string]string{}
		for _, p := range cmds[cmd].Params {
			m[p.Name] = strings.TrimSpace(p.Value)
		}
		m["host"], m["port"], m["username"], m["password"] = host, port, "guest", "s3cret"
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		cmd    string
		params map[string]string
		status checks.Status
		output string
	}{
		{"rabbitmq-version-info", params("rabbitmq-version-info"), checks.StatusInfo, "RabbitMQ Version: 3.12.1"},
		{"rabbitmq-active-connections", params("rabbitmq-active-connections"), checks.StatusWarning, "Active connections: 25"},
		{"rabbitmq-active-channels", params("rabbitmq-active-channels"), checks.StatusOK, "Active channels: 40"},
		{"rabbitmq-version-info", params("rabbitmq-version-info", "password", "wrong"), checks.StatusError, "RabbitMQ API returned: 401"},
	}
	for _, c := range cases {
		t.Run(c.cmd, func(t *testing.T) {
			script := cmds[c.cmd].Script
			if script == "" {
				t.Fatalf("fixture has no script for %s", c.cmd)
			}
			res := runScript(t, e, 3*time.Second, script, c.params)
			if res.Status != c.status || !strings.Contains(res.Output, c.output) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Output, c.status, c.output)
			}
		})
	}
}

// TestFixtureCommandIsScriptExecutor pins the routing this executor serves:
// Bergamot's http-script-check is engine "http", executor "script".
func TestFixtureCommandIsScriptExecutor(t *testing.T) {
	c, ok := fixturecmd.Load(t, "generic_http_commands.xml")["http-script-check"]
	if !ok || c.Engine != "http" || c.Executor != "script" {
		t.Fatalf("http-script-check is %+v", c)
	}
}
