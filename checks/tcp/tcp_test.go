package tcp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
	"github.com/bergamot-monitoring/bergamot/checks/tcp"
)

// serveConns accepts on ln until the test ends and handles each connection
// in its own goroutine, with a 5 s deadline, closing it afterwards.
func serveConns(t testing.TB, ln net.Listener, handle func(c net.Conn)) {
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c)
			}()
		}
	}()
}

// bannerServer greets with a banner, then answers "PING\r\n" with "PONG\r\n".
func bannerServer(t testing.TB, tlsCfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	serveConns(t, ln, func(c net.Conn) {
		if _, err := c.Write([]byte("220 mail.test ESMTP ready\r\n")); err != nil {
			return
		}
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "PING\r\n" {
				_, _ = c.Write([]byte("PONG\r\n"))
			}
		}
	})
	return ln.Addr().String()
}

func run(t testing.TB, e *tcp.Engine, timeout time.Duration, params map[string]string) *checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := e.Execute(ctx, &checks.Request{Engine: "tcp", Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestTCP(t *testing.T) {
	base := certtest.Snapshot()
	t.Cleanup(func() { base.Check(t, 0) }) // runs last, after the servers closed
	now := time.Now()
	ca := certtest.NewCA(t)
	plain := bannerServer(t, nil)
	secure := bannerServer(t, &tls.Config{Certificates: []tls.Certificate{certtest.Leaf(t, ca, "mail.test", now.Add(-time.Hour), now.Add(20*24*time.Hour+time.Hour))}})
	expired := bannerServer(t, &tls.Config{Certificates: []tls.Certificate{certtest.Leaf(t, ca, "old.test", now.Add(-9*24*time.Hour), now.Add(-2*24*time.Hour-time.Hour))}})
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	p := func(addr string, kv ...string) map[string]string {
		h, port, _ := net.SplitHostPort(addr)
		m := map[string]string{"host": h, "port": port}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	e := tcp.New(tcp.Options{})
	cases := []struct {
		name   string
		params map[string]string
		status checks.Status
		output string
	}{
		{"connect", p(plain), checks.StatusOK, "TCP OK - connected to " + plain + " in "},
		{"banner", p(plain, "expect", "ESMTP"), checks.StatusOK, `received "220 mail.test ESMTP ready"`},
		{"banner mismatch", p(plain, "expect", "SSH-2.0"), checks.StatusCritical, `expected "SSH-2.0" but received "220 mail.test ESMTP ready"`},
		{"send expect", p(plain, "send", `PING\r\n`, "expect", "PONG"), checks.StatusOK, "PONG"},
		{"refused", p(deadAddr), checks.StatusCritical, "CRITICAL - connection refused to " + deadAddr + " after "},
		{"tls", p(secure, "ssl", "yes", "server_name", "mail.test", "ca_file", ca.File, "expect", "ESMTP"), checks.StatusOK, "certificate for mail.test is valid for 20 more days"},
		{"tls expiry warning", p(secure, "ssl", "yes", "server_name", "mail.test", "ca_file", ca.File, "expires_in", "28"), checks.StatusWarning, "TCP WARNING - connected to"},
		{"tls untrusted", p(secure, "ssl", "yes", "server_name", "mail.test"), checks.StatusCritical, "certificate for mail.test is not trusted"},
		{"tls expired", p(expired, "ssl", "yes", "server_name", "old.test", "ca_file", ca.File), checks.StatusCritical, "certificate for old.test expired 2 days ago"},
		{"tls on plain port", p(plain, "ssl", "yes"), checks.StatusCritical, "TLS handshake failed"},
		{"no port", map[string]string{"host": "127.0.0.1"}, checks.StatusError, `parameter "port" is required`},
		{"bad port", p(plain, "port", "http"), checks.StatusError, `parameter "port": "http" is not an integer`},
		{"critical time", p(plain, "critical_response_time", "@0:10000"), checks.StatusCritical, "TCP CRITICAL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, e, 2*time.Second, c.params)
			if res.Status != c.status || !strings.Contains(res.Output, c.output) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Output, c.status, c.output)
			}
		})
	}
	t.Run("perfdata", func(t *testing.T) {
		res := run(t, e, time.Second, p(plain, "warning_response_time", "100", "critical_response_time", "200"))
		pd := res.Perfdata
		if len(pd) != 1 || pd[0].Label != "time" || pd[0].UOM != "s" || pd[0].Warn != "0.1" || pd[0].Crit != "0.2" || *pd[0].Value <= 0 {
			t.Fatalf("perfdata %+v", pd)
		}
	})
	t.Run("expect gives up at the deadline", func(t *testing.T) {
		start := time.Now()
		res := run(t, e, 150*time.Millisecond, p(plain, "expect", "never-sent"))
		if res.Status != checks.StatusCritical || !strings.Contains(res.Output, `expected "never-sent" but received "220`) || time.Since(start) > time.Second {
			t.Fatalf("got %s %q after %s", res.Status, res.Output, time.Since(start))
		}
	})
}

func BenchmarkTCP(b *testing.B) {
	addr := bannerServer(b, nil)
	h, port, _ := net.SplitHostPort(addr)
	e := tcp.New(tcp.Options{})
	params := map[string]string{"host": h, "port": port, "expect": "ESMTP"}
	benchChecks(b, func() checks.Status { return run(b, e, 2*time.Second, params).Status })
}

func benchChecks(b *testing.B, check func() checks.Status) {
	start := time.Now()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if st := check(); st != checks.StatusOK {
				b.Errorf("status %s", st)
				return
			}
		}
	})
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "checks/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/float64(b.N), "cpu-ms/1000checks")
}
