package rigtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/gateway"
)

// TestChaosKillNotifierDuringStorm: 1,000 checks (the dummy engine, so
// that the storm is the notifier's load, not fork's) turn CRITICAL at once
// (1,000 alerts to one webhook recipient, rate-limited into singles and
// digests); the notifier is killed with -9 mid-storm and comes back.
// Every alert reaches the receiver, covered by exactly one idempotency key
// (alone or in a digest), none lost: delivered once per recipient and
// channel to a receiver that drops a key it has seen (the webhook's
// Idempotency-Key header and idempotency_key field). A message the killed
// notifier sent but had not yet recorded goes out again with the same key;
// such repeats are counted and may not exceed the messages it had in
// flight when it died. The killed notifier's jobs are taken over within
// its job timeout (send timeout plus 30 s) and retried at once, so the
// storm ends within a few minutes of the kill, not after River's backoff.
func TestChaosKillNotifierDuringStorm(t *testing.T) {
	t.Parallel()
	const n = 1000
	// Every role reads the send timeout: whichever leads River's
	// maintenance rescues the dead notifier's jobs after it plus 30 s.
	c := New(t, Options{Env: []string{"BERGAMOT_NOTIFY_SEND_TIMEOUT=10s"}})
	rcv := NewReceiver(t)
	if _, err := (&gateway.Store{Pool: c.Pool}).CreateSharedZone(c.Ctx, "core"); err != nil {
		t.Fatal(err)
	}
	var svc strings.Builder
	for i := range n {
		fmt.Fprintf(&svc, `<service name="s%04d" extends="crit"/>`, i)
	}
	c.Site("a", `<bergamot site="a">
<contact name="hook"><parameter name="webhook.url">`+rcv.URL+`</parameter></contact>
<command name="dummy" engine="dummy"><parameter name="status">CRITICAL</parameter><parameter name="output">storm</parameter></command>
<command name="up" engine="dummy"><parameter name="status">OK</parameter><parameter name="output">up</parameter></command>
<service name="crit" template="yes"><check-command command="dummy"/><schedule every="1h"/><state failed-after="1"/><notify contacts="hook"/></service>
<host name="storm" address="127.0.0.1" worker-pool="core"><check-command command="up"/><schedule every="1h"/>`+svc.String()+`</host></bergamot>`)
	notifyEnv := []string{"BERGAMOT_NOTIFY_RATE_LIMIT=100", "BERGAMOT_NOTIFY_RATE_WINDOW=5s", "BERGAMOT_NOTIFY_RESCUE_AFTER=20s"}
	notifier := c.Notifier("notifier", notifyEnv...)
	c.Serve("serve-1")
	c.Worker("worker-1", "core")
	c.WaitFor("the storm under way", 120*time.Second, func() bool { return rcv.Covered() >= 50 })
	notifier.Kill()
	killed := time.Now()
	killedAt := rcv.Covered()
	// What the dead notifier had claimed and not recorded: single
	// deliveries being sent, and digests being sent (one message each).
	var inFlight int
	c.InSite("a", func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'sending') + count(DISTINCT digest_job) FILTER (WHERE state = 'digesting')
			FROM notification_deliveries WHERE kind <> 'digest'`).Scan(&inFlight)
	})
	time.Sleep(3 * time.Second)
	notifier.Restart()
	var a *Alerts
	deadline := time.Now().Add(4 * time.Minute)
	for {
		a = rcv.Count(c, "a")
		if (a.Expected >= n && a.InFlight == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	time.Sleep(3 * time.Second) // room for a late double
	a = rcv.Count(c, "a")
	t.Logf("killed with %d alerts covered and %d messages in flight; %s; storm over %s after the kill", killedAt, inFlight, a, time.Since(killed).Round(time.Second))
	fmt.Printf("CHAOS %s: %s (in flight at the kill %d, over %s after it)\n", t.Name(), a, inFlight, time.Since(killed).Round(time.Second))
	// The host stays up: a host down would suppress its services' alerts
	// (as it did once the host's own CRITICAL came in mid-storm).
	if a.Expected != n || a.Lost != 0 || a.InFlight != 0 || a.Covered != a.Expected {
		t.Errorf("want every one of %d alerts covered exactly once: %s", n, a)
	}
	if a.Duplicated > inFlight {
		t.Errorf("%d messages sent again with a key already delivered: more than the %d the killed notifier had in flight", a.Duplicated, inFlight)
	}
}
