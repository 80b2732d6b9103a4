package graph_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// domainsXML puts two hosts of one site in two security domains: wendy's
// team may read web and acknowledge and comment there; dave's team may do
// anything in db. open is in no domain.
const domainsXML = `<bergamot site="alpha">
  <security-domain name="web"><summary>Web servers</summary></security-domain>
  <security-domain name="db"><summary>Databases</summary></security-domain>
  <group name="everything"/>
  <team name="web-team"><access-control security-domain="web" grants="read, acknowledge, write.comment"/></team>
  <team name="db-team"><access-control security-domain="db" grants="*"/></team>
  <contact name="wendy" teams="web-team"><email>wendy@alpha.example</email></contact>
  <contact name="dave" teams="db-team"><email>Dave@alpha.example</email></contact>
  <command name="web-crit" engine="dummy"><parameter name="status">CRITICAL</parameter><parameter name="output">webstate is down</parameter></command>
  <command name="db-crit" engine="dummy"><parameter name="status">CRITICAL</parameter><parameter name="output">dbstate is down</parameter></command>
  <host name="webhost" address="192.0.2.10" groups="everything" security-domains="web">
    <check-command command="web-crit"/><schedule every="1h"/><state failed-after="1" recovers-after="1"/>
    <service name="http" security-domains="web"><check-command command="web-crit"/><schedule every="1h"/><state failed-after="1" recovers-after="1"/></service>
  </host>
  <host name="dbhost" address="192.0.2.20" groups="everything" security-domains="db">
    <check-command command="db-crit"/><schedule every="1h"/><state failed-after="1" recovers-after="1"/>
    <service name="pg" security-domains="db"><check-command command="db-crit"/><schedule every="1h"/><state failed-after="1" recovers-after="1"/></service>
  </host>
  <host name="openhost" address="192.0.2.30" groups="everything">
    <check-command command="web-crit"/><schedule every="1h"/><state failed-after="1" recovers-after="1"/>
  </host>
</bergamot>`

// domainsRead reads every query that shows checks or their rows.
const domainsRead = `{ site { statusCounts { status count } }
  hosts(first: 100) { id name address services { id name } alerts(first: 10) { id } comments(first: 10) { body } downtimes(first: 10) { id } }
  search: hosts(search: "host") { name }
  checks(first: 100) { totalCount nodes { id name state { output } history { nodes { output } } metrics { label } } }
  alerts { id output check { id name } comments(first: 10) { body } }
  downtimes { id comment } notificationLog { id recipient }
  groups { name counts { status count } } locations { name counts { count } } slas { name } }`

type domainsEnv struct {
	e                  *apitest.Env
	site               string
	admin, wendy, dave string
	ids                map[string]string
}

func login(t testing.TB, e *apitest.Env, site, email, password string) string {
	t.Helper()
	var out struct{ Login struct{ Token string } }
	e.MustDo(t, "", `mutation($s: String!, $e: String!, $p: String!) { login(site: $s, email: $e, password: $p) { token } }`,
		map[string]any{"s": site, "e": email, "p": password}, &out)
	return out.Login.Token
}

// twoDomains: site alpha with the configuration above, an administrator,
// wendy (editor) and dave (viewer); bravo, another site, has a host of the
// same name. Every check of alpha has a problem, an alert and a comment.
func twoDomains(t *testing.T) *domainsEnv {
	e := apitest.Start(t, apitest.Options{})
	a, b := e.SignUp(t, "alpha"), e.SignUp(t, "bravo")
	e.Apply(t, a.Token, domainsXML)
	e.Apply(t, b.Token, apitest.SiteXML("bravo"))
	const pw = "Domains-pass-9-long"
	e.Invite(t, a.Token, "wendy@alpha.example", pw, "EDITOR")
	e.Invite(t, a.Token, "dave@alpha.example", pw, "VIEWER")
	d := &domainsEnv{e: e, site: a.ID, admin: a.Token, wendy: login(t, e, "alpha", "wendy@alpha.example", pw), dave: login(t, e, "alpha", "dave@alpha.example", pw),
		ids: e.CheckIDs(t, a.Token)}
	for _, name := range []string{"webhost", "webhost/http", "dbhost", "dbhost/pg", "openhost"} {
		state := map[string]string{"d": "dbstate is down", "w": "webstate is down", "o": "openstate is down"}[name[:1]]
		e.Submit(t, a.Token, d.ids[name], "CRITICAL", state)
		e.MustDo(t, a.Token, `mutation($id: ID!) { addComment(checkId: $id, body: "note") { id } }`, map[string]any{"id": d.ids[name]}, nil)
	}
	return d
}

