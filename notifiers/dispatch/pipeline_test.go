package dispatch

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/notifiers/email"
	"github.com/bergamot-monitoring/bergamot/notifiers/webhook"
	"github.com/bergamot-monitoring/bergamot/store"
)

const webHost = `
	<host name="web1" address="10.0.0.1">
		<state failed-after="1" recovers-after="1"/>
		<notify teams="ops" contacts="carol"/>
		<service name="disk">
			<state failed-after="1" recovers-after="1"/>
			<notify teams="ops" contacts="carol"/>
			<notifications><escalate after="1s"><notify teams="managers"/></escalate></notifications>
		</service>
		<service name="load">
			<state failed-after="1" recovers-after="1"/>
			<notify teams="ops" contacts="carol"/>
		</service>
	</host>`

func withExim(ex *mailtest.Exim) func(d *Dispatcher) {
	return func(d *Dispatcher) {
		d.Channels = NewChannels(&email.ChannelDef{TLS: ex.TLSConfig()}, webhook.ChannelDef{})
	}
}

// TestAlertEscalationAcknowledgementRecovery follows one problem from alert
// to recovery through the real pipeline and a real SMTP server.
func TestAlertEscalationAcknowledgementRecovery(t *testing.T) {
	ex := mailtest.Start(t)
	r := newRig(t, siteXML(ex, webHost), withExim(ex))
	disk := r.checkID("service", "disk")

	r.submit(checks.StatusCritical, disk)
	const problem = "[acme] Problem: disk on web1 is CRITICAL"
	alice := ex.WaitMessages(t, 1, 20*time.Second, to("alice@", problem))
	ex.WaitMessages(t, 1, 20*time.Second, to("carol@", problem))
	if !strings.Contains(alice[0].Text, "http://bergamot.test/ack/a1.") || !strings.Contains(alice[0].Text, "http://bergamot.test/#/check/"+disk) {
		t.Errorf("alert lacks the dashboard and acknowledge links:\n%s", alice[0].Text)
	}

	// Nobody acknowledged: after 1 s the managers are told.
	ex.WaitMessages(t, 1, 20*time.Second, to("boss@", "[acme] Escalated: disk on web1"))

	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		_, err := store.Acknowledge(ctx, tx, disk, "alice", "replacing the disk", false)
		return err
	})
	for _, who := range []string{"alice@", "carol@", "boss@"} {
		m := ex.WaitMessages(t, 1, 20*time.Second, to(who, "[acme] Acknowledged: disk on web1"))
		if !strings.Contains(m[0].Text, "replacing the disk") {
			t.Errorf("acknowledgement to %s lacks the comment:\n%s", who, m[0].Text)
		}
	}
	// Still critical, acknowledged: no new problem notification.
	r.submit(checks.StatusCritical, disk)
	r.submit(checks.StatusOK, disk)
	for _, who := range []string{"alice@", "carol@", "boss@"} {
		ex.WaitMessages(t, 1, 20*time.Second, to(who, "[acme] Recovered: disk on web1"))
	}
	r.idle()
	if n := len(ex.WaitMessages(t, 0, 0, to("alice@", problem))); n != 1 {
		t.Errorf("alice got %d problem notifications, want 1", n)
	}
	if got := ex.WaitMessages(t, 0, 0, to("bob@", "")); len(got) != 0 {
		t.Errorf("bob (time period never) got %d messages", len(got))
	}
	if got := ex.WaitMessages(t, 0, 0, to("boss@", problem)); len(got) != 0 {
		t.Errorf("boss got the first alert before escalation")
	}
	log := r.logRows()
	for _, want := range []string{"alice email alert sent", "boss email escalation sent", "carol email acknowledgement sent", "boss email recovery sent"} {
		if !slices.Contains(log, want) {
			t.Errorf("delivery log lacks %q:\n%s", want, strings.Join(log, "\n"))
		}
	}
}

// TestHostDownOneAlert: with the host down, its services' problems are
// part of the host's and raise no alerts of their own.
func TestHostDownOneAlert(t *testing.T) {
	ex := mailtest.Start(t)
	r := newRig(t, siteXML(ex, webHost), withExim(ex))
	host, disk, load := r.checkID("host", "web1"), r.checkID("service", "disk"), r.checkID("service", "load")
	r.submit(checks.StatusOK, disk, load)
	r.submit(checks.StatusCritical, host)
	r.submit(checks.StatusCritical, disk, load)
	ex.WaitMessages(t, 1, 20*time.Second, to("alice@", "[acme] Problem: web1 is CRITICAL"))
	r.idle()
	for _, m := range ex.Messages(t) {
		if s := subject(m); strings.Contains(s, "disk") || strings.Contains(s, "load") {
			t.Errorf("service notification while the host is down: %s to %s", s, m.Header.Get("To"))
		}
	}
	if n := len(ex.WaitMessages(t, 0, 0, to("alice@", "Problem"))); n != 1 {
		t.Errorf("alice got %d problem notifications, want 1 (the host's)", n)
	}
}
