package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzTrustedProxies: whatever X-Forwarded-For says, the address a request
// ends up with is the peer's (an untrusted peer) or one of the header's
// entries (a trusted one), never something made up, and nothing panics.
func FuzzTrustedProxies(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.2.3:4000", "203.0.113.9, 10.9.9.9")
	f.Add("192.0.2.1", "203.0.113.50:1", "127.0.0.1")
	f.Add("::1/128", "[::1]:80", "::ffff:198.51.100.7,garbage")
	f.Fuzz(func(t *testing.T, cidrs, peer, xff string) {
		proxies, err := ParseTrustedProxies(cidrs)
		if err != nil {
			return
		}
		var got string
		h := withTrustedProxies(proxies, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got == peer {
			return
		}
		ap, err := netip.ParseAddrPort(got)
		if err != nil {
			t.Fatalf("RemoteAddr became %q (peer %q, xff %q)", got, peer, xff)
		}
		found := false
		for _, h := range strings.Split(xff, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(h)); err == nil && a.Unmap() == ap.Addr() {
				found = true
			}
		}
		if !found {
			t.Fatalf("RemoteAddr %q is not in X-Forwarded-For %q", got, xff)
		}
	})
}

// FuzzCSRFOrigin: a cookie-authenticated POST passes only with the token
// and an Origin (or Referer) naming the request's own host.
func FuzzCSRFOrigin(f *testing.F) {
	f.Add("http://b.example", "", "b.example", true)
	f.Add("http://evil.example", "http://b.example/", "b.example", true)
	f.Add("", "http://b.example:81/x", "b.example", false)
	f.Add("null", "", "b.example", true)
	f.Fuzz(func(t *testing.T, origin, referer, host string, token bool) {
		g := &CSRF{Cookie: "s", Token: func(s string) string { return "t-" + s }}
		r := httptest.NewRequest("POST", "http://x/graphql", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		r.Header.Set("Referer", referer)
		r.AddCookie(&http.Cookie{Name: "s", Value: "v"})
		if token {
			r.Header.Set(CSRFHeader, "t-v")
		}
		if g.refuse(r) != "" {
			return
		}
		src := origin
		if src == "" {
			src = referer
		}
		u, err := url.Parse(src)
		if !token || err != nil || !strings.EqualFold(u.Host, host) || host == "" {
			t.Fatalf("accepted: origin %q referer %q host %q token %v", origin, referer, host, token)
		}
	})
}