func TestSecurityDomainsOnEveryPath(t *testing.T) {
	d := twoDomains(t)
	e := d.e
	web := []string{d.ids["webhost"], d.ids["webhost/http"], "webhost", "webstate"}
	db := []string{d.ids["dbhost"], d.ids["dbhost/pg"], "dbhost", "dbstate"}

	t.Run("queries, counts, search, roll-ups, history, alerts", func(t *testing.T) {
		for _, tc := range []struct {
			who, token string
			sees, not  []string
			checks     int
		}{
			{"wendy", d.wendy, web, db, 3},
			{"dave", d.dave, db, web, 3},
			{"the administrator", d.admin, append(web, db...), nil, 5},
		} {
			r := e.Do(t, tc.token, domainsRead, nil)
			if len(r.Errors) > 0 {
				t.Fatalf("%s: errors %+v", tc.who, r.Errors)
			}
			raw := string(r.Data)
			for _, s := range tc.not {
				if strings.Contains(raw, s) {
					t.Errorf("%s's answer shows %q, outside their security domains", tc.who, s)
				}
			}
			for _, s := range append(tc.sees, d.ids["openhost"]) {
				if !strings.Contains(raw, s) {
					t.Errorf("%s's answer lacks %q", tc.who, s)
				}
			}
			var out struct {
				Site struct {
					StatusCounts []struct {
						Status string
						Count  int
					}
				}
				Checks struct{ TotalCount int }
				Alerts []struct{ ID string }
				Groups []struct {
					Name   string
					Counts []struct {
						Status string
						Count  int
					}
				}
			}
			if err := json.Unmarshal(r.Data, &out); err != nil {
				t.Fatal(err)
			}
			sum := func(cs []struct {
				Status string
				Count  int
			}) (n int) {
				for _, c := range cs {
					n += c.Count
				}
				return n
			}
			// Alerts open for hosts only (their services are encompassed).
			if out.Checks.TotalCount != tc.checks || sum(out.Site.StatusCounts) != tc.checks || len(out.Alerts) != tc.checks/2+1 {
				t.Errorf("%s counts %d checks, %d in the site's status counts, %d alerts; want %d, %d, %d",
					tc.who, out.Checks.TotalCount, sum(out.Site.StatusCounts), len(out.Alerts), tc.checks, tc.checks, tc.checks/2+1)
			}
			for _, g := range out.Groups {
				if g.Name == "everything" && sum(g.Counts) != map[int]int{3: 2, 5: 3}[tc.checks] {
					t.Errorf("%s: group everything rolls up %d hosts, want %d", tc.who, sum(g.Counts), map[int]int{3: 2, 5: 3}[tc.checks])
				}
			}
			if tc.not != nil {
				var one struct{ Check *struct{ ID string } }
				e.MustDo(t, tc.token, `query($id: ID!) { check(id: $id) { id } }`, map[string]any{"id": tc.not[1]}, &one)
				if one.Check != nil {
					t.Errorf("%s reads check %s by id", tc.who, one.Check.ID)
				}
			}
		}
	})

	t.Run("mutations and actions", func(t *testing.T) {
		type call struct {
			who, token, query string
			id                string
			code              string // "" allowed
		}
		ack := `mutation($id: ID!) { acknowledge(checkId: $id, comment: "on it") { id } }`
		exec := `mutation($id: ID!) { executeNow(checkId: $id) }`
		down := `mutation($id: ID!) { scheduleDowntime(checkId: $id, start: "2030-01-01T00:00:00Z", end: "2030-01-02T00:00:00Z", comment: "w") { id } }`
		flexible := `mutation($id: ID!) { scheduleFlexibleDowntime(checkId: $id, start: "2030-01-01T00:00:00Z", end: "2030-01-02T00:00:00Z", duration: 60, comment: "w") { id } }`
		comment := `mutation($id: ID!) { addComment(checkId: $id, body: "seen") { id } }`
		submit := `mutation($id: ID!) { submitResult(checkId: $id, status: OK, output: "fine") }`
		suppress := `mutation($id: ID!) { suppress(checkId: $id) }`
		for _, c := range []call{
			{"wendy", d.wendy, ack, d.ids["dbhost/pg"], "NOT_FOUND"},
			{"wendy", d.wendy, comment, d.ids["dbhost/pg"], "NOT_FOUND"},
			{"wendy", d.wendy, exec, d.ids["dbhost/pg"], "NOT_FOUND"},
			{"wendy", d.wendy, down, d.ids["dbhost"], "NOT_FOUND"},
			{"wendy", d.wendy, submit, d.ids["dbhost"], "NOT_FOUND"},
			{"wendy", d.wendy, suppress, d.ids["dbhost"], "NOT_FOUND"},
			{"wendy", d.wendy, exec, d.ids["webhost/http"], "FORBIDDEN"},
			{"wendy", d.wendy, down, d.ids["webhost"], "FORBIDDEN"},
			{"wendy", d.wendy, flexible, d.ids["webhost"], "FORBIDDEN"},
			{"wendy", d.wendy, submit, d.ids["webhost"], "FORBIDDEN"},
			{"wendy", d.wendy, suppress, d.ids["webhost"], "FORBIDDEN"},
			{"wendy", d.wendy, ack, d.ids["webhost/http"], ""},
			{"wendy", d.wendy, comment, d.ids["webhost/http"], ""},
			{"wendy (a check in no domain)", d.wendy, down, d.ids["openhost"], ""},
		} {
			r := e.Do(t, c.token, c.query, map[string]any{"id": c.id})
			if got := r.Code(); got != c.code {
				t.Errorf("%s: %s on %s: code %q (%+v), want %q", c.who, strings.Fields(c.query)[1], c.id, got, r.Errors, c.code)
			}
		}
		// dave only reads: his role (viewer) refuses changes before domains do.
		if r := e.Do(t, d.dave, ack, map[string]any{"id": d.ids["dbhost/pg"]}); r.Code() != "FORBIDDEN" {
			t.Errorf("dave (viewer) acknowledged: %+v", r.Errors)
		}
		var st struct {
			Check struct{ State struct{ Acknowledged bool } }
		}
		e.MustDo(t, d.admin, `query($id: ID!) { check(id: $id) { state { acknowledged } } }`, map[string]any{"id": d.ids["dbhost/pg"]}, &st)
		if st.Check.State.Acknowledged {
			t.Error("dbhost/pg was acknowledged by someone outside its domain")
		}
	})

	t.Run("REST and the Icinga endpoint", func(t *testing.T) {
		_, body := e.HTTP(t, "GET", "/api/v1/hosts", d.wendy, "", nil)
		if s := string(body); strings.Contains(s, "dbhost") || !strings.Contains(s, "webhost") {
			t.Errorf("REST hosts for wendy: %s", s)
		}
		resp, body := e.HTTP(t, "GET", "/api/v1/checks/"+d.ids["dbhost/pg"], d.wendy, "", nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("REST check outside wendy's domains: %d %s", resp.StatusCode, body)
		}
		_, body = e.HTTP(t, "GET", "/api/v1/alerts", d.wendy, "", nil)
		if strings.Contains(string(body), "dbstate") {
			t.Errorf("REST alerts for wendy: %s", body)
		}
		resp, body = e.HTTP(t, "POST", "/api/v1/checks/"+d.ids["dbhost/pg"]+"/acknowledge", d.wendy, "application/json", []byte(`{"comment":"mine"}`))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("REST acknowledge outside wendy's domains: %d %s", resp.StatusCode, body)
		}
		resp, body = e.HTTP(t, "POST", "/v1/actions/process-check-result", d.wendy, "application/json",
			[]byte(`{"type": "Host", "host": "dbhost", "exit_status": 0, "plugin_output": "x"}`))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("Icinga result outside wendy's domains: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("subscriptions", func(t *testing.T) {
		var subs []*apitest.WS
		for _, proto := range []string{apitest.TransportWS, apitest.LegacyWS} {
			subs = append(subs, e.MustSubscribe(t, proto, d.wendy, checkUpdatedQ, nil),
				e.MustSubscribe(t, proto, d.wendy, `subscription { alertUpdated { id check { id } output } }`, nil),
				e.MustSubscribe(t, proto, d.wendy, `subscription { notifications { type check { id } } }`, nil))
		}
		e.WaitSubscribers(t, d.site, len(subs))
		// Each time dbhost changes first, then webhost (hosts: their
		// services' problems are encompassed and raise no alert): the
		// first thing wendy receives on each subscription must be web's.
		for _, round := range []struct{ status, db, web string }{
			{"OK", "dbstate recovered", "webstate recovered"},
			{"CRITICAL", "dbstate is down", "webstate is down"},
		} {
			e.Submit(t, d.admin, d.ids["dbhost"], round.status, round.db)
			e.Submit(t, d.admin, d.ids["webhost"], round.status, round.web)
			for i, w := range subs {
				m, err := w.Next(20 * time.Second)
				if err != nil {
					t.Fatalf("%s: subscription %d: %v", w.Protocol, i, err)
				}
				if p := string(m.Payload); strings.Contains(p, d.ids["dbhost"]) || strings.Contains(p, "dbstate") || !strings.Contains(p, d.ids["webhost"]) {
					t.Errorf("%s: wendy's subscription %d received %s", w.Protocol, i, p)
				}
			}
		}
		for _, w := range subs {
			w.Close()
		}
	})

	t.Run("an editor applies configuration in every domain", func(t *testing.T) {
		e.Apply(t, d.wendy, strings.Replace(domainsXML, `address="192.0.2.20"`, `address="192.0.2.21"`, 1))
		var h struct{ Host struct{ Address string } }
		e.MustDo(t, d.admin, `{ host(name: "dbhost") { address } }`, nil, &h)
		if h.Host.Address != "192.0.2.21" {
			t.Errorf("dbhost's address after wendy's apply: %q", h.Host.Address)
		}
	})
}
