package dispatch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/notifiers"
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

// ackDomainHost is a host in domain web notifying dora (may read web) and
// erin (may read and acknowledge in web).
const ackDomainHost = `
	<security-domain name="web"/>
	<team name="web-readers"><access-control security-domain="web" grants="read"/></team>
	<team name="web-ackers"><access-control security-domain="web" grants="read, acknowledge"/></team>
	<contact name="dora" teams="web-readers"><email>dora@bergamot.test</email></contact>
	<contact name="erin" teams="web-ackers"><email>erin@bergamot.test</email></contact>
	<host name="web1" address="10.0.0.1" security-domains="web">
		<state failed-after="1" recovers-after="1"/>
		<notify contacts="dora, erin"/>
	</host>`

// TestAckLinkNeedsTheContactsGrant: the acknowledge link in a notification
// acts for its contact, so that contact's security domains decide: dora,
// who may read web1 but not acknowledge it, is refused and nothing changes;
// erin's link acknowledges. (Before, any link acknowledged: the link's
// transaction runs with the whole site's rights.)
func TestAckLinkNeedsTheContactsGrant(t *testing.T) {
	ex := mailtest.Start(t)
	r := newRig(t, siteXML(ex, ackDomainHost), withExim(ex))
	web1 := r.checkID("host", "web1")
	r.submit(checks.StatusCritical, web1)
	ex.WaitMessages(t, 1, 20*time.Second, to("dora@", "[acme] Problem: web1 is CRITICAL"))
	var alert uuid.UUID
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM alerts WHERE check_id = $1`, web1).Scan(&alert)
	})
	srv := httptest.NewServer(r.d.AckHandler())
	defer srv.Close()
	post := func(contact string) (int, string) {
		tok := notifiers.SignAck(r.d.AckKey, ackSubject(r.site, alert, contact), time.Now().Add(time.Hour))
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/ack/"+tok, nil)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	acked := func() string {
		var by string
		r.inSite(func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT COALESCE(acknowledged_by, '') FROM alerts WHERE id = $1`, alert).Scan(&by)
		})
		return by
	}
	if code, body := post("dora"); code != http.StatusForbidden || !strings.Contains(body, "may not acknowledge") {
		t.Fatalf("dora's link: %d %s", code, body)
	}
	if by := acked(); by != "" {
		t.Fatalf("acknowledged by %q through a link whose contact may not", by)
	}
	if code, body := post("erin"); code != http.StatusOK || !strings.Contains(body, "is acknowledged") {
		t.Fatalf("erin's link: %d %s", code, body)
	}
	if by := acked(); by != "erin" {
		t.Fatalf("acknowledged by %q, want erin", by)
	}
}
