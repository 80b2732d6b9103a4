package rigtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/gateway"
)

// TestChaosKillNotifierDuringStorm: 1,000 checks (the dummy engine, so
// that the storm is the notifier's load, not fork's) turn CRITICAL at once
// (1,000 alerts to one webhook recipient, rate-limited into singles and
// digests); the notifier is killed with -9 mid-storm and comes back.
// Every alert reaches the receiver, covered exactly once (alone or in a
// digest); a message sent just before the kill but not yet recorded is
// sent again with the same idempotency key (at-least-once, as the
// webhook's idempotency_key documents), counted separately.
func TestChaosKillNotifierDuringStorm(t *testing.T) {
	unproven(t)
	t.Parallel()
	const n = 1000
	c := New(t, Options{})
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
<service name="crit" template="yes"><check-command command="dummy"/><schedule every="1h"/><state failed-after="1"/><notify contacts="hook"/></service>
<host name="storm" address="127.0.0.1" worker-pool="core"><check-command command="dummy"/><schedule every="1h"/>`+svc.String()+`</host></bergamot>`)
	notifyEnv := []string{"BERGAMOT_NOTIFY_RATE_LIMIT=100", "BERGAMOT_NOTIFY_RATE_WINDOW=5s", "BERGAMOT_NOTIFY_SEND_TIMEOUT=15s"}
	notifier := c.Notifier("notifier", notifyEnv...)
	c.Serve("serve-1")
	c.Worker("worker-1", "core")
	c.WaitFor("the storm under way", 120*time.Second, func() bool { return rcv.Covered() >= 50 })
	notifier.Kill()
	killedAt := rcv.Covered()
	time.Sleep(3 * time.Second)
	notifier.Restart()
	var a *Alerts
	deadline := time.Now().Add(8 * time.Minute)
	for {
		a = rcv.Count(c, "a")
		if (a.Expected >= n && a.InFlight == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	time.Sleep(3 * time.Second) // room for a late double
	a = rcv.Count(c, "a")
	t.Logf("killed with %d alerts covered; %s", killedAt, a)
	fmt.Printf("CHAOS %s: %s\n", t.Name(), a)
	// The host's own alert counts too: n services and the host.
	if a.Expected < n || a.Lost != 0 || a.InFlight != 0 || a.Covered != a.Expected {
		t.Errorf("want every one of %d+ alerts covered exactly once: %s", n, a)
	}
	if a.Duplicated > 20 {
		t.Errorf("%d messages sent again: more than the notifier had in flight (20)", a.Duplicated)
	}
}
