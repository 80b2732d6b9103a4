package dispatch

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/ircdtest"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/notifiers"
	"github.com/bergamot-monitoring/bergamot/notifiers/email"
	"github.com/bergamot-monitoring/bergamot/notifiers/irc"
)

// hosted is the hosted execution policy's address rules, with this
// machine's own addresses given explicitly (documentation ranges).
func hosted() *netpolicy.Policy {
	return netpolicy.New(netpolicy.Options{Own: []netip.Addr{netip.MustParseAddr("198.51.100.7")}})
}

// TestHostedSMTPAndIRCServersRefusedAtApply: under hosted, a site's own
// smtp.host and irc.server (site parameters, or a contact's) may not name
// the operator's network: refused when the configuration is validated, with
// the parameter and the rule. Public ones pass, and with no policy
// (trusted) loopback does too.
func TestHostedSMTPAndIRCServersRefusedAtApply(t *testing.T) {
	refused := map[string]string{
		`<parameter name="smtp.host">127.0.0.1</parameter><parameter name="smtp.from">a@example.com</parameter>`:      "email: parameter smtp.host: address 127.0.0.1 is loopback",
		`<parameter name="smtp.host">localhost</parameter><parameter name="smtp.from">a@example.com</parameter>`:      "smtp.host: address localhost (127.0.0.1) is loopback: the hosted execution policy refuses it",
		`<parameter name="smtp.host">198.51.100.7</parameter><parameter name="smtp.from">a@example.com</parameter>`:   "smtp.host: address 198.51.100.7",
		`<parameter name="irc.server">10.1.2.3:6667</parameter><parameter name="irc.channel">#ops</parameter>`:        "irc: parameter irc.server: address 10.1.2.3 is private",
		`<parameter name="irc.server">[::1]:6697</parameter><parameter name="irc.channel">#ops</parameter>`:           "irc.server: address ::1 is loopback",
		`<parameter name="irc.server">169.254.169.254:6667</parameter><parameter name="irc.channel">#ops</parameter>`: "cloud metadata endpoint",
	}
	for params, want := range refused {
		for _, where := range []string{"site", "contact"} {
			xml := `<bergamot site="s">` + params + `</bergamot>`
			if where == "contact" {
				xml = `<bergamot site="s"><contact name="ops"><email>ops@example.com</email><parameter name="irc.nick">ops</parameter>` + params + `</contact></bergamot>`
			}
			errs := PolicyChannels(nil, hosted()).Validate(resolveXML(t, xml))
			if len(errs) == 0 || !strings.Contains(errs.Error(), want) {
				t.Errorf("%s %s: %v, want %q", where, params, errs, want)
			}
			if errs := PolicyChannels(nil, nil).Validate(resolveXML(t, xml)); len(errs) != 0 && where == "site" && strings.Contains(params, "smtp") {
				t.Errorf("trusted %s: %v", params, errs)
			}
		}
	}
	for _, params := range []string{
		`<parameter name="smtp.host">mail.example.com</parameter><parameter name="smtp.from">a@example.com</parameter>`,
		`<parameter name="smtp.host">203.0.113.25</parameter><parameter name="smtp.from">a@example.com</parameter>`,
		`<parameter name="irc.server">irc.example.net:6697</parameter><parameter name="irc.channel">#ops</parameter>`,
	} {
		if errs := PolicyChannels(nil, hosted()).Validate(resolveXML(t, `<bergamot site="s">`+params+`</bergamot>`)); len(errs) != 0 {
			t.Errorf("hosted refused public %s: %v", params, errs)
		}
	}
}

// TestHostedSMTPAndIRCGuardAtRunTime: the run-time guard on its own. An
// email or IRC notifier given the policy's dialer cannot reach a real Exim
// or ngircd on loopback, however its server was named (the refusal is on
// the resolved address, in the socket's Control hook); the same notifiers
// without it deliver, so the refusal is the policy's.
func TestHostedSMTPAndIRCGuardAtRunTime(t *testing.T) {
	ex := mailtest.Start(t)
	n := &notifiers.Notification{Type: notifiers.TypeAlert, Site: "acme", Check: notifiers.Check{Kind: "service", Name: "disk", Host: "web1"},
		Status: checks.StatusCritical, Output: "disk full"}
	to := notifiers.Recipient{Name: "Ops", Addresses: map[string]string{"email": "ops@bergamot.test", "irc": "ops"}}
	mailCfg := email.Config{Host: "localhost", Port: ex.Port, Username: mailtest.Username, Password: mailtest.Password,
		From: "alerts@bergamot.example", TLS: ex.TLSConfig(), Timeout: 10 * time.Second}
	guarded := mailCfg
	guarded.Dialer = hosted().Dialer(nil)
	nf, err := email.New(guarded)
	if err != nil {
		t.Fatal(err)
	}
	if err := nf.Send(t.Context(), n, to); err == nil || !netpolicy.IsRefused(err) {
		t.Errorf("email through the policy's dialer to Exim on loopback: %v, want a refusal", err)
	}
	nf, err = email.New(mailCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := nf.Send(t.Context(), n, to); err != nil {
		t.Fatalf("the same email without the policy: %v", err)
	}

	addr := ircdtest.Start(t, nil).Addr
	for _, tc := range []struct {
		dialer bool
		want   string
	}{{true, "is loopback"}, {false, ""}} {
		cfg := irc.Config{Server: addr, Nick: "guardbot", Channel: "#guard", ConnectTimeout: 5 * time.Second,
			ReconnectMin: 100 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}
		if tc.dialer {
			cfg.Dialer = hosted().Dialer(nil)
		}
		inf, err := irc.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err = inf.Send(ctx, n, to)
		cancel()
		_ = inf.Close(context.Background())
		switch {
		case tc.dialer && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("irc through the policy's dialer to ngircd on loopback: %v, want %q", err, tc.want)
		case !tc.dialer && err != nil:
			t.Errorf("irc without the policy: %v", err)
		}
	}
}
