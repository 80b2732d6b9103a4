package server

import (
	"context"
	"encoding/json"
	"fmt"

	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// ParseTrustedProxies parses serve's --trusted-proxy list (CIDRs or
// single addresses, comma-separated).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxy: %q is neither a CIDR (10.0.0.0/8) nor an address", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func peerAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

func trusted(proxies []netip.Prefix, a netip.Addr) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// withTrustedProxies makes a request that came through a trusted proxy
// carry the client's address (the right-most X-Forwarded-For entry that is
// not itself a trusted proxy) as RemoteAddr; from anyone else the
// X-Forwarded-* headers are removed, so nothing downstream (sign-in
// throttling, the audit log, the Secure cookie flag) can be fooled by them.
func withTrustedProxies(proxies []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := peerAddr(r)
		if !ok || !trusted(proxies, peer) {
			r.Header.Del("X-Forwarded-For")
			r.Header.Del("X-Forwarded-Proto")
			r.Header.Del("X-Forwarded-Host")
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			a = a.Unmap()
			if !trusted(proxies, a) || i == 0 {
				r2 := r.Clone(r.Context())
				r2.RemoteAddr = netip.AddrPortFrom(a, 0).String()
				r = r2
				break
			}
		}
		next.ServeHTTP(w, r)
	})
}

// secureRequest reports whether r reached Bergamot over HTTPS, directly or
// through a trusted proxy (whose X-Forwarded-Proto alone survives).
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// withHSTS tells browsers that reached the service over HTTPS to use
// nothing else for two years.
func withHSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if secureRequest(r) {
			w.Header().Set("Strict-Transport-Security", "max-age=63072000")
		}
		next.ServeHTTP(w, r)
	})
}

// CSRF protects state changes made with the browser's session cookie.
// Requests with an Authorization header (API tokens; the dashboard's own
// requests) are not affected: a page on another origin cannot make a
// browser send that header.
type CSRF struct {
	// Cookie is the session cookie's name.
	Cookie string
	// Token returns the anti-forgery token that goes with a session secret.
	Token func(sessionSecret string) string
	// AllowedOrigins may make cookie-authenticated changes besides the
	// service's own origin.
	AllowedOrigins []string
	// SessionValid, when set, reports whether a session cookie still signs
	// anyone in. A cookie that does not (signed out elsewhere, expired, its
	// member removed) authenticates nothing, so a request carrying it is
	// judged as anonymous: otherwise a browser holding a stale cookie could
	// not even sign in again, for want of a token that no longer exists.
	SessionValid func(ctx context.Context, sessionSecret string) bool
}

// CSRFHeader carries the anti-forgery token (GraphQL csrfToken).
const CSRFHeader = "X-CSRF-Token"

// refuse says why a state-changing request is refused, or "".
func (c *CSRF) refuse(r *http.Request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return "" // WebSocket upgrades are GETs: /graphql checks their Origin itself
	}
	if !apiPath(r.URL.Path) {
		return "" // the acknowledgement links' form authenticates by its URL's token
	}
	if r.Header.Get("Authorization") != "" {
		return ""
	}
	cookie, err := r.Cookie(c.Cookie)
	hasCookie := err == nil && cookie.Value != ""
	origin := r.Header.Get("Origin")
	if origin == "" && hasCookie {
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	sameOrigin := origin != "" && c.allowedOrigin(origin, r.Host)
	if origin != "" && !sameOrigin && origin != "null" || origin == "null" {
		return "cross-origin request refused: this API does not accept state changes from pages of other origins (" + origin + ")"
	}
	if !hasCookie {
		return ""
	}
	if !sameOrigin && !c.stale(r, cookie) {
		return "a request signed in by the session cookie must come from a page of this service (Origin header missing)"
	}
	if got := r.Header.Get(CSRFHeader); (got == "" || got != c.Token(cookie.Value)) && !c.stale(r, cookie) {
		return "a request signed in by the session cookie must send the anti-forgery token (GraphQL csrfToken) in the " + CSRFHeader + " header, or use Authorization: Bearer"
	}
	return ""
}

// stale reports whether cookie signs nobody in (SessionValid), so that a
// request the cookie rules would refuse is anonymous instead. It is asked
// only then: a request with its token costs no session lookup here.
func (c *CSRF) stale(r *http.Request, cookie *http.Cookie) bool {
	return c.SessionValid != nil && !c.SessionValid(r.Context(), cookie.Value)
}

// apiPath reports whether path belongs to an API that accepts the session
// cookie: GraphQL and the REST facade.
func apiPath(path string) bool {
	return path == "/graphql" || strings.HasPrefix(path, "/graphql/") || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/v1/")
}

func (c *CSRF) allowedOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	for _, a := range c.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	return false
}

// Wrap applies the protection to next.
func (c *CSRF) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := c.refuse(r); why != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": why, "extensions": map[string]string{"code": "FORBIDDEN"}}},
				"error": map[string]string{"code": "FORBIDDEN", "message": why}})
			return
		}
		next.ServeHTTP(w, r)
	})
}
