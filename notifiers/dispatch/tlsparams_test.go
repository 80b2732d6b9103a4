package dispatch

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
	"github.com/bergamot-monitoring/bergamot/internal/ircdtest"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// privateCA makes a CA and a server certificate it signed for localhost and
// 127.0.0.1; it returns the certificate as issued and the CA certificate,
// server certificate and server key as PEM.
func privateCA(t testing.TB) (leaf tls.Certificate, caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	ca := certtest.NewCA(t)
	leaf = certtest.Leaf(t, ca, "localhost", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	certPEM, keyPEM = certtest.PEM(t, leaf)
	return leaf, ca.PEM(), certPEM, keyPEM
}

// indent puts a PEM text inside an indented XML element, as people paste it.
func indent(pemText []byte) string {
	return "\n\t\t" + strings.ReplaceAll(strings.TrimSpace(string(pemText)), "\n", "\n\t\t") + "\n\t"
}

// TestIRCOverTLSWithPrivateCA: a site whose IRC server has a certificate
// from its own CA sets irc.tls and irc.tls-ca; the configuration validates,
// and a notification reaches the channel over TLS. Another CA's
// certificate in irc.tls-ca is a prompt, permanent delivery error.
func TestIRCOverTLSWithPrivateCA(t *testing.T) {
	leaf, caPEM, _, _ := privateCA(t)
	srv := ircdtest.Start(t, &leaf)
	plain, tlsAddr := srv.Addr, srv.TLSAddr
	watcher := ircWatcher(t, plain, ircChannel)
	site := func(ca []byte) string {
		return fmt.Sprintf(`<bergamot site="acme">
	<parameter name="irc.server">%s</parameter>
	<parameter name="irc.tls">yes</parameter>
	<parameter name="irc.tls-ca">%s</parameter>
	<parameter name="irc.channel">%s</parameter>
	<parameter name="irc.bot-nick">bergabot</parameter>
	<contact name="dave"><parameter name="irc.nick">dave</parameter></contact>
</bergamot>`, tlsAddr, indent(ca), ircChannel)
	}
	chs := DefaultChannels(nil)
	t.Cleanup(func() { chs.Close(context.Background()) })
	m := resolveXML(t, site(caPEM))
	if errs := chs.Validate(m); len(errs) != 0 {
		t.Fatalf("valid TLS settings rejected: %v", errs)
	}
	nf, err := chs.Notifier("irc", Params(m.Parameters))
	must(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	n := &notifiers.Notification{Type: notifiers.TypeAlert, Site: "acme", Check: notifiers.Check{Kind: "service", Name: "disk", Host: "web1"},
		Status: checks.StatusCritical, Output: "DISK CRITICAL"}
	must(t, nf.Send(ctx, n, notifiers.Recipient{Addresses: map[string]string{"irc": "dave"}}))
	watcher.waitFor(t, "irc", 1, "bergabot> dave: [acme] Problem: disk")

	_, otherCA, _, _ := privateCA(t)
	m = resolveXML(t, site(otherCA))
	nf, err = chs.Notifier("irc", Params(m.Parameters))
	must(t, err)
	start := time.Now()
	err = nf.Send(ctx, n, notifiers.Recipient{Addresses: map[string]string{"irc": "dave"}})
	if err == nil || !notifiers.IsPermanent(err) || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Fatalf("untrusted certificate: err = %v (permanent %v)", err, notifiers.IsPermanent(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("untrusted certificate took %v to report", d)
	}
}

// TestTLSParameterValidation: bad TLS settings are configuration errors
// naming the parameter.
func TestTLSParameterValidation(t *testing.T) {
	_, caPEM, _, keyPEM := privateCA(t)
	for _, c := range []struct{ params, want string }{
		{`<parameter name="irc.tls">maybe</parameter>`, `parameter irc.tls: "maybe" is not yes or no`},
		{`<parameter name="irc.tls">yes</parameter><parameter name="irc.tls-ca">not a certificate</parameter>`,
			"parameter irc.tls-ca: must be PEM certificates (-----BEGIN CERTIFICATE----- ...)"},
		{`<parameter name="irc.tls">yes</parameter><parameter name="irc.tls-ca">` + indent(keyPEM) + `</parameter>`,
			"parameter irc.tls-ca: PEM block 1 is a EC PRIVATE KEY, not a CERTIFICATE"},
		{`<parameter name="irc.tls-ca">` + indent(caPEM) + `</parameter>`, "parameter irc.tls-ca is set but irc.tls is not yes"},
		{`<parameter name="irc.tls">yes</parameter><parameter name="irc.tls-ca">` + indent(caPEM) + "garbage</parameter>",
			"parameter irc.tls-ca: must be PEM certificates"},
	} {
		m := resolveXML(t, `<bergamot site="s"><parameter name="irc.server">irc.example.com:6697</parameter>
			<parameter name="irc.channel">#ops</parameter>`+c.params+`</bergamot>`)
		errs := DefaultChannels(nil).Validate(m)
		if len(errs) != 1 || !strings.Contains(errs.Error(), "site parameters: "+c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.params, errs, c.want)
		}
	}
	for _, c := range []struct{ params, want string }{
		{`<parameter name="smtp.tls-ca">-----BEGIN CERTIFICATE-----
AAAA
-----END CERTIFICATE-----</parameter>`, "parameter smtp.tls-ca: certificate 1: x509: "},
		{`<parameter name="smtp.security">none</parameter><parameter name="smtp.tls-ca">` + indent(caPEM) + `</parameter>`,
			"parameter smtp.tls-ca is set but smtp.security is none"},
	} {
		m := resolveXML(t, `<bergamot site="s"><parameter name="smtp.host">mail.example.com</parameter>
			<parameter name="smtp.from">b@example.com</parameter>`+c.params+`</bergamot>`)
		errs := DefaultChannels(nil).Validate(m)
		if len(errs) != 1 || !strings.Contains(errs.Error(), "site parameters: "+c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.params, errs, c.want)
		}
	}
	// A valid CA validates for email too.
	m := resolveXML(t, `<bergamot site="s"><parameter name="smtp.host">mail.example.com</parameter>
		<parameter name="smtp.from">b@example.com</parameter><parameter name="smtp.tls-ca">`+indent(caPEM)+`</parameter></bergamot>`)
	if errs := DefaultChannels(nil).Validate(m); len(errs) != 0 {
		t.Errorf("valid smtp.tls-ca rejected: %v", errs)
	}
}
