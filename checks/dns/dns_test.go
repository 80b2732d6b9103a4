package dns_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/dns"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
)

const zone = `$ORIGIN test.
@	3600 IN SOA ns.test. admin.test. 1 3600 600 86400 60
www	60 IN A 10.0.0.1
www	60 IN A 10.0.0.2
www	60 IN AAAA 2001:db8::1
alias	60 IN CNAME www.test.
slow	60 IN A 10.0.0.3
@	60 IN MX 10 mail.test.
@	60 IN TXT "v=spf1 -all"
`

// zoneServer serves the test zone with miekg/dns on 127.0.0.1:0 (UDP).
func zoneServer(t *testing.T) string {
	t.Helper()
	records := map[string][]mdns.RR{}
	names := map[string]bool{}
	zp := mdns.NewZoneParser(strings.NewReader(zone), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		k := fmt.Sprintf("%s/%d", rr.Header().Name, rr.Header().Rrtype)
		records[k] = append(records[k], rr)
		names[rr.Header().Name] = true
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &mdns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
			m := new(mdns.Msg)
			m.SetReply(r)
			q := r.Question[0]
			if q.Name == "slow.test." {
				time.Sleep(300 * time.Millisecond)
			}
			m.Answer = records[fmt.Sprintf("%s/%d", strings.ToLower(q.Name), q.Qtype)]
			if !names[strings.ToLower(q.Name)] {
				m.Rcode = mdns.RcodeNameError
			}
			_ = w.WriteMsg(m)
		})}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func run(t *testing.T, e *dns.Engine, timeout time.Duration, params map[string]string) *checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := e.Execute(ctx, &checks.Request{Engine: "dns", Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDNSAgainstZoneServer(t *testing.T) {
	base := certtest.Snapshot()
	t.Cleanup(func() { base.Check(t, 0) })
	addr := zoneServer(t)
	host, port, _ := net.SplitHostPort(addr)
	p := func(kv ...string) map[string]string {
		m := map[string]string{"server": host, "port": port}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	e := dns.New(dns.Options{})
	cases := []struct {
		name   string
		params map[string]string
		status checks.Status
		output string
	}{
		{"A", p("name", "www.test", "expect", "10.0.0.2,10.0.0.1"), checks.StatusOK, "DNS OK - www.test A 10.0.0.1, 10.0.0.2 from " + addr},
		{"AAAA", p("name", "www.test", "type", "aaaa", "expect", "2001:db8::1"), checks.StatusOK, "AAAA 2001:db8::1"},
		{"CNAME", p("name", "alias.test", "type", "CNAME", "expect", "WWW.test."), checks.StatusOK, "CNAME www.test"},
		{"MX", p("name", "test", "type", "MX", "expect", "10 mail.test"), checks.StatusOK, "MX 10 mail.test"},
		{"TXT", p("name", "test", "type", "TXT", "expect", "v=spf1 -all"), checks.StatusOK, "TXT v=spf1 -all"},
		{"wrong answer", p("name", "www.test", "expect", "10.9.9.9"), checks.StatusCritical, "expected 10.9.9.9 not in the answer"},
		{"NXDOMAIN", p("name", "nope.test"), checks.StatusCritical, "DNS CRITICAL - nope.test A: NXDOMAIN from"},
		{"no such type", p("name", "alias.test", "type", "MX"), checks.StatusCritical, "alias.test has no MX record"},
		{"slow warns", p("name", "slow.test", "warning_response_time", "100", "critical_response_time", "2000"), checks.StatusWarning, "DNS WARNING"},
		{"bad type", p("name", "www.test", "type", "SRVX"), checks.StatusError, `parameter "type": "SRVX"`},
		{"no name", p(), checks.StatusError, `parameter "name" is required`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, e, 2*time.Second, c.params)
			if res.Status != c.status || !strings.Contains(res.Output, c.output) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Output, c.status, c.output)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		res := run(t, e, 100*time.Millisecond, p("name", "slow.test"))
		if res.Status != checks.StatusTimeout || !strings.Contains(res.Output, "no answer from DNS server") || time.Since(start) > time.Second {
			t.Fatalf("got %s %q after %s", res.Status, res.Output, time.Since(start))
		}
	})
}

// TestDNSAgainstDnsmasq asks Debian's dnsmasq, run in the foreground on a
// loopback port with records given on its command line.
func TestDNSAgainstDnsmasq(t *testing.T) {
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		t.Skip("dnsmasq not installed (apt-get install dnsmasq-base)")
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	pc.Close()
	cmd := exec.Command(bin, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--listen-address=127.0.0.1", "--bind-interfaces", "--port="+port, "--user=root", "--pid-file=",
		"--host-record=shop.example.test,192.0.2.10", "--mx-host=example.test,mx.example.test,5",
		"--txt-record=example.test,hello world", "--cname=www.example.test,shop.example.test")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	e := dns.New(dns.Options{})
	p := map[string]string{"server": "127.0.0.1", "port": port, "name": "shop.example.test", "expect": "192.0.2.10"}
	var res *checks.Result
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if res = run(t, e, 500*time.Millisecond, p); res.Status == checks.StatusOK {
			break
		}
	}
	if res.Status != checks.StatusOK || !strings.Contains(res.Output, "A 192.0.2.10") {
		t.Fatalf("dnsmasq A: %s %q (dnsmasq said %s)", res.Status, res.Output, stderr.String())
	}
	for _, c := range []struct{ typ, name, want string }{
		{"MX", "example.test", "5 mx.example.test"},
		{"TXT", "example.test", "hello world"},
		{"CNAME", "www.example.test", "shop.example.test"},
	} {
		res := run(t, e, time.Second, map[string]string{"server": "127.0.0.1", "port": port, "name": c.name, "type": c.typ, "expect": c.want})
		if res.Status != checks.StatusOK {
			t.Errorf("dnsmasq %s: %s %q", c.typ, res.Status, res.Output)
		}
	}
}
