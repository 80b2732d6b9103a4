package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Only a trusted proxy may tell the client's address and scheme.
func TestTrustedProxies(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil || !strings.Contains(err.Error(), "--trusted-proxy") {
		t.Fatalf("bad CIDR: %v", err)
	}
	var gotAddr, gotProto string
	h := withTrustedProxies(proxies, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAddr, gotProto = r.RemoteAddr, r.Header.Get("X-Forwarded-Proto")
	}))
	for _, c := range []struct{ peer, xff, wantAddr, wantProto string }{
		{"10.1.2.3:4000", "203.0.113.9", "203.0.113.9:0", "https"},
		{"10.1.2.3:4000", "198.51.100.1, 203.0.113.9, 10.9.9.9", "203.0.113.9:0", "https"}, // spoofed left entry ignored
		{"192.0.2.1:4000", "203.0.113.9", "203.0.113.9:0", "https"},
		{"203.0.113.50:4000", "127.0.0.1", "203.0.113.50:4000", ""}, // untrusted: headers dropped
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		r.Header.Set("X-Forwarded-For", c.xff)
		r.Header.Set("X-Forwarded-Proto", "https")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if gotAddr != c.wantAddr || gotProto != c.wantProto {
			t.Errorf("peer %s xff %q: addr %s proto %q, want %s %q", c.peer, c.xff, gotAddr, gotProto, c.wantAddr, c.wantProto)
		}
	}

}

// The CSRF guard: foreign origins are refused; the session cookie needs
// the same origin and the token; bearer tokens and reads pass.
func TestCSRFGuard(t *testing.T) {
	g := &CSRF{Cookie: "bergamot_session", Token: func(s string) string { return "tok-" + s },
		SessionValid: func(_ context.Context, s string) bool { return s != "stale" }}
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "done") }))
	for _, c := range []struct {
		name, method, path, origin, referer, cookie, token, auth string
		ok                                                       bool
	}{
		{"cookie, same origin, token", "POST", "/graphql", "http://b.example", "", "s1", "tok-s1", "", true},
		{"cookie, same origin, no token", "POST", "/graphql", "http://b.example", "", "s1", "", "", false},
		{"cookie, same origin, wrong token", "POST", "/api/v1/config", "http://b.example", "", "s1", "tok-s2", "", false},
		{"cookie, foreign origin, token", "POST", "/api/v1/config", "http://evil.example", "", "s1", "tok-s1", "", false},
		{"cookie, same-site other port", "POST", "/api/v1/config", "http://b.example:9999", "", "s1", "tok-s1", "", false},
		{"cookie, no origin, same referer", "POST", "/graphql", "", "http://b.example/#/checks", "s1", "tok-s1", "", true},
		{"cookie, no origin or referer", "POST", "/graphql", "", "", "s1", "tok-s1", "", false},
		{"cookie, null origin", "POST", "/graphql", "null", "", "s1", "tok-s1", "", false},
		{"bearer from a program", "POST", "/api/v1/config", "", "", "", "", "Bearer bgt_x", true},
		{"bearer with cookie too", "POST", "/graphql", "http://b.example", "", "s1", "", "Bearer bgt_x", true},
		{"anonymous sign-in, same origin", "POST", "/graphql", "http://b.example", "", "", "", "", true},
		{"anonymous sign-in, foreign origin", "POST", "/graphql", "http://evil.example", "", "", "", "", false},
		{"read with cookie", "GET", "/api/v1/hosts", "http://evil.example", "", "s1", "", "", true},
		{"acknowledgement form", "POST", "/ack/abc", "http://b.example", "", "s1", "", "", true},
		// A cookie that signs nobody in (signed out elsewhere) is no
		// session: the browser can sign in again without its token.
		{"stale cookie, sign-in, same origin", "POST", "/graphql", "http://b.example", "", "stale", "", "", true},
		{"stale cookie, foreign origin", "POST", "/graphql", "http://evil.example", "", "stale", "", "", false},
		{"stale cookie, no origin or referer", "POST", "/graphql", "", "", "stale", "", "", true},
	} {
		r := httptest.NewRequest(c.method, "http://b.example"+c.path, strings.NewReader("{}"))
		for k, v := range map[string]string{"Origin": c.origin, "Referer": c.referer, "X-CSRF-Token": c.token, "Authorization": c.auth} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		if c.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "bergamot_session", Value: c.cookie})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if ok := w.Code == 200; ok != c.ok {
			t.Errorf("%s: status %d %s, want ok=%v", c.name, w.Code, w.Body, c.ok)
		}
	}
}
