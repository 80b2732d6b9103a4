package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// received reads w's checkUpdated messages until it has seen each of
// until (in any order: one change batch may carry several), and returns
// their payloads. A closed connection, or 20 seconds without them, ends
// the reading (what arrived before is returned): a subscription that
// ended also receives nothing more. A read that timed out leaves w
// unusable, so callers wait only for what must come.
func received(t *testing.T, w *apitest.WS, until ...string) []string {
	t.Helper()
	var out []string
	deadline := time.Now().Add(20 * time.Second)
	for !allSeen(out, until) {
		m, err := w.Next(time.Until(deadline))
		if err != nil {
			t.Logf("%s subscription: %v", w.Protocol, err)
			return out
		}
		out = append(out, string(m.Payload))
	}
	return out
}

func allSeen(msgs, want []string) bool {
	for _, s := range want {
		if !anyContains(msgs, s) {
			return false
		}
	}
	return true
}

func anyContains(msgs []string, s string) bool {
	for _, m := range msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// TestOpenSubscriptionsFollowAccessChanges: an open subscription follows
// its member's security domains and role as they change, without
// reconnecting: a grant revoked by a configuration apply stops the
// domain's checks reaching it at once, a grant given starts them, and a
// member demoted or removed stops receiving what they may no longer read.
// (Before the live hub re-read subscribers' access on the configuration
// and membership channels, each of these kept streaming the old way until
// the dashboard reconnected.)
func TestOpenSubscriptionsFollowAccessChanges(t *testing.T) {
	d := twoDomains(t)
	e := d.e
	const pw = "Domains-pass-9-long"
	e.Invite(t, d.admin, "eve@alpha.example", pw, "ADMIN")
	eve := login(t, e, "alpha", "eve@alpha.example", pw)
	var me struct {
		Users []struct{ ID, Email string }
	}
	e.MustDo(t, d.admin, `{ users { id email } }`, nil, &me)
	ids := map[string]string{}
	for _, m := range me.Users {
		ids[strings.ToLower(m.Email)] = m.ID
	}

	wendy := e.MustSubscribe(t, apitest.TransportWS, d.wendy, checkUpdatedQ, nil)
	dave := e.MustSubscribe(t, apitest.LegacyWS, d.dave, checkUpdatedQ, nil)
	eveWS := e.MustSubscribe(t, apitest.TransportWS, eve, checkUpdatedQ, nil)
	e.WaitSubscribers(t, d.site, 3)

	// Each step changes a check and then openhost (in no domain, readable
	// by all) with a marker, and reads each subscription up to the marker.
	status := "CRITICAL"
	step := func(id, output, marker string) {
		t.Helper()
		status = map[string]string{"CRITICAL": "OK", "OK": "CRITICAL"}[status]
		e.Submit(t, d.admin, id, status, output)
		e.Submit(t, d.admin, d.ids["openhost"], status, marker)
	}

	t.Run("a configuration apply revokes wendy's grant over web and gives dave one", func(t *testing.T) {
		xml := strings.Replace(domainsXML, `<team name="web-team"><access-control security-domain="web" grants="read, acknowledge, write.comment"/></team>`,
			`<team name="web-team"/>`, 1)
		xml = strings.Replace(xml, `<team name="db-team"><access-control security-domain="db" grants="*"/></team>`,
			`<team name="db-team"><access-control security-domain="db" grants="*"/><access-control security-domain="web" grants="read"/></team>`, 1)
		if xml == domainsXML {
			t.Fatal("the configuration did not change")
		}
		e.Apply(t, d.admin, xml)
		step(d.ids["webhost"], "webstate after the apply", "marker-1")
		if got := received(t, wendy, "marker-1"); anyContains(got, "webstate after the apply") || !anyContains(got, "marker-1") {
			t.Errorf("wendy, whose grant over web was revoked, received %q", got)
		}
		if got := received(t, dave, "webstate after the apply", "marker-1"); !anyContains(got, "webstate after the apply") {
			t.Errorf("dave, newly granted read over web, did not receive webhost's change: %q", got)
		}
		if got := received(t, eveWS, "webstate after the apply", "marker-1"); !anyContains(got, "webstate after the apply") {
			t.Errorf("eve, an administrator, did not receive webhost's change: %q", got)
		}
	})

	t.Run("eve, demoted from administrator to viewer, no longer receives domains' checks", func(t *testing.T) {
		e.MustDo(t, d.admin, `mutation($u: ID!) { setRole(userId: $u, role: VIEWER) }`, map[string]any{"u": ids["eve@alpha.example"]}, nil)
		step(d.ids["dbhost"], "dbstate after eve's demotion", "marker-2")
		// Her connection may also be closed (its credential's role
		// changed): either way the change must not reach her.
		if got := received(t, eveWS, "marker-2"); anyContains(got, "dbstate after eve's demotion") {
			t.Errorf("eve, demoted to viewer without grants, received %q", got)
		}
		if got := received(t, dave, "dbstate after eve's demotion", "marker-2"); !anyContains(got, "dbstate after eve's demotion") {
			t.Errorf("dave did not receive dbhost's change: %q", got)
		}
	})

	t.Run("dave, removed from the site, receives nothing more", func(t *testing.T) {
		e.MustDo(t, d.admin, `mutation($u: ID!) { removeMember(userId: $u) }`, map[string]any{"u": ids["dave@alpha.example"]}, nil)
		step(d.ids["dbhost"], "dbstate after dave's removal", "marker-3")
		if got := received(t, dave, "marker-3"); anyContains(got, "dbstate after dave's removal") || anyContains(got, "marker-3") {
			t.Errorf("dave, removed from the site, received %q", got)
		}
	})

	t.Run("wendy never received web's change, however late", func(t *testing.T) {
		if got := received(t, wendy, "marker-3"); anyContains(got, "webstate after the apply") || anyContains(got, "dbstate") || !anyContains(got, "marker-3") {
			t.Errorf("wendy received %q", got)
		}
	})
}
