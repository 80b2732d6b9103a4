package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// subscribeMany opens n subscriptions on w and returns how many the server
// refused, with the first refusal's text. Accepted ones send nothing, so
// the read waits for quiet.
func subscribeMany(t *testing.T, w *apitest.WS, n int) (refused int, first string) {
	t.Helper()
	for range n {
		if _, err := w.Subscribe(checkUpdatedQ, nil); err != nil {
			t.Fatal(err)
		}
	}
	for {
		m, err := w.Next(2 * time.Second)
		if apitest.IsTimeout(err) {
			return refused, first
		}
		if m == nil {
			t.Fatalf("connection ended: %v", err)
		}
		// A refused subscription answers with errors, then complete.
		if strings.Contains(string(m.Payload), `"errors"`) || m.Type == "error" {
			if refused++; first == "" {
				first = string(m.Payload)
			}
		}
	}
}

// Issue 19 item 4: one site's sockets cannot open subscriptions without
// bound; over a limit the subscription is refused with an error naming the
// limit and its value, and another site's updates keep arriving promptly.
func TestSubscriptionLimits(t *testing.T) {
	e, a, b, _, bIDs := twoSites(t, apitest.Options{})
	ctx := t.Context()
	// alpha's per-site override, below the installation default.
	if err := e.Resolver.Limits.Set(ctx, uuid.MustParse(a.ID), tenants.LimitSubscriptionsPerSite, 150); err != nil {
		t.Fatal(err)
	}
	watcher := e.MustSubscribe(t, apitest.TransportWS, b.Token, checkUpdatedQ, nil)

	w1 := e.MustSubscribe(t, apitest.TransportWS, a.Token, checkUpdatedQ, nil) // 1 open
	refused, msg := subscribeMany(t, w1, 119)
	if refused != 20 || !strings.Contains(msg, "limit subscriptions-per-connection = 100") {
		t.Fatalf("per connection: %d refused, first %s", refused, msg)
	}
	w2 := e.MustSubscribe(t, apitest.TransportWS, a.Token, checkUpdatedQ, nil) // 101 open
	refused, msg = subscribeMany(t, w2, 99)
	if refused != 50 || !strings.Contains(msg, "limit subscriptions-per-site = 150") {
		t.Fatalf("per site: %d refused, first %s", refused, msg)
	}
	e.WaitSubscribers(t, a.ID, 150)

	// bravo is not counted against alpha, and its updates arrive.
	start := time.Now()
	e.Submit(t, b.Token, bIDs["web1/http"], "WARNING", "bravo still live")
	u := nextUpdate(t, watcher, bIDs["web1/http"], 10*time.Second)
	if u.CheckUpdated.State.Output != "bravo still live" {
		t.Fatalf("bravo's update: %+v", u)
	}
	t.Logf("bravo's update after %s with 150 alpha subscriptions open", time.Since(start))

	// Closing a connection gives its places back.
	w1.Close()
	deadline := time.Now().Add(10 * time.Second)
	for e.Hub.Subscribers(uuid.MustParse(a.ID)) > 50 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	w3 := e.MustSubscribe(t, apitest.TransportWS, a.Token, checkUpdatedQ, nil)
	if refused, msg := subscribeMany(t, w3, 9); refused != 0 {
		t.Fatalf("after closing: %d refused: %s", refused, msg)
	}
}
