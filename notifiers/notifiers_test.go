package notifiers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"
)

func TestRenderEveryChannelAndType(t *testing.T) {
	tpl := DefaultTemplates()
	for _, ch := range []string{"email", "sms", "irc", "slack", "webhook"} {
		for _, typ := range AllTypes() {
			n := sampleNotification(typ)
			m, err := tpl.Render(ch, n)
			if err != nil {
				t.Fatalf("%s/%s: %v", ch, typ, err)
			}
			all := m.Subject + m.Text
			if !strings.Contains(all, "Disk /") && typ != TypeTest {
				t.Errorf("%s/%s: no check name in %q", ch, typ, all)
			}
			if strings.Contains(all, "<no value>") {
				t.Errorf("%s/%s: <no value> in %q", ch, typ, all)
			}
		}
	}
}

func TestEmailContent(t *testing.T) {
	n := sampleNotification(TypeAlert)
	n.Output = "<b>disk</b> & full"
	m, err := DefaultTemplates().Render("email", n)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "[example] Problem: Disk / on web1 is CRITICAL" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Host:     web1", "CRITICAL for 1h", "<b>disk</b> & full", "and 2 more problems", "Dashboard:   https://example.invalid/c/c1", "Acknowledge: https://example.invalid/ack/x", "(was OK)"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{"&lt;b&gt;disk&lt;/b&gt; &amp; full", `href="https://example.invalid/ack/x"`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("html lacks %q:\n%s", want, m.HTML)
		}
	}
	n.Type = TypeRecovery
	n.Status = checks.StatusOK
	m, _ = DefaultTemplates().Render("email", n)
	if m.Subject != "[example] Recovered: Disk / on web1 is OK after 1h" {
		t.Errorf("recovery subject %q", m.Subject)
	}
}

func TestOverride(t *testing.T) {
	tpl := DefaultTemplates()
	if _, err := tpl.Render("sms", sampleNotification(TypeAlert)); err != nil {
		t.Fatal(err) // render before override: overriding must still work
	}
	if err := tpl.Override("sms", TypeAlert, "", "ALERT {{.Check.Host}} {{.Status}}"); err != nil {
		t.Fatal(err)
	}
	m, _ := tpl.Render("sms", sampleNotification(TypeAlert))
	if m.Text != "ALERT web1 CRITICAL" {
		t.Errorf("overridden text %q", m.Text)
	}
	if m, _ := DefaultTemplates().Render("sms", sampleNotification(TypeAlert)); m.Text == "ALERT web1 CRITICAL" {
		t.Error("override leaked into the defaults")
	}
	if m, _ := tpl.Render("sms", sampleNotification(TypeRecovery)); strings.HasPrefix(m.Text, "ALERT") {
		t.Error("override of alert applied to recovery")
	}
	if _, err := tpl.Render("email", sampleNotification(TypeAlert)); err != nil {
		t.Fatal(err)
	}
	if err := tpl.OverrideHTML(TypeAlert, `<p>{{.Output}}</p>`); err != nil {
		t.Fatal(err)
	}
	if err := tpl.OverrideHTML(TypeRecovery, `<p>ok {{.Output}}</p>`); err != nil {
		t.Fatal(err)
	}
	m, _ = tpl.Render("email", sampleNotification(TypeAlert))
	if m.HTML != "<p>DISK CRITICAL - 97% used</p>" {
		t.Errorf("html %q", m.HTML)
	}

	bad := []struct{ ch, typ, subj, body, want string }{
		{"sms", "alert", "", "{{.Nope}}", `template sms/alert body: template: alert.body:1:2: executing "alert.body" at <.Nope>: can't evaluate field Nope`},
		{"sms", "alert", "", "{{if}}", "template sms/alert body: template: alert.body:1: missing value for if"},
		{"fax", "alert", "x", "", `template fax/alert: notifiers: no templates for channel "fax"`},
		{"sms", "explosion", "", "x", `template sms/explosion: unknown notification type "explosion"`},
	}
	for _, b := range bad {
		err := tpl.Override(b.ch, Type(b.typ), b.subj, b.body)
		if err == nil || !strings.HasPrefix(err.Error(), b.want) {
			t.Errorf("Override(%s,%s) = %v, want prefix %q", b.ch, b.typ, err, b.want)
		}
	}
	if err := tpl.OverrideHTML(TypeAlert, "{{.Nope}}"); err == nil {
		t.Error("bad html override accepted")
	}
	m, _ = tpl.Render("sms", sampleNotification(TypeAlert))
	if m.Text != "ALERT web1 CRITICAL" {
		t.Errorf("failed override changed the template: %q", m.Text)
	}
}

