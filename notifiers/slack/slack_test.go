package slack

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
		Check:  notifiers.Check{ID: "c-1", Kind: "service", Name: "disk", Summary: "Disk /", Host: "web<1>"},
		Status: checks.StatusCritical, Previous: checks.StatusOK, Output: "DISK CRITICAL - 97% used",
		Duration: 90 * time.Minute, AlertID: "al-1", DashboardURL: "https://b.example/c/c-1", AckURL: "https://b.example/ack/t",
	}
}

// slackServer accepts what Slack's incoming webhooks accept on /services/T/B/X:
// JSON with text or blocks; a header block of plain_text up to 150 chars.
type slackServer struct {
	fail5xx atomic.Int32 // answer 500 this many times first
	got     chan Message
}

func (s *slackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/services/T/B/X" {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	if s.fail5xx.Add(-1) >= 0 {
		http.Error(w, "internal_error", http.StatusInternalServerError)
		return
	}
	var m Message
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&m) != nil || (m.Text == "" && len(m.Blocks) == 0) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	for _, b := range m.Blocks {
		if b.Type == "header" && (b.Text == nil || b.Text.Type != "plain_text" || len([]rune(b.Text.Text)) > 150) {
			http.Error(w, "invalid_blocks", http.StatusBadRequest)
			return
		}
	}
	s.got <- m
	_, _ = w.Write([]byte("ok"))
}

func TestSlack(t *testing.T) {
	ss := &slackServer{got: make(chan Message, 2)}
	srv := httptest.NewServer(ss)
	defer srv.Close()
	nf, err := New(Config{WebhookURL: srv.URL + "/services/T/B/X"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := nf.Send(t.Context(), sample(), notifiers.Recipient{}); err != nil {
		t.Fatal(err)
	}
	m := <-ss.got
	if m.Text != "Problem: Disk / on web<1> is CRITICAL" {
		t.Errorf("text %q", m.Text)
	}
	types := []string{}
	for _, b := range m.Blocks {
		types = append(types, b.Type)
	}
	if strings.Join(types, ",") != "header,section,context,actions" {
		t.Fatalf("blocks %v", types)
	}
	sec := m.Blocks[1]
	if !strings.Contains(sec.Text.Text, "DISK CRITICAL - 97% used") || len(sec.Fields) != 4 || sec.Fields[2].Text != "*Host*\nweb&lt;1&gt;" || sec.Fields[3].Text != "*Duration*\n1h 30m" {
		t.Errorf("section %+v", sec)
	}
	btn := m.Blocks[3].Elements[0]
	if btn.Type != "button" || btn.URL != "https://b.example/c/c-1" {
		t.Errorf("button %+v", btn)
	}

	long := sample()
	long.Check.Summary = strings.Repeat("very long name ", 20)
	if err := nf.Send(t.Context(), long, notifiers.Recipient{}); err != nil {
		t.Fatalf("long header rejected: %v", err)
	}
	<-ss.got

	ss.fail5xx.Store(1)
	err = nf.Send(t.Context(), sample(), notifiers.Recipient{})
	if err == nil || notifiers.IsPermanent(err) {
		t.Fatalf("500: %v", err)
	}
	if err := nf.Send(t.Context(), sample(), notifiers.Recipient{}); err != nil {
		t.Fatalf("retry: %v", err)
	}

	gone, _ := New(Config{WebhookURL: srv.URL + "/services/T/B/revoked"}, nil)
	err = gone.Send(t.Context(), sample(), notifiers.Recipient{})
	if !notifiers.IsPermanent(err) || !strings.Contains(err.Error(), "404 Not Found: no_service") {
		t.Fatalf("revoked webhook: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err == nil || err.Error() != "slack: webhook url is required" {
		t.Error(err)
	}
	if err := (Config{WebhookURL: "hooks.slack.com/x"}).Validate(); err == nil || err.Error() != `slack: webhook url "hooks.slack.com/x" must be http or https` {
		t.Error(err)
	}
}
