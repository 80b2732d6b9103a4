package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func sample() *notifiers.Notification {
	return &notifiers.Notification{
		Type: notifiers.TypeAlert, Site: "acme",
		Check:  notifiers.Check{ID: "c-1", Kind: "service", Name: "disk", Summary: "Disk /", Host: "web1"},
		Status: checks.StatusCritical, Previous: checks.StatusOK, Output: "DISK CRITICAL - 97% used",
		Since: time.Now().Add(-time.Hour), Duration: time.Hour, AlertID: "al-1", More: 37,
		DashboardURL: "https://b.example/c/c-1", AckURL: "https://b.example/ack/t", IdempotencyKey: "idem-1",
	}
}

// receiver is a webhook endpoint that verifies signatures like a real one.
type receiver struct {
	secret   string
	answers  []int // status per request; last repeats
	calls    atomic.Int32
	payloads chan Payload
	headers  chan http.Header
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(rc.calls.Add(1)) - 1
	body, _ := io.ReadAll(r.Body)
	if err := VerifySignature(rc.secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	code := rc.answers[min(i, len(rc.answers)-1)]
	if code == 200 {
		var p Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		rc.payloads <- p
		rc.headers <- r.Header.Clone()
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, http.StatusText(code))
}

func newReceiver(t *testing.T, secret string, answers ...int) (*receiver, *httptest.Server) {
	rc := &receiver{secret: secret, answers: answers, payloads: make(chan Payload, 4), headers: make(chan http.Header, 4)}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

// sendWithRetry is the caller's policy: retry transient errors, stop on permanent.
func sendWithRetry(ctx context.Context, nf notifiers.Notifier, n *notifiers.Notification, attempts int) (int, error) {
	var err error
	for i := 1; i <= attempts; i++ {
		if err = nf.Send(ctx, n, notifiers.Recipient{Name: "Alice", Addresses: map[string]string{"email": "alice@example.com"}}); err == nil || notifiers.IsPermanent(err) {
			return i, err
		}
	}
	return attempts, err
}

func TestDeliverSignedPayload(t *testing.T) {
	rc, srv := newReceiver(t, "s3cret", 200)
	nf, err := New(Config{URL: srv.URL + "/hook", Secret: "s3cret", Headers: map[string]string{"Authorization": "Bearer abc"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sendWithRetry(t.Context(), nf, sample(), 1); err != nil {
		t.Fatal(err)
	}
	p, h := <-rc.payloads, <-rc.headers
	if p.Version != 1 || p.Type != "alert" || p.Status != "CRITICAL" || p.PreviousStatus != "OK" || p.Check.Host != "web1" ||
		p.MoreProblems != 37 || p.AckURL != "https://b.example/ack/t" || p.DurationSeconds != 3600 || p.Recipient.Email != "alice@example.com" {
		t.Errorf("payload %+v", p)
	}
	if p.Subject != "Problem: Disk / on web1 is CRITICAL" || p.Text != "DISK CRITICAL - 97% used" {
		t.Errorf("rendered %q / %q", p.Subject, p.Text)
	}
	if h.Get("Authorization") != "Bearer abc" || h.Get(HeaderEvent) != "alert" || h.Get(HeaderIdempotency) != "idem-1" {
		t.Errorf("headers %v", h)
	}
}

func TestRetryPolicy(t *testing.T) {
	t.Run("500 then 200", func(t *testing.T) {
		rc, srv := newReceiver(t, "k", 500, 200)
		nf, _ := New(Config{URL: srv.URL, Secret: "k"}, nil)
		n, err := sendWithRetry(t.Context(), nf, sample(), 3)
		if err != nil || n != 2 || rc.calls.Load() != 2 {
			t.Fatalf("attempts=%d calls=%d err=%v", n, rc.calls.Load(), err)
		}
	})
	t.Run("400 is permanent", func(t *testing.T) {
		rc, srv := newReceiver(t, "k", 400)
		nf, _ := New(Config{URL: srv.URL, Secret: "k"}, nil)
		n, err := sendWithRetry(t.Context(), nf, sample(), 3)
		if !notifiers.IsPermanent(err) || n != 1 || rc.calls.Load() != 1 || !strings.Contains(err.Error(), "webhook: server answered 400 Bad Request") {
			t.Fatalf("attempts=%d err=%v", n, err)
		}
	})
	t.Run("wrong secret is refused", func(t *testing.T) {
		_, srv := newReceiver(t, "right", 200)
		nf, _ := New(Config{URL: srv.URL, Secret: "wrong"}, nil)
		if _, err := sendWithRetry(t.Context(), nf, sample(), 3); !notifiers.IsPermanent(err) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("timeout is transient", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		nf, _ := New(Config{URL: srv.URL, Timeout: 200 * time.Millisecond}, nil)
		err := nf.Send(t.Context(), sample(), notifiers.Recipient{})
		if err == nil || notifiers.IsPermanent(err) || !notifiers.IsTimeout(err) {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("connection refused is transient", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		nf, _ := New(Config{URL: url}, nil)
		if err := nf.Send(t.Context(), sample(), notifiers.Recipient{}); err == nil || notifiers.IsPermanent(err) {
			t.Fatalf("err=%v", err)
		}
	})
}

func TestVerifySignatureReplay(t *testing.T) {
	body := []byte(`{"version":1}`)
	old := time.Now().Add(-time.Hour)
	ts := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	sig := Sign("k", ts(old), body)
	if err := VerifySignature("k", ts(old), sig, body, time.Now(), 5*time.Minute); err == nil || !strings.Contains(err.Error(), "timestamp outside tolerance") {
		t.Errorf("replayed request accepted: %v", err)
	}
	if err := VerifySignature("k", ts(time.Now()), sig, body, time.Now(), 5*time.Minute); err == nil {
		t.Error("signature moved to a new timestamp accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "webhook: url is required"},
		{Config{URL: "ftp://x"}, `webhook: url "ftp://x" must be http or https`},
		{Config{URL: "http://"}, `webhook: url "http://" has no host`},
		{Config{URL: "http://h", Headers: map[string]string{"bad name": "x"}}, `webhook: header name "bad name" is not valid`},
		{Config{URL: "http://h", Headers: map[string]string{"x-bergamot-signature": "x"}}, `webhook: header "x-bergamot-signature" is set by Bergamot and cannot be overridden`},
		{Config{URL: "http://h", Timeout: -1}, "webhook: timeout -1ns must not be negative"},
	} {
		if err := c.cfg.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestErrorsDoNotEchoTheAnswer: a failed delivery's error (shown to the
// site in the notification log) never carries the server's body, which
// could be a page of a service inside the operator's network.
func TestErrorsDoNotEchoTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "postgres password=hunter2 internal stack trace")
	}))
	defer srv.Close()
	nf, err := New(Config{URL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = nf.Send(context.Background(), sample(), notifiers.Recipient{})
	if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
}
