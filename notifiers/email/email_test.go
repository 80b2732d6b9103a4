package email

import (
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

func sample(typ notifiers.Type, st checks.Status) *notifiers.Notification {
	return &notifiers.Notification{
		Type: typ, Site: "acme",
		Check:  notifiers.Check{ID: "c-1", Kind: "service", Name: "disk", Summary: "Disk / ✓", Host: "web1"},
		Status: st, Previous: checks.StatusOK, Output: "DISK CRITICAL - 97% used",
		Since: time.Now().Add(-time.Hour), Duration: time.Hour, AlertID: "al-42",
		DashboardURL: "https://b.example/c/c-1", AckURL: "https://b.example/ack/tok", IdempotencyKey: "k-" + string(typ),
	}
}

var ops = notifiers.Recipient{Name: "Ops Team", Addresses: map[string]string{"email": "ops@bergamot.test"}}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitMessage returns the message delivered to ex whose Message-ID is id.
func waitMessage(t *testing.T, ex *mailtest.Exim, id string) *mailtest.Message {
	t.Helper()
	return ex.WaitMessages(t, 1, 10*time.Second, func(m *mailtest.Message) bool { return m.Header.Get("Message-ID") == id })[0]
}

// parts reads a multipart/alternative body into content type -> text.
func parts(t *testing.T, m *mailtest.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	r := multipart.NewReader(strings.NewReader(m.Body), params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			return out
		}
		must(t, err)
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
}

func TestDeliverThroughExim(t *testing.T) {
	ex := mailtest.Start(t)
	nf, err := New(Config{Host: "127.0.0.1", Port: ex.Port, Username: mailtest.Username, Password: mailtest.Password,
		From: "Bergamot <alerts@bergamot.example>", TLS: ex.TLSConfig(), Timeout: 10 * time.Second})
	must(t, err)

	alert := sample(notifiers.TypeAlert, checks.StatusCritical)
	must(t, nf.Send(t.Context(), alert, ops))
	m := waitMessage(t, ex, "<alert.al-42@bergamot.example>")
	subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subj != "[acme] Problem: Disk / ✓ on web1 is CRITICAL" {
		t.Errorf("subject %q", subj)
	}
	if m.Header.Get("To") != `"Ops Team" <ops@bergamot.test>` || m.Header.Get("In-Reply-To") != "" {
		t.Errorf("headers %v", m.Header)
	}
	if rcv := m.Header.Get("Received"); !strings.Contains(rcv, "esmtpsa ") || !strings.Contains(rcv, "(TLS1.") {
		t.Errorf("not delivered over TLS with AUTH: Received: %s", rcv)
	}
	p := parts(t, m)
	if !strings.Contains(p["text/plain"], "Acknowledge: https://b.example/ack/tok") || !strings.Contains(p["text/plain"], "Host:     web1") {
		t.Errorf("text part:\n%s", p["text/plain"])
	}
	if !strings.Contains(p["text/html"], `<a href="https://b.example/ack/tok">Acknowledge</a>`) {
		t.Errorf("html part:\n%s", p["text/html"])
	}

	// The recovery, sent with AUTH LOGIN over implicit TLS, threads under the alert.
	tlsNf, err := New(Config{Host: "127.0.0.1", Port: ex.TLSPort, Security: ImplicitTLS, Auth: "login",
		Username: mailtest.Username, Password: mailtest.Password, From: "alerts@bergamot.example", TLS: ex.TLSConfig()})
	must(t, err)
	rec := sample(notifiers.TypeRecovery, checks.StatusOK)
	must(t, tlsNf.Send(t.Context(), rec, ops))
	rm := waitMessage(t, ex, MessageID(rec, "bergamot.example"))
	if rm.Header.Get("In-Reply-To") != "<alert.al-42@bergamot.example>" || rm.Header.Get("References") != "<alert.al-42@bergamot.example>" {
		t.Errorf("recovery not threaded: %v", rm.Header)
	}
	if s, _ := new(mime.WordDecoder).DecodeHeader(rm.Header.Get("Subject")); !strings.HasPrefix(s, "[acme] Recovered: Disk / ✓ on web1 is OK after 1h") {
		t.Errorf("recovery subject %q", s)
	}
}

func TestEximFailures(t *testing.T) {
	ex := mailtest.Start(t)
	base := Config{Host: "127.0.0.1", Port: ex.Port, Username: mailtest.Username, Password: mailtest.Password, From: "alerts@bergamot.example", TLS: ex.TLSConfig(), Timeout: 5 * time.Second}
	send := func(cfg Config, to notifiers.Recipient) error {
		nf, err := New(cfg)
		must(t, err)
		return nf.Send(t.Context(), sample(notifiers.TypeAlert, checks.StatusCritical), to)
	}
	cases := []struct {
		name      string
		mutate    func(*Config)
		to        notifiers.Recipient
		permanent bool
		want      string
	}{
		{"wrong password", func(c *Config) { c.Password = "nope" }, ops, true, `email: AUTH PLAIN as "bergamot": 535 "Incorrect authentication data"`},
		{"wrong password LOGIN", func(c *Config) { c.Password = "nope"; c.Auth = "login" }, ops, true, `email: AUTH LOGIN as "bergamot": 535`},
		{"relay refused", nil, notifiers.Recipient{Addresses: map[string]string{"email": "someone@elsewhere.example"}}, true, "email: RCPT TO:<someone@elsewhere.example>: 550 \"relay not permitted\""},
		{"invalid address", nil, notifiers.Recipient{Addresses: map[string]string{"email": "not an address"}}, true, `email: invalid address: recipient "not an address"`},
		{"untrusted certificate", func(c *Config) { c.TLS = nil }, ops, true, "email: STARTTLS: tls: failed to verify certificate"},
		{"unreachable", func(c *Config) { c.Port = mailtest.FreePort(t) }, ops, false, "email: connecting to 127.0.0.1:"},
		{"no starttls on tls port", func(c *Config) { c.Port = ex.TLSPort; c.Timeout = 500 * time.Millisecond }, ops, false, "email: greeting from"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			if c.mutate != nil {
				c.mutate(&cfg)
			}
			err := send(cfg, c.to)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) || notifiers.IsPermanent(err) != c.permanent {
				t.Errorf("err = %v (permanent %v), want prefix %q permanent %v", err, notifiers.IsPermanent(err), c.want, c.permanent)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "email: smtp host is required"},
		{Config{Host: "h", Port: 70000}, "email: smtp port 70000 is out of range"},
		{Config{Host: "h", Security: "ssl"}, `email: security "ssl" must be starttls, tls or none`},
		{Config{Host: "h", Auth: "cram-md5"}, `email: auth "cram-md5" must be plain or login`},
		{Config{Host: "h", Password: "p"}, "email: password given without username"},
		{Config{Host: "h"}, "email: from address is required"},
		{Config{Host: "h", From: "nobody"}, `email: from address "nobody": mail: missing '@' or angle-addr`},
	} {
		if err := c.cfg.Validate(); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
