package graph_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

const checkUpdatedQ = `subscription($f: CheckFilter) { checkUpdated(filter: $f) { check { id name } previous { status } state { status output hard } } }`

type checkUpdate struct {
	CheckUpdated struct {
		Check    struct{ ID, Name string }
		Previous *struct{ Status string }
		State    struct {
			Status, Output     string
			Hard, Acknowledged bool
		}
	}
}

// nextUpdate reads data messages until one is about check id.
func nextUpdate(t *testing.T, w *apitest.WS, id string, d time.Duration) checkUpdate {
	t.Helper()
	return nextUpdateIn(t, w, nil, id, d)
}

// nextUpdateIn is nextUpdate that, with own set, fails on an update of a
// check outside own (another site's).
func nextUpdateIn(t *testing.T, w *apitest.WS, own map[string]bool, id string, d time.Duration) checkUpdate {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := w.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("%s: waiting for an update of %s: %v", w.Protocol, id, err)
		}
		var p struct {
			Data   checkUpdate
			Errors []apitest.Error
		}
		if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
			t.Fatalf("payload %s: %v %+v", m.Payload, err, p.Errors)
		}
		if own != nil && !own[p.Data.CheckUpdated.Check.ID] {
			t.Fatalf("%s: a subscription received another site's update: %s", w.Protocol, m.Payload)
		}
		if p.Data.CheckUpdated.Check.ID == id {
			return p.Data
		}
	}
}