func TestAck(t *testing.T) {
	key := []byte("k3y")
	now := time.Unix(1_700_000_000, 0)
	tok := SignAck(key, "alert/42?x", now.Add(time.Hour))
	id, exp, err := VerifyAck(key, tok, now)
	if err != nil || id != "alert/42?x" || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("VerifyAck = %q %v %v", id, exp, err)
	}
	if _, _, err := VerifyAck(key, tok, now.Add(time.Hour)); !errors.Is(err, ErrAckExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, _, err := VerifyAck([]byte("other"), tok, now); !errors.Is(err, ErrAckSignature) {
		t.Errorf("wrong key: %v", err)
	}
	forged := strings.Replace(tok, ".1700003600.", ".1900003600.", 1)
	if _, _, err := VerifyAck(key, forged, now); !errors.Is(err, ErrAckSignature) {
		t.Errorf("extended expiry: %v", err)
	}
	for _, bad := range []string{"", "a1.x.y", "b1.a.1.c", tok + ".x"} {
		if _, _, err := VerifyAck(key, bad, now); !errors.Is(err, ErrAckMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzVerifyAck(f *testing.F) {
	key := []byte("fuzz")
	now := time.Unix(1_700_000_000, 0)
	f.Add(SignAck(key, "a-1", now.Add(time.Minute)))
	f.Add(SignAck(key, "", now.Add(-time.Minute)))
	f.Add("a1...")
	f.Add("a1.YQ.99999999999999999999.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		id, exp, err := VerifyAck(key, tok, now)
		if err == nil && SignAck(key, id, exp) != tok {
			// Only canonical tokens may verify (no malleability).
			t.Fatalf("non-canonical token %q verified as %q", tok, id)
		}
	})
}

func TestClassification(t *testing.T) {
	base := errors.New("boom")
	if IsPermanent(base) || !IsPermanent(Permanent(base)) || !errors.Is(Permanent(base), base) {
		t.Error("Permanent wrapper")
	}
	if Permanent(nil) != nil || IsPermanent(nil) {
		t.Error("nil handling")
	}
	if !IsPermanent(fmt.Errorf("x: %w", errs.E(errs.Invalid, "bad"))) || IsPermanent(errs.E(errs.Transient, "later")) {
		t.Error("errs kinds")
	}
	for code, perm := range map[int]bool{400: true, 401: true, 404: true, 408: false, 429: false, 500: false, 503: false} {
		err := CheckHTTPResponse("x", &http.Response{StatusCode: code, Header: http.Header{}}, []byte("no"))
		if err == nil || IsPermanent(err) != perm {
			t.Errorf("%d: %v permanent=%v", code, err, IsPermanent(err))
		}
	}
	if Backoff(1) != 30*time.Second || Backoff(3) != 2*time.Minute || Backoff(50) != time.Hour {
		t.Error("backoff")
	}
	if HumanDuration(3*time.Hour+5*time.Minute) != "3h 5m" || HumanDuration(50*time.Hour) != "2d 2h" {
		t.Error("HumanDuration")
	}
	if IdempotencyKey("n", "r", "email") == IdempotencyKey("n", "r", "sms") || IdempotencyKey("ab", "c", "") == IdempotencyKey("a", "bc", "") {
		t.Error("IdempotencyKey collides")
	}
}
