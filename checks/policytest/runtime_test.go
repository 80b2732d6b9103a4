// Package policytest tests the run-time half of the hosted execution
// policy across engines: requests that slipped past apply-time validation
// (or a name that resolves to a refused address) are refused while they
// run. Every connection attempted goes to loopback only.
package policytest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/dummy"
	httpcheck "github.com/bergamot-monitoring/bergamot/checks/http"
	"github.com/bergamot-monitoring/bergamot/checks/nagios"
	"github.com/bergamot-monitoring/bergamot/checks/nrpe"
	"github.com/bergamot-monitoring/bergamot/checks/script"
	"github.com/bergamot-monitoring/bergamot/checks/tcp"
	"github.com/bergamot-monitoring/bergamot/checks/udp"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

func hosted(allow ...string) *checks.Policy {
	var pf []netip.Prefix
	for _, a := range allow {
		pf = append(pf, netip.MustParsePrefix(a))
	}
	return &checks.Policy{Mode: checks.PolicyHosted, Net: netpolicy.New(netpolicy.Options{Allow: pf})}
}

// listener accepts and counts connections on 127.0.0.1.
func listener(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

func execute(t *testing.T, e checks.Engine, req *checks.Request) *checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if req.Timeout == 0 {
		req.Timeout = 5 * time.Second
	}
	res, err := e.Execute(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRegistryRefusesUnderHosted: the registry of a hosted worker asks
// the engine before running, and refuses engines that cannot say.
func TestRegistryRefusesUnderHosted(t *testing.T) {
	reg := checks.NewRegistry()
	reg.Register(nagios.New(nagios.Options{PluginDir: nagios.DefaultPluginDir}))
	reg.Register(dummy.New(dummy.Options{}))
	reg.Register(silent{})
	reg.SetPolicy(hosted())
	for _, tc := range []struct {
		req  checks.Request
		want string
	}{
		{checks.Request{Engine: "nagios", CommandLine: "check_dummy 0; id"}, `";" in the command line`},
		{checks.Request{Engine: "nagios", CommandLine: "$(id)"}, `"$"`},
		{checks.Request{Engine: "nagios", CommandLine: "/bin/cat /etc/shadow"}, "outside"},
		{checks.Request{Engine: "nagios", CommandLine: "../../bin/sh"}, `".."`},
		{checks.Request{Engine: "nagios", CommandLine: "check_dummy 0", Parameters: map[string]string{"plugin_dir": "/bin"}}, "plugin_dir"},
		{checks.Request{Engine: "silent"}, `the "silent" engine does not run in shared zones`},
	} {
		req := tc.req
		req.Timeout = 5 * time.Second
		res := reg.Execute(context.Background(), &req)
		if res.Status != checks.StatusError || !strings.Contains(res.Output, tc.want) || !strings.Contains(res.Output, "hosted execution policy") {
			t.Errorf("%+v: %s %q, want a refusal with %s", tc.req, res.Status, res.Output, tc.want)
		}
		if req.Policy != nil {
			t.Error("the registry changed the caller's request")
		}
	}
	if res := reg.Execute(context.Background(), &checks.Request{Engine: "nagios", CommandLine: "check_dummy 0 fine", Timeout: 5 * time.Second}); res.Status != checks.StatusOK {
		t.Errorf("allow-listed plugin: %+v", res)
	}
	// A private zone (per the SharedZone hook) runs what it says.
	p := hosted()
	p.SharedZone = func(z string) bool { return z != "site-dc" }
	reg.SetPolicy(p)
	if res := reg.Execute(context.Background(), &checks.Request{Engine: "nagios", CommandLine: "/bin/echo private", Zone: "site-dc", Timeout: 5 * time.Second}); res.Output != "private" {
		t.Errorf("private zone: %+v", res)
	}
	if res := reg.Execute(context.Background(), &checks.Request{Engine: "nagios", CommandLine: "/bin/echo shared", Zone: "default", Timeout: 5 * time.Second}); res.Status != checks.StatusError {
		t.Errorf("shared zone: %+v", res)
	}
}

// silent is an engine without a PolicyChecker.
type silent struct{}

func (silent) Name() string { return "silent" }
func (silent) Execute(context.Context, *checks.Request) (*checks.Result, error) {
	return &checks.Result{Status: checks.StatusOK, Output: "ran"}, nil
}

// TestEnginesRefuseLoopbackWhileRunning: the engines themselves (not only
// CheckPolicy) refuse a loopback peer under hosted, on the resolved
// address: "localhost" and a literal alike; the peer never sees a
// connection. Under trusted the same request reaches it.
func TestEnginesRefuseLoopbackWhileRunning(t *testing.T) {
	addr, accepted := listener(t)
	host, port, _ := net.SplitHostPort(addr)
	_ = host
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "internal secret body") }))
	defer srv.Close()
	_, hport, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	engines := []struct {
		e      checks.Engine
		params map[string]string
		script string
	}{
		{tcp.New(tcp.Options{}), map[string]string{"host": "localhost", "port": port}, ""},
		{httpcheck.New(httpcheck.Options{}), map[string]string{"url": "http://localhost:" + hport + "/"}, ""},
		{nrpe.New(nrpe.Options{}), map[string]string{"host": "localhost", "port": port, "transport": "plain"}, ""},
		{script.New(script.Options{}), nil, `http.check().connect('localhost').port(` + hport + `).get('/').execute(function(r){bergamot.ok('reached ' + r.body)}, function(e){bergamot.error(e)});`},
	}
	for _, tc := range engines {
		req := &checks.Request{Engine: tc.e.Name(), Parameters: tc.params, Script: tc.script, Policy: hosted()}
		res := execute(t, tc.e, req)
		if res.Status != checks.StatusError || !strings.Contains(res.Output+res.LongOutput, "hosted execution policy") {
			t.Errorf("%s under hosted: %s %q", tc.e.Name(), res.Status, res.Output)
		}
		if strings.Contains(res.Output+res.LongOutput, "internal secret body") {
			t.Errorf("%s echoed the internal body: %q", tc.e.Name(), res.Output)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the loopback peer saw %d connections under hosted", n)
	}
	// Under an explicit allow range the same checks reach their peer.
	res := execute(t, tcp.New(tcp.Options{}), &checks.Request{Engine: "tcp", Parameters: map[string]string{"host": "localhost", "port": port}, Policy: hosted("127.0.0.0/8", "::1/128")})
	if res.Status != checks.StatusOK {
		t.Errorf("tcp with --allow-net 127.0.0.0/8: %+v", res)
	}
	res = execute(t, httpcheck.New(httpcheck.Options{}), &checks.Request{Engine: "http", Parameters: map[string]string{"url": srv.URL}, Policy: hosted("127.0.0.0/8")})
	if res.Status != checks.StatusOK {
		t.Errorf("http with --allow-net 127.0.0.0/8: %+v", res)
	}
}

