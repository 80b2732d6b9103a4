package sms

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "tok3n"
)

type sent struct{ To, From, Body string }

// twilio answers like api.twilio.com's Messages resource.
type twilio struct {
	fail5xx atomic.Int32
	got     chan sent
}

func (tw *twilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	reply := func(code int, v any) { w.WriteHeader(code); _ = json.NewEncoder(w).Encode(v) }
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" {
		reply(404, APIError{Code: 20404, Message: "The requested resource was not found", Status: 404})
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != sid || p != token {
		reply(401, APIError{Code: 20003, Message: "Authenticate", Status: 401})
		return
	}
	if tw.fail5xx.Add(-1) >= 0 {
		reply(500, APIError{Code: 20500, Message: "Internal Server Error", Status: 500})
		return
	}
	if err := r.ParseForm(); err != nil {
		reply(400, APIError{Code: 20001, Message: err.Error(), Status: 400})
		return
	}
	m := sent{r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")}
	if strings.HasPrefix(m.To, "+1555") {
		reply(400, APIError{Code: 21211, Message: "The 'To' number " + m.To + " is not a valid phone number.", Status: 400})
		return
	}
	tw.got <- m
	reply(201, map[string]string{"sid": "SM0123", "status": "queued", "body": m.Body})
}

func sample() *notifiers.Notification {
	return &notifiers.Notification{
		Type: notifiers.TypeAlert, Site: "acme",
		Check:  notifiers.Check{Kind: "service", Name: "disk", Summary: "Disk /", Host: "web1"},
		Status: checks.StatusCritical, Duration: 5 * time.Minute, More: 3,
		Output: "DISK CRITICAL - free space: / 312 MB (2% inode=90%); /var 1024 MB (5% inode=92%); /home 12 MB (0% inode=99%) and a great deal more text that cannot fit",
	}
}

func TestSend(t *testing.T) {
	tw := &twilio{got: make(chan sent, 2)}
	srv := httptest.NewServer(tw)
	defer srv.Close()
	nf, err := New(Config{AccountSID: sid, AuthToken: token, From: "+441234567890", BaseURL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := notifiers.Recipient{Name: "Alice", Addresses: map[string]string{"sms": "+447700900123"}}
	if err := nf.Send(t.Context(), sample(), alice); err != nil {
		t.Fatal(err)
	}
	m := <-tw.got
	if m.To != alice.Address("sms") || m.From != "+441234567890" {
		t.Errorf("sent %+v", m)
	}
	if !strings.HasPrefix(m.Body, "Problem: Disk / on web1 CRITICAL 5m (+3 more): DISK CRITICAL") || !strings.HasSuffix(m.Body, "...") || len(m.Body) > 160 {
		t.Errorf("body (%d) %q", len(m.Body), m.Body)
	}

	tw.fail5xx.Store(1)
	if err := nf.Send(t.Context(), sample(), alice); err == nil || notifiers.IsPermanent(err) || !strings.Contains(err.Error(), "twilio error 20500") {
		t.Fatalf("500: %v", err)
	}
	if err := nf.Send(t.Context(), sample(), alice); err != nil {
		t.Fatalf("retry: %v", err)
	}
	<-tw.got

	err = nf.Send(t.Context(), sample(), notifiers.Recipient{Addresses: map[string]string{"sms": "+15550100"}})
	if !notifiers.IsPermanent(err) || !strings.Contains(err.Error(), "twilio error 21211: The 'To' number +15550100 is not a valid phone number. (HTTP 400)") {
		t.Errorf("invalid number: %v", err)
	}
	if err := nf.Send(t.Context(), sample(), notifiers.Recipient{Name: "Bob", Addresses: map[string]string{"sms": "07700 900123"}}); !notifiers.IsPermanent(err) || !strings.Contains(err.Error(), "E.164") {
		t.Errorf("local number: %v", err)
	}
	if err := nf.Send(t.Context(), sample(), notifiers.Recipient{Name: "Bob"}); !notifiers.IsPermanent(err) {
		t.Errorf("no number: %v", err)
	}
	bad, _ := New(Config{AccountSID: sid, AuthToken: "wrong", From: "+441234567890", BaseURL: srv.URL}, nil)
	if err := bad.Send(t.Context(), sample(), alice); !notifiers.IsPermanent(err) || !strings.Contains(err.Error(), "twilio error 20003: Authenticate") {
		t.Errorf("wrong token: %v", err)
	}
}

func TestFit(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"short  and\n\tsweet", "short and sweet"},
		{"it’s “quoted” …", `it's "quoted" ...`},
		{strings.Repeat("word ", 40), strings.TrimSpace(strings.Repeat("word ", 31)) + "..."},
		{strings.Repeat("x", 200), strings.Repeat("x", 157) + "..."},
		{strings.Repeat("{", 100), strings.Repeat("{", 78) + "..."}, // extended chars count twice
		{"Диск " + strings.Repeat("переполнен ", 10), "Диск переполнен переполнен переполнен переполнен переполнен..."}, // UCS-2: 70
	} {
		got := Fit(c.in)
		if got != c.want {
			t.Errorf("Fit(%q) =\n %q\nwant\n %q", c.in, got, c.want)
		}
	}
}

func FuzzFit(f *testing.F) {
	for _, s := range []string{"", "hello", strings.Repeat("a b ", 60), "€€€ 😀 " + strings.Repeat("ü", 200), "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Fit(s)
		if n, limit := Units(out); n > limit {
			t.Fatalf("Fit(%q) = %q: %d units > %d", s, out, n, limit)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("Fit broke UTF-8: %q", out)
		}
		if Fit(out) != out {
			t.Fatalf("Fit not idempotent on %q", out)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "sms: account sid is required"},
		{Config{AccountSID: "AC1"}, `sms: account sid "AC1" must be AC followed by 32 hex digits`},
		{Config{AccountSID: sid}, "sms: auth token is required"},
		{Config{AccountSID: sid, AuthToken: "t"}, "sms: from is required"},
		{Config{AccountSID: sid, AuthToken: "t", From: "0123"}, `sms: from "0123" must be an E.164 number (+441234567890) or a messaging service SID (MG...)`},
		{Config{AccountSID: sid, AuthToken: "t", From: "+441234567890", BaseURL: "ftp://x"}, `sms: base url "ftp://x" must be http or https`},
	} {
		if err := c.cfg.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
