package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// /metrics is not public: loopback only without a token, the token with one.
func TestMetricsNeedTokenOrLoopback(t *testing.T) {
	get := func(m *Metrics, remote, auth string) (int, string) {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.RemoteAddr = remote
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	open := &Metrics{}
	if code, body := get(open, "127.0.0.1:5000", ""); code != 200 || !strings.Contains(body, "bergamot_http_requests_total") {
		t.Errorf("loopback without token: %d %s", code, body)
	}
	if code, body := get(open, "[::1]:5000", ""); code != 200 {
		t.Errorf("::1 without token: %d %s", code, body)
	}
	if code, body := get(open, "203.0.113.9:5000", ""); code != 403 || !strings.Contains(body, "BERGAMOT_METRICS_TOKEN") {
		t.Errorf("remote without token: %d %s", code, body)
	}
	locked := &Metrics{Token: "s3cret-metrics"}
	for _, c := range []struct {
		remote, auth string
		want         int
	}{
		{"203.0.113.9:5000", "Bearer s3cret-metrics", 200},
		{"203.0.113.9:5000", "Bearer wrong", 403},
		{"127.0.0.1:5000", "", 403},
		{"127.0.0.1:5000", "Bearer s3cret-metrics", 200},
	} {
		if code, body := get(locked, c.remote, c.auth); code != c.want {
			t.Errorf("token set, %s %q: %d %s, want %d", c.remote, c.auth, code, body, c.want)
		}
	}
}
