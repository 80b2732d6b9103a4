package dispatch

import (
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
)

// domainHost is a host in security domain web, notifying team ops (alice,
// bob), carol and dora; only dora's team may read web.
const domainHost = `
	<security-domain name="web"/>
	<team name="web-readers"><access-control security-domain="web" grants="read"/></team>
	<contact name="dora" teams="web-readers"><email>dora@bergamot.test</email></contact>
	<host name="web1" address="10.0.0.1" security-domains="web">
		<state failed-after="1" recovers-after="1"/>
		<notify teams="ops" contacts="carol, dora"/>
	</host>
	<host name="open1" address="10.0.0.2">
		<state failed-after="1" recovers-after="1"/>
		<notify contacts="carol"/>
	</host>`

// TestContactNotifiedOnlyAboutReadableChecks: through the real pipeline and
// a real SMTP server, a contact is notified only about checks it may read
// (its security domains); a check in no domain notifies as before.
func TestContactNotifiedOnlyAboutReadableChecks(t *testing.T) {
	ex := mailtest.Start(t)
	r := newRig(t, siteXML(ex, domainHost), withExim(ex))
	r.submit(checks.StatusCritical, r.checkID("host", "web1"), r.checkID("host", "open1"))
	ex.WaitMessages(t, 1, 20*time.Second, to("dora@", "[acme] Problem: web1 is CRITICAL"))
	ex.WaitMessages(t, 1, 20*time.Second, to("carol@", "[acme] Problem: open1 is CRITICAL"))
	r.idle()
	for _, m := range ex.Messages(t) {
		if s, rcpt := subject(m), m.Header.Get("To"); strings.Contains(s, "web1") && !strings.Contains(rcpt, "dora@") {
			t.Errorf("%s was notified about web1, outside its security domains: %s", rcpt, s)
		}
	}
}