// TestHTTPRedirectRefusedWhileRunning: an allowed server redirecting to a
// refused address is not followed.
func TestHTTPRedirectRefusedWhileRunning(t *testing.T) {
	var hits atomic.Int32
	inner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer inner.Close()
	_, iport, _ := net.SplitHostPort(strings.TrimPrefix(inner.URL, "http://"))
	outer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+iport+"/admin", http.StatusFound)
	}))
	defer outer.Close()
	res := execute(t, httpcheck.New(httpcheck.Options{}), &checks.Request{Engine: "http",
		Parameters: map[string]string{"url": outer.URL, "follow_redirects": "true"}, Policy: hosted("127.0.0.1/32")})
	if res.Status == checks.StatusOK || !strings.Contains(res.Output, "127.0.0.2") || hits.Load() != 0 {
		t.Fatalf("redirect: %s %q, inner hits %d", res.Status, res.Output, hits.Load())
	}
}

// TestUDPRefusedWhileRunning: a datagram to loopback is never sent.
func TestUDPRefusedWhileRunning(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	res := execute(t, udp.New(udp.Options{}), &checks.Request{Engine: "udp",
		Parameters: map[string]string{"host": "127.0.0.1", "port": port, "send": "ping"}, Policy: hosted(), Timeout: time.Second})
	if res.Status == checks.StatusOK || !strings.Contains(res.Output, "hosted execution policy") {
		t.Fatalf("udp: %s %q", res.Status, res.Output)
	}
	_ = pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, _, err := pc.ReadFrom(make([]byte, 64)); err == nil {
		t.Fatalf("the datagram arrived (%d bytes)", n)
	}
}