// expectNothing fails if w receives a data message within d.
func expectNothing(t *testing.T, w *apitest.WS, d time.Duration, what string) {
	t.Helper()
	m, err := w.Next(d)
	if err == nil {
		t.Fatalf("%s received %s", what, m.Payload)
	}
	if !apitest.IsTimeout(err) {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestSubscriptions(t *testing.T) {
	e, a, b, aIDs, bIDs := twoSites(t, apitest.Options{})
	disk := aIDs["web1/disk"]

	for _, proto := range []string{apitest.TransportWS, apitest.LegacyWS} {
		t.Run(proto, func(t *testing.T) {
			all := e.MustSubscribe(t, proto, a.Token, checkUpdatedQ, nil)
			filtered := e.MustSubscribe(t, proto, a.Token, checkUpdatedQ, map[string]any{"f": map[string]any{"ids": []string{aIDs["web2"]}}})
			byHost := e.MustSubscribe(t, proto, a.Token, checkUpdatedQ, map[string]any{"f": map[string]any{"host": "web1"}})
			other := e.MustSubscribe(t, proto, b.Token, checkUpdatedQ, nil)
			e.WaitSubscribers(t, a.ID, 3)
			e.WaitSubscribers(t, b.ID, 1)
			start := time.Now()
			status := map[string]string{apitest.TransportWS: "WARNING", apitest.LegacyWS: "CRITICAL"}[proto]
			e.MustDo(t, a.Token, `mutation($id: ID!, $s: Status!) { submitResult(checkId: $id, status: $s, output: "via websocket") }`,
				map[string]any{"id": disk, "s": status}, nil)
			u := nextUpdate(t, all, disk, 5*time.Second)
			t.Logf("%s: update %s after %s", proto, u.CheckUpdated.State.Status, time.Since(start))
			if u.CheckUpdated.State.Status != status || u.CheckUpdated.State.Output != "via websocket" || u.CheckUpdated.Check.Name != "disk" {
				t.Fatalf("update: %+v", u)
			}
			if got := nextUpdate(t, byHost, disk, 5*time.Second); got.CheckUpdated.State.Status != status {
				t.Fatalf("host-filtered update: %+v", got)
			}
			expectNothing(t, filtered, 300*time.Millisecond, "a subscription filtered to web2")
			expectNothing(t, other, 50*time.Millisecond, "bravo's subscriber")
		})
	}

	t.Run("auth through the upgrade header", func(t *testing.T) {
		w, _, err := e.DialWS(apitest.TransportWS, http.Header{"Authorization": {"Bearer " + a.Token}})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if ack, err := w.Init(nil); err != nil || ack.Type != "connection_ack" {
			t.Fatalf("init: %+v %v", ack, err)
		}
		if _, err := w.Subscribe(checkUpdatedQ, nil); err != nil {
			t.Fatal(err)
		}
		e.WaitSubscribers(t, a.ID, 1)
		e.MustDo(t, a.Token, `mutation($id: ID!) { submitResult(checkId: $id, status: OK, output: "header auth") }`, map[string]any{"id": disk}, nil)
		if u := nextUpdate(t, w, disk, 5*time.Second); u.CheckUpdated.State.Output != "header auth" {
			t.Fatalf("update: %+v", u)
		}
	})

	t.Run("a burst of results arrives in order", func(t *testing.T) {
		// The hub re-reads several batches at once; a subscriber must
		// still never see a check go back to an older state.
		w := e.MustSubscribe(t, apitest.TransportWS, a.Token, checkUpdatedQ, map[string]any{"f": map[string]any{"ids": []string{disk}}})
		e.WaitSubscribers(t, a.ID, 1)
		const n = 40
		for i := 1; i <= n; i++ {
			e.MustDo(t, a.Token, `mutation($id: ID!, $o: String!) { submitResult(checkId: $id, status: OK, output: $o) }`,
				map[string]any{"id": disk, "o": fmt.Sprintf("burst %d", i)}, nil)
		}
		last := 0
		for last < n {
			u := nextUpdate(t, w, disk, 10*time.Second)
			var k int
			if _, err := fmt.Sscanf(u.CheckUpdated.State.Output, "burst %d", &k); err != nil {
				continue // an update from before the burst
			}
			if k < last {
				t.Fatalf("update %q arrived after burst %d", u.CheckUpdated.State.Output, last)
			}
			last = k
		}
	})

	t.Run("a state filter also delivers the update that leaves it", func(t *testing.T) {
		// A problems page must hear of the recovery to drop the check;
		// steady OK results stay out of it.
		web2 := aIDs["web2"]
		submit := func(status, out string) {
			e.MustDo(t, a.Token, `mutation($id: ID!, $s: Status!, $o: String!) { submitResult(checkId: $id, status: $s, output: $o) }`,
				map[string]any{"id": web2, "s": status, "o": out}, nil)
		}
		submit("OK", "before")
		w := e.MustSubscribe(t, apitest.TransportWS, a.Token, checkUpdatedQ, map[string]any{"f": map[string]any{"problems": true}})
		e.WaitSubscribers(t, a.ID, 1)
		submit("CRITICAL", "down")
		if u := nextUpdate(t, w, web2, 5*time.Second); u.CheckUpdated.State.Status != "CRITICAL" {
			t.Fatalf("got %+v, want the check going CRITICAL", u)
		}
		submit("OK", "back")
		u := nextUpdate(t, w, web2, 5*time.Second)
		if u.CheckUpdated.State.Status != "OK" || u.CheckUpdated.State.Output != "back" || u.CheckUpdated.Previous == nil || u.CheckUpdated.Previous.Status != "CRITICAL" {
			t.Fatalf("got %+v, want the recovery from CRITICAL", u)
		}
		submit("OK", "steady")
		expectNothing(t, w, 500*time.Millisecond, "a problems subscription after an OK result of an OK check")
	})

	t.Run("bad or missing token is refused", func(t *testing.T) {
		for _, proto := range []string{apitest.TransportWS, apitest.LegacyWS} {
			for _, payload := range []map[string]any{{"authorization": "Bearer bgt_nonsense"}, {"authorization": "Bearer " + a.Token + "x"}, nil} {
				w, _, err := e.DialWS(proto, nil)
				if err != nil {
					t.Fatal(err)
				}
				ack, err := w.Init(payload)
				if err == nil && ack.Type == "connection_ack" {
					t.Errorf("%s: connection_init %v was acknowledged", proto, payload)
				}
				w.Close()
			}
		}
		// A bad token in the upgrade header is refused at once.
		_, resp, err := e.DialWS(apitest.TransportWS, http.Header{"Authorization": {"Bearer bgt_nonsense"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("bad upgrade header token: %v %v", err, resp)
		}
	})

	t.Run("bad origin is refused", func(t *testing.T) {
		_, resp, err := e.DialWS(apitest.TransportWS, http.Header{"Origin": {"https://evil.example"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("evil origin: err %v resp %v", err, resp)
		}
		w, _, err := e.DialWS(apitest.TransportWS, http.Header{"Origin": {e.URL}})
		if err != nil {
			t.Fatalf("same origin refused: %v", err)
		}
		w.Close()
	})

	t.Run("alertUpdated and notifications on hard CRITICAL", func(t *testing.T) {
		http2 := aIDs["web2/http"]
		alerts := e.MustSubscribe(t, apitest.TransportWS, a.Token, `subscription { alertUpdated { id status output check { id } } }`, nil)
		notes := e.MustSubscribe(t, apitest.LegacyWS, a.Token, `subscription { notifications { type status output check { id name } at } }`, nil)
		bAlerts := e.MustSubscribe(t, apitest.TransportWS, b.Token, `subscription { alertUpdated { id check { id } } }`, nil)
		bNotes := e.MustSubscribe(t, apitest.TransportWS, b.Token, `subscription { notifications { type } }`, nil)
		e.WaitSubscribers(t, a.ID, 2)
		e.WaitSubscribers(t, b.ID, 2)
		e.MustDo(t, a.Token, `mutation($id: ID!) { submitResult(checkId: $id, status: CRITICAL, output: "web2 http dead") }`, map[string]any{"id": http2}, nil)
		readFor := func(w *apitest.WS, field string) map[string]any {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for {
				m, err := w.Next(time.Until(deadline))
				if err != nil {
					t.Fatalf("waiting for %s: %v", field, err)
				}
				var p struct{ Data map[string]map[string]any }
				_ = json.Unmarshal(m.Payload, &p)
				v := p.Data[field]
				if c, _ := v["check"].(map[string]any); c != nil && c["id"] == http2 {
					return v
				}
			}
		}
		al := readFor(alerts, "alertUpdated")
		if al["status"] != "CRITICAL" || al["output"] != "web2 http dead" {
			t.Fatalf("alertUpdated: %v", al)
		}
		n := readFor(notes, "notifications")
		if n["type"] != "alert" || n["status"] != "CRITICAL" {
			t.Fatalf("notification: %v", n)
		}
		// Recovery notifies too.
		e.MustDo(t, a.Token, `mutation($id: ID!) { submitResult(checkId: $id, status: OK, output: "back") }`, map[string]any{"id": http2}, nil)
		if n := readFor(notes, "notifications"); n["type"] != "recovery" || n["status"] != "OK" {
			t.Fatalf("recovery notification: %v", n)
		}
		expectNothing(t, bAlerts, 200*time.Millisecond, "bravo's alertUpdated")
		expectNothing(t, bNotes, 50*time.Millisecond, "bravo's notifications")
		_ = bIDs
	})

	t.Run("subscription errors", func(t *testing.T) {
		w := e.MustSubscribe(t, apitest.TransportWS, a.Token, `subscription { checkUpdated { nosuchfield } }`, nil)
		m, err := w.Next(3 * time.Second)
		if err == nil && !strings.Contains(string(m.Payload), "nosuchfield") || err != nil && !strings.Contains(err.Error(), "nosuchfield") {
			t.Fatalf("invalid subscription: %v %+v", err, m)
		}
	})
}

// TestChangedSubscriptions: checkUpdated(filter: {changed: true}), the
// dashboard's site-wide subscription, receives a check's first result, its
// state changes and recoveries, but not results that change nothing a
// status view shows; it stays within its site; and lists refuse the field.
func TestChangedSubscriptions(t *testing.T) {
	e, a, b, aIDs, bIDs := twoSites(t, apitest.Options{})
	web2, bWeb2 := aIDs["web2"], bIDs["web2"]
	bravo := map[string]bool{}
	for _, id := range bIDs {
		bravo[id] = true
	}
	alpha := map[string]bool{}
	for _, id := range aIDs {
		alpha[id] = true
	}
	changed := map[string]any{"f": map[string]any{"changed": true}}
	all := e.MustSubscribe(t, apitest.TransportWS, a.Token, checkUpdatedQ, nil)
	aChanged := e.MustSubscribe(t, apitest.TransportWS, a.Token, checkUpdatedQ, changed)
	aChangedIDs := e.MustSubscribe(t, apitest.LegacyWS, a.Token, checkUpdatedQ,
		map[string]any{"f": map[string]any{"changed": true, "ids": []string{web2, aIDs["web1/disk"]}}})
	bChanged := e.MustSubscribe(t, apitest.TransportWS, b.Token, checkUpdatedQ, changed)
	e.WaitSubscribers(t, a.ID, 3)
	e.WaitSubscribers(t, b.ID, 1)

	submit := func(token, id, status, out string) {
		t.Helper()
		e.MustDo(t, token, `mutation($id: ID!, $s: Status!, $o: String!) { submitResult(checkId: $id, status: $s, output: $o) }`,
			map[string]any{"id": id, "s": status, "o": out}, nil)
		// The unfiltered subscription hears of every result: once it has
		// this one, so would the filtered ones.
		if token == a.Token {
			if u := nextUpdate(t, all, id, 5*time.Second); u.CheckUpdated.State.Output != out {
				t.Fatalf("unfiltered subscription: got %+v, want output %q", u, out)
			}
		}
	}
	want := func(w *apitest.WS, own map[string]bool, id, status, out, previous string) {
		t.Helper()
		// Updates of other checks of w's site (late ones from the setup)
		// are skipped; one of the other site's fails the test.
		u := nextUpdateIn(t, w, own, id, 5*time.Second).CheckUpdated
		if u.State.Status != status || u.State.Output != out || previous != "" && (u.Previous == nil || u.Previous.Status != previous) {
			t.Fatalf("%s: got %+v, want %s %q after %s", w.Protocol, u, status, out, previous)
		}
	}

	// web2 has had no result yet: its first counts as a change.
	submit(a.Token, web2, "OK", "first")
	submit(b.Token, bWeb2, "OK", "bravo first")
	submit(a.Token, web2, "CRITICAL", "down")
	submit(b.Token, bWeb2, "CRITICAL", "bravo down")
	submit(a.Token, web2, "CRITICAL", "still down") // same status, hard already
	submit(a.Token, web2, "OK", "back")
	submit(a.Token, web2, "OK", "steady") // a second identical OK
	for _, w := range []*apitest.WS{aChanged, aChangedIDs} {
		want(w, alpha, web2, "OK", "first", "")
		want(w, alpha, web2, "CRITICAL", "down", "OK")
		// Not "still down": the next one is the recovery.
		want(w, alpha, web2, "OK", "back", "CRITICAL")
	}
	expectNothing(t, aChanged, 500*time.Millisecond, "a changed subscription after an identical OK result")
	expectNothing(t, aChangedIDs, 50*time.Millisecond, "a changed subscription by ids after an identical OK result")
	want(bChanged, bravo, bWeb2, "OK", "bravo first", "")
	want(bChanged, bravo, bWeb2, "CRITICAL", "bravo down", "OK")
	expectNothing(t, bChanged, 50*time.Millisecond, "bravo's changed subscription")

	t.Run("checks refuses changed", func(t *testing.T) {
		for _, v := range []bool{true, false} {
			r := e.Do(t, a.Token, `query($f: CheckFilter) { checks(filter: $f) { totalCount } }`, map[string]any{"f": map[string]any{"changed": v}})
			if r.Code() != "INVALID" || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "changed") {
				t.Errorf("checks(filter: {changed: %v}): %+v, want INVALID naming changed", v, r.Errors)
			}
		}
	})
}

// A change that is not a result (an acknowledgement, a downtime) reaches a
// {changed: true} subscription also for a check the hub has not followed
// yet: here web2's latest result changed nothing (CRITICAL again) and
// came before anyone subscribed, so the hub has no previous state of its
// own to compare with.
func TestChangedSubscriptionsSeeUnfollowedChecksChange(t *testing.T) {
	e, a, _, aIDs, _ := twoSites(t, apitest.Options{})
	web2 := aIDs["web2"]
	for _, out := range []string{"down", "still down", "still down", "still down"} {
		e.MustDo(t, a.Token, `mutation($id: ID!, $o: String!) { submitResult(checkId: $id, status: CRITICAL, output: $o) }`,
			map[string]any{"id": web2, "o": out}, nil)
	}
	// All four processed: the check is a hard CRITICAL with that output.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var r struct {
			Check struct{ State struct{ Hard bool } }
		}
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { hard } } }`, map[string]any{"id": web2}, &r)
		if r.Check.State.Hard {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("web2 never went hard")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the hub has seen the last result (no one subscribed)

	const q = `subscription($f: CheckFilter) { checkUpdated(filter: $f) { check { id } state { acknowledged inDowntime } } }`
	w := e.MustSubscribe(t, apitest.TransportWS, a.Token, q, map[string]any{"f": map[string]any{"changed": true}})
	e.WaitSubscribers(t, a.ID, 1)
	e.MustDo(t, a.Token, `mutation($id: ID!) { acknowledge(checkId: $id, comment: "on it") { id } }`, map[string]any{"id": web2}, nil)
	// The acknowledgement of a check the hub had not followed reaches the
	// changed subscription.
	deadline = time.Now().Add(5 * time.Second)
	for !nextUpdate(t, w, web2, time.Until(deadline)).CheckUpdated.State.Acknowledged {
		// an earlier update of web2: read on
	}
	// Now followed: the next identical result is not a change.
	e.MustDo(t, a.Token, `mutation($id: ID!) { submitResult(checkId: $id, status: CRITICAL, output: "still down") }`, map[string]any{"id": web2}, nil)
	expectNothing(t, w, 500*time.Millisecond, "a changed subscription after an identical result of a followed check")
}
