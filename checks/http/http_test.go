package http_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	bhttp "github.com/bergamot-monitoring/bergamot/checks/http"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
)

func testMux() *nethttp.ServeMux {
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	})
	mux.HandleFunc("/json", func(w nethttp.ResponseWriter, _ *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"up","db":{"ok":true,"replicas":[{"name":"r1","lag":3}]}}`)
	})
	mux.HandleFunc("/missing", func(w nethttp.ResponseWriter, _ *nethttp.Request) { nethttp.NotFound(w, nil) })
	mux.HandleFunc("/redirect", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "/json", nethttp.StatusFound)
	})
	mux.HandleFunc("/loop", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Redirect(w, r, "/loop", nethttp.StatusFound)
	})
	mux.HandleFunc("/slow", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/echo", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "%s %s auth=%s x=%s", r.Method, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("X-Test"))
	})
	return mux
}

func hostPort(t *testing.T, rawURL string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(rawURL, "https://"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

func run(t *testing.T, e *bhttp.Engine, executor string, params map[string]string) *checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := e.Execute(ctx, &checks.Request{Engine: "http", Executor: executor, Parameters: params, HostName: "web.test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestHTTPChecks(t *testing.T) {
	base := certtest.Snapshot()
	srv := httptest.NewServer(testMux())
	host, port := hostPort(t, srv.URL)
	e := bhttp.New(bhttp.Options{})
	p := func(kv ...string) map[string]string {
		m := map[string]string{"host": host, "port": port, "status": "200,301,302,304",
			"warning_response_time": "1000", "critical_response_time": "2500"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name   string
		params map[string]string
		status checks.Status
		output string
	}{
		{"ok", p(), checks.StatusOK, "HTTP OK: HTTP/1.1 200 OK - 26 bytes in "},
		{"virtual host", p("virtual_host", "www.example.org", "contains", "hello from www.example.org"), checks.StatusOK, "HTTP OK"},
		{"contains missing", p("contains", "goodbye"), checks.StatusCritical, `body does not contain "goodbye"`},
		{"regex", p("regex", `hello from 127\.0\.0\.1:\d+`), checks.StatusOK, "HTTP OK"},
		{"404", p("path", "/missing"), checks.StatusCritical, "HTTP CRITICAL: HTTP/1.1 404 Not Found - 19 bytes in"},
		{"404 accepted by class", p("path", "/missing", "status", "4xx"), checks.StatusOK, "HTTP OK"},
		{"redirect not followed", p("path", "/redirect"), checks.StatusOK, "302 Found"},
		{"redirect not accepted", p("path", "/redirect", "status", "200"), checks.StatusCritical, "status 302 is not one of 200"},
		{"redirect followed", p("path", "/redirect", "follow_redirects", "yes", "json_path", "status", "json_value", "up"), checks.StatusOK, "200 OK"},
		{"redirect loop", p("path", "/loop", "follow_redirects", "yes", "max_redirects", "3"), checks.StatusCritical, "stopped after 3 redirects"},
		{"json nested", p("path", "/json", "json_path", "db.replicas.0.lag", "json_value", "3"), checks.StatusOK, "HTTP OK"},
		{"json wrong value", p("path", "/json", "json_path", "db.ok", "json_value", "false"), checks.StatusCritical, `JSON db.ok is "true", expected "false"`},
		{"json missing", p("path", "/json", "json_path", "db.master"), checks.StatusCritical, "JSON has no db.master"},
		{"json not json", p("json_path", "a"), checks.StatusCritical, "body is not JSON"},
		{"length min", p("length", "1000"), checks.StatusCritical, "body is 26 bytes, expected 1000:"},
		{"post with headers", p("path", "/echo", "method", "POST", "body", "{}", "content_type", "application/json",
			"username", "u", "password", "p", "headers", "X-Test: yes"), checks.StatusOK, ""},
		{"slow warns", p("path", "/slow?d=100ms", "warning_response_time", "50", "critical_response_time", "5000"), checks.StatusWarning, "response took"},
		{"bad status param", p("status", "20x"), checks.StatusError, `parameter "status": "20x" is not a status code`},
		{"bad response time", p("warning_response_time", "fast"), checks.StatusError, `parameter "warning_response_time"`},
		{"url param", map[string]string{"url": srv.URL + "/json", "contains": "replicas"}, checks.StatusOK, "HTTP OK"},
		{"unknown executor", nil, checks.StatusError, `the http engine has no "ftp" executor`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exec := ""
			if c.params == nil {
				exec = "ftp"
			}
			res := run(t, e, exec, c.params)
			if res.Status != c.status || !strings.Contains(res.Output, c.output) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Output, c.status, c.output)
			}
		})
	}
	t.Run("perfdata", func(t *testing.T) {
		res := run(t, e, "", p())
		if len(res.Perfdata) != 2 || res.Perfdata[0].Label != "time" || res.Perfdata[0].UOM != "s" ||
			res.Perfdata[0].Warn != "1" || res.Perfdata[0].Crit != "2.5" || res.Perfdata[1].Label != "size" || *res.Perfdata[1].Value != 26 {
			t.Fatalf("perfdata %+v", res.Perfdata)
		}
	})
	t.Run("echo", func(t *testing.T) {
		res := run(t, e, "", p("path", "/echo", "method", "POST", "content_type", "application/json",
			"username", "u", "password", "p", "headers", "X-Test: yes", "contains", "POST application/json auth=Basic dTpw x=yes"))
		if res.Status != checks.StatusOK {
			t.Fatal(res.Output)
		}
	})
	e.Close()
	srv.Close()
	base.Check(t, 2)
}

func TestHTTPConnectionRefusedAndTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port := hostPort(t, "http://"+ln.Addr().String())
	ln.Close()
	e := bhttp.New(bhttp.Options{})
	defer e.Close()
	res := run(t, e, "", map[string]string{"host": "127.0.0.1", "port": port})
	if res.Status != checks.StatusCritical || !strings.HasPrefix(res.Output, "CRITICAL - connection refused to 127.0.0.1:"+port+" after ") {
		t.Fatalf("got %s %q", res.Status, res.Output)
	}

	srv := httptest.NewServer(testMux())
	defer srv.Close()
	host, sport := hostPort(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, _ = e.Execute(ctx, &checks.Request{Parameters: map[string]string{"host": host, "port": sport, "path": "/slow?d=3s"}})
	if res.Status != checks.StatusTimeout || !strings.Contains(res.Output, "TIMEOUT - no response from") || time.Since(start) > time.Second {
		t.Fatalf("got %s %q after %s", res.Status, res.Output, time.Since(start))
	}
}

func tlsServer(t *testing.T, cert tls.Certificate, clientCAs *certtest.CA) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(testMux())
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if clientCAs != nil {
		srv.TLS.ClientCAs = clientCAs.Pool
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPS(t *testing.T) {
	base := certtest.Snapshot()
	now := time.Now()
	ca := certtest.NewCA(t)
	good := tlsServer(t, certtest.Leaf(t, ca, "good.test", now.Add(-time.Hour), now.Add(90*24*time.Hour)), nil)
	soon := tlsServer(t, certtest.Leaf(t, ca, "soon.test", now.Add(-time.Hour), now.Add(10*24*time.Hour+time.Hour)), nil)
	expired := tlsServer(t, certtest.Leaf(t, ca, "old.test", now.Add(-40*24*time.Hour), now.Add(-3*24*time.Hour-time.Hour)), nil)
	self := tlsServer(t, certtest.Leaf(t, nil, "self.test", now.Add(-time.Hour), now.Add(90*24*time.Hour)), nil)
	client := certtest.Leaf(t, ca, "client.test", now.Add(-time.Hour), now.Add(24*time.Hour))
	certFile, keyFile := certtest.WriteKeyPair(t, client)
	mtls := tlsServer(t, certtest.Leaf(t, ca, "mtls.test", now.Add(-time.Hour), now.Add(90*24*time.Hour)), ca)

	e := bhttp.New(bhttp.Options{})
	p := func(srv *httptest.Server, vhost string, kv ...string) map[string]string {
		h, port := hostPort(t, srv.URL)
		m := map[string]string{"host": h, "port": port, "virtual_host": vhost, "ssl": "yes", "ca_file": ca.File}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name, executor string
		params         map[string]string
		status         checks.Status
		output         string
	}{
		{"trusted", "", p(good, "good.test", "contains", "hello from good.test"), checks.StatusOK, "HTTP OK: HTTP/"},
		{"expired", "", p(expired, "old.test"), checks.StatusCritical, "CRITICAL - certificate for old.test expired 3 days ago"},
		{"expired permitted", "", p(expired, "old.test", "permit_invalid_certs", "yes"), checks.StatusOK, "HTTP OK"},
		{"self-signed", "", p(self, "self.test"), checks.StatusCritical, "certificate for self.test is not trusted (self-signed"},
		{"self-signed permitted", "", p(self, "self.test", "permit_invalid_certs", "yes"), checks.StatusOK, "HTTP OK"},
		{"wrong name", "", p(good, "other.test"), checks.StatusCritical, "certificate is not valid for other.test (it is for good.test"},
		{"expiry warning in http", "", p(soon, "soon.test", "expires_in", "28", "critical_expires_in", "5"), checks.StatusWarning, "certificate for soon.test expires in 10 days"},
		{"http/1.1 forced", "", p(good, "good.test", "version", "1.1"), checks.StatusOK, "HTTP OK: HTTP/1.1 200 OK"},
		{"http/2", "", p(good, "good.test", "version", "2"), checks.StatusOK, "HTTP OK: HTTP/2.0 200 OK"},
		{"client cert missing", "", p(mtls, "mtls.test"), checks.StatusCritical, "CRITICAL - "},
		{"client cert", "", p(mtls, "mtls.test", "client_cert", certFile, "client_key", keyFile), checks.StatusOK, "HTTP OK"},
		{"cert ok", "certificate", p(good, "good.test"), checks.StatusOK, "OK - certificate for good.test is valid for 89 more days"},
		{"cert soon", "certificate", p(soon, "soon.test"), checks.StatusWarning, "WARNING - certificate for soon.test expires in 10 days"},
		{"cert soon critical", "certificate", p(soon, "soon.test", "critical_expires_in", "14"), checks.StatusCritical, "expires in 10 days"},
		{"cert expired", "certificate", p(expired, "old.test"), checks.StatusCritical, "CRITICAL - certificate for old.test expired 3 days ago"},
		{"cert self-signed", "certificate", p(self, "self.test"), checks.StatusCritical, "not trusted (self-signed by CN=self.test)"},
		{"cert self-signed permitted", "certificate", p(self, "self.test", "permit_invalid_certs", "yes"), checks.StatusOK, "valid for 89 more days"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, e, c.executor, c.params)
			if res.Status != c.status || !strings.Contains(res.Output, c.output) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Output, c.status, c.output)
			}
		})
	}
	e.Close()
	for _, s := range []*httptest.Server{good, soon, expired, self, mtls} {
		s.Close()
	}
	base.Check(t, 2)
}

func TestTransportsBounded(t *testing.T) {
	srv := httptest.NewTLSServer(testMux())
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	e := bhttp.New(bhttp.Options{MaxTransports: 3})
	defer e.Close()
	base := certtest.Snapshot()
	for i := range 20 {
		res := run(t, e, "", map[string]string{"host": host, "port": port, "ssl": "yes", "permit_invalid_certs": "yes",
			"virtual_host": "v" + strconv.Itoa(i) + ".test"})
		if res.Status != checks.StatusOK {
			t.Fatal(res.Output)
		}
	}
	// 20 TLS identities, at most 3 transports with pooled connections alive.
	base.Check(t, 3*3)
}
