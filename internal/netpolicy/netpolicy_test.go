package netpolicy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// These tests never send a packet anywhere but loopback: refusals of
// private, link-local and public addresses are tested on Check alone.

func TestCheckRefusesSpecialRanges(t *testing.T) {
	p := New(Options{Own: []netip.Addr{netip.MustParseAddr("203.0.113.7")}})
	for addr, reason := range map[string]string{
		"127.0.0.1":        "loopback",
		"127.9.9.9":        "loopback",
		"::1":              "loopback",
		"::ffff:127.0.0.1": "loopback",
		"169.254.169.254":  "the cloud metadata endpoint",
		"169.254.1.1":      "link-local",
		"fe80::1":          "link-local",
		"10.1.2.3":         "private",
		"172.16.0.1":       "private",
		"172.31.255.255":   "private",
		"192.168.1.1":      "private",
		"fd12::1":          "private (unique local)",
		"100.64.0.1":       "carrier-grade NAT (100.64.0.0/10)",
		"100.127.255.255":  "carrier-grade NAT (100.64.0.0/10)",
		"224.0.0.1":        "multicast",
		"ff02::1":          "multicast",
		"0.0.0.0":          "unspecified",
		"::":               "unspecified",
		"64:ff9b::7f00:1":  "loopback",
		"203.0.113.7":      "an address of the operator's own machine",
		"100.100.100.200":  "a cloud metadata endpoint",
		"fd00:ec2::254":    "the cloud metadata endpoint",
		"255.255.255.255":  "reserved (240.0.0.0/4)",
	} {
		err := p.Check(netip.MustParseAddr(addr))
		var r *RefusedError
		if !errors.As(err, &r) || r.Reason != reason {
			t.Errorf("Check(%s) = %v, want refusal %q", addr, err, reason)
		}
	}
	for _, addr := range []string{"8.8.8.8", "1.1.1.1", "2606:4700::1111", "172.32.0.1", "100.128.0.1", "203.0.113.8"} {
		if err := p.Check(netip.MustParseAddr(addr)); err != nil {
			t.Errorf("Check(%s) = %v, want allowed", addr, err)
		}
	}
}

func TestAllowRangeOverridesRefusal(t *testing.T) {
	allow, err := ParsePrefixes("10.20.0.0/16, 127.0.0.1", "192.168.5.0/24")
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{Allow: allow, Own: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	for _, a := range []string{"10.20.3.4", "127.0.0.1", "192.168.5.9"} {
		if err := p.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"10.21.0.1", "127.0.0.2", "192.168.6.1", "169.254.169.254"} {
		if err := p.Check(netip.MustParseAddr(a)); err == nil {
			t.Errorf("%s allowed", a)
		}
	}
	if _, err := ParsePrefixes("10.0.0.0/33"); err == nil || !strings.Contains(err.Error(), "10.0.0.0/33") {
		t.Errorf("bad CIDR: %v", err)
	}
	if _, err := ParsePrefixes("example"); err == nil || !strings.Contains(err.Error(), `"example"`) {
		t.Errorf("bad address: %v", err)
	}
}

func TestNilPolicyAllowsEverything(t *testing.T) {
	var p *Policy
	if p.Check(netip.MustParseAddr("127.0.0.1")) != nil || p.CheckHost("localhost") != nil || p.CheckAddress("10.0.0.1:80") != nil {
		t.Fatal("nil policy refused")
	}
}

func TestCheckHost(t *testing.T) {
	p := New(Options{Own: []netip.Addr{}})
	for _, h := range []string{"127.0.0.1", "[::1]", "localhost", "LocalHost.", "db.localhost", "2130706433", "0x7f.1", "127.1", "0177.0.0.1", "169.254.169.254", "fe80::1%eth0", "10.0.0.1"} {
		err := p.CheckHost(h)
		if !IsRefused(err) {
			t.Errorf("CheckHost(%q) = %v, want refused", h, err)
		} else if !strings.Contains(err.Error(), h) {
			t.Errorf("CheckHost(%q): %q does not name the host", h, err)
		}
	}
	for _, h := range []string{"example.com", "8.8.8.8", "www.localhost.example", "1e100.net"} {
		if err := p.CheckHost(h); err != nil {
			t.Errorf("CheckHost(%q) = %v", h, err)
		}
	}
}

func TestDialChecksTheResolvedAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx := context.Background()
	hosted := New(Options{})
	// A name is resolved by the dialer and the resolved address checked.
	for _, addr := range []string{ln.Addr().String(), "localhost:" + port} {
		if _, err := hosted.DialContext(ctx, "tcp", addr); !IsRefused(err) {
			t.Errorf("dial %s: %v, want refused", addr, err)
		}
	}
	allowed := New(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	c, err := allowed.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
	c.Close()
	// UDP sockets go through the same hook.
	if _, err := hosted.Dialer(nil).DialContext(ctx, "udp", "127.0.0.1:"+port); !IsRefused(err) {
		t.Errorf("udp dial: %v, want refused", err)
	}
}

func TestHTTPRedirectIsCheckedAgain(t *testing.T) {
	hits := 0
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer other.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(other.URL, "http://"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.2:"+port+"/internal", http.StatusFound)
	}))
	defer srv.Close()
	// The first server is allowed, 127.0.0.2 is not.
	p := New(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	resp, err := p.Client().Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("redirect to a refused address followed")
	}
	if !IsRefused(err) || !strings.Contains(err.Error(), "redirect to http://127.0.0.2") {
		t.Fatalf("error %v", err)
	}
	// Without CheckRedirect the dial hook refuses it too.
	c := p.Client()
	c.CheckRedirect = nil
	if resp, err := c.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("dial hook let the redirect through")
	} else if !IsRefused(err) {
		t.Fatalf("error %v", err)
	}
	if hits != 0 {
		t.Fatal("refused server was reached")
	}
}

func TestResolve(t *testing.T) {
	p := New(Options{})
	if _, err := p.Resolve(context.Background(), nil, "localhost"); !IsRefused(err) {
		t.Fatalf("localhost: %v", err)
	}
	a, err := New(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}).Resolve(context.Background(), nil, "127.0.0.5")
	if err != nil || len(a) != 1 || a[0].String() != "127.0.0.5" {
		t.Fatalf("literal: %v %v", a, err)
	}
}

func FuzzCheckHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "0x7f.1", "2130706433", "0177.0.0.1", "localhost", "[::1]", "1.2.3.4.5", "0x", "00", "4294967296", "example.com"} {
		f.Add(s)
	}
	p := New(Options{Own: []netip.Addr{}})
	f.Fuzz(func(t *testing.T, s string) {
		_ = p.CheckHost(s)
		if a, ok := parseLegacyIPv4(s); ok {
			if !a.Is4() {
				t.Fatalf("%q parsed to %v", s, a)
			}
			// A plain dotted quad must parse to itself.
			if b, err := netip.ParseAddr(s); err == nil && b != a {
				t.Fatalf("%q: legacy %v, standard %v", s, a, b)
			}
		}
	})
}
