package graph_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestEveryQueryAndMutation runs each query and mutation of the schema
// over HTTP against a real pipeline (processor and a dummy-engine worker).
func TestEveryQueryAndMutation(t *testing.T) {
	e := apitest.Start(t, apitest.Options{Worker: true})
	a := e.SignUp(t, "alpha")
	e.Apply(t, a.Token, apitest.SiteXML("alpha"))
	ids := e.CheckIDs(t, a.Token)
	if len(ids) != 5 {
		t.Fatalf("want 2 hosts and 3 services, got %v", ids)
	}
	http1, disk1 := ids["web1/http"], ids["web1/disk"]

	t.Run("executeNow runs the check on a worker", func(t *testing.T) {
		var out struct{ ExecuteNow bool }
		e.MustDo(t, a.Token, `mutation($id: ID!) { executeNow(checkId: $id) }`, map[string]any{"id": http1}, &out)
		if !out.ExecuteNow {
			t.Fatal("executeNow returned false")
		}
		// web1/http runs the dummy-crit command: the worker's result makes it hard CRITICAL.
		e.WaitStatus(t, a.Token, http1, "CRITICAL")
		var st struct {
			Check struct {
				State struct{ Output, Worker string }
			}
		}
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { output worker } } }`, map[string]any{"id": http1}, &st)
		if st.Check.State.Output != "broken on purpose" || st.Check.State.Worker != "apitest-worker" {
			t.Fatalf("state after executeNow: %+v", st.Check.State)
		}
	})

	t.Run("submitResult and the check's fields", func(t *testing.T) {
		e.Submit(t, a.Token, disk1, "WARNING", "disk 91% full|used=91%;80;90;0;100")
		var out struct {
			Check struct {
				ID, Kind, Name, Engine string
				Command                *string
				Summary                *string
				Enabled                bool
				Groups                 []string
				Location               *string
				Host                   struct{ Name string }
				State                  struct {
					Status, Output string
					Ok, Hard       bool
					Attempt        int
					Perfdata       []struct {
						Label string
						Value *float64
						Uom   *string
					}
					LastCheck *time.Time
				}
				History struct {
					Nodes    []struct{ Status, Previous, Output string }
					PageInfo struct{ HasNextPage bool }
				}
				Metrics []struct {
					Label  string
					Points []struct{ Value float64 }
				}
			}
		}
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { id kind name summary enabled groups location
			... on Service { engine command host { name } }
			state { status ok hard attempt output perfdata { label value uom } lastCheck }
			history(first: 5) { nodes { status previous output } pageInfo { hasNextPage } }
			metrics(points: 10) { label points { value } } } }`, map[string]any{"id": disk1}, &out)
		c := out.Check
		if c.ID != disk1 || c.Kind != "SERVICE" || c.Name != "disk" || c.Host.Name != "web1" || c.Engine != "dummy" {
			t.Fatalf("check: %+v", c)
		}
		if c.State.Status != "WARNING" || c.State.Ok || !c.State.Hard || c.State.Output != "disk 91% full" || c.State.LastCheck == nil {
			t.Fatalf("state: %+v", c.State)
		}
		if len(c.State.Perfdata) != 1 || c.State.Perfdata[0].Label != "used" || c.State.Perfdata[0].Value == nil || *c.State.Perfdata[0].Value != 91 {
			t.Fatalf("perfdata: %+v", c.State.Perfdata)
		}
		if len(c.History.Nodes) == 0 || c.History.Nodes[0].Status != "WARNING" {
			t.Fatalf("history: %+v", c.History)
		}
		if len(c.Metrics) != 1 || c.Metrics[0].Label != "used" || len(c.Metrics[0].Points) == 0 || c.Metrics[0].Points[0].Value != 91 {
			t.Fatalf("metrics: %+v", c.Metrics)
		}
	})

	t.Run("site, me, hosts, host", func(t *testing.T) {
		var out struct {
			Site struct {
				ID, Name     string
				StatusCounts []struct {
					Status string
					Count  int
				}
			}
			Me        struct{ Email, Role string }
			Hosts     []struct{ Name string }
			Search    []struct{ Name string }
			ByName    *struct{ ID, Address string }
			ByID      *struct{ Name string }
			NoSuch    *struct{ Name string }
			ServiceID *struct{ Name string }
		}
		e.MustDo(t, a.Token, `query($id: ID!, $svc: ID!) { site { id name statusCounts { status count } } me { email role }
			hosts { name } search: hosts(search: "EB2") { name }
			byName: host(name: "web1") { id address } byID: host(id: $id) { name }
			noSuch: host(name: "nope") { name } serviceID: host(id: $svc) { name } }`,
			map[string]any{"id": ids["web2"], "svc": http1}, &out)
		if out.Site.ID != a.ID || out.Site.Name != "alpha" || out.Me.Email != a.Email || out.Me.Role != "ADMIN" {
			t.Fatalf("site/me: %+v %+v", out.Site, out.Me)
		}
		total := 0
		for _, c := range out.Site.StatusCounts {
			total += c.Count
		}
		if total != 5 {
			t.Fatalf("statusCounts add up to %d, want 5: %+v", total, out.Site.StatusCounts)
		}
		if len(out.Hosts) != 2 || len(out.Search) != 1 || out.Search[0].Name != "web2" {
			t.Fatalf("hosts %+v search %+v", out.Hosts, out.Search)
		}
		if out.ByName == nil || out.ByName.ID != ids["web1"] || out.ByName.Address != "192.0.2.1" || out.ByID == nil || out.ByID.Name != "web2" {
			t.Fatalf("host: %+v %+v", out.ByName, out.ByID)
		}
		if out.NoSuch != nil || out.ServiceID != nil {
			t.Fatalf("unknown host or a service's id gave a host: %+v %+v", out.NoSuch, out.ServiceID)
		}
	})

	t.Run("checks with filters and paging", func(t *testing.T) {
		type conn struct {
			TotalCount int
			Nodes      []struct{ ID, Name string }
			PageInfo   struct {
				HasNextPage bool
				EndCursor   string
			}
		}
		var out struct{ All, Problems, Hosts, Web2, Page1, Search, ByID conn }
		e.MustDo(t, a.Token, `query($ids: [ID!]) { all: checks { totalCount nodes { id name } }
			problems: checks(filter: {problems: true}) { totalCount nodes { id name } }
			hosts: checks(filter: {kind: HOST}) { totalCount }
			web2: checks(filter: {host: "web2"}) { totalCount }
			page1: checks(first: 2) { totalCount nodes { id } pageInfo { hasNextPage endCursor } }
			search: checks(filter: {search: "dis"}) { totalCount nodes { name } }
			byID: checks(filter: {ids: $ids}) { totalCount } }`, map[string]any{"ids": []string{http1, disk1}}, &out)
		if out.All.TotalCount != 5 || len(out.All.Nodes) != 5 {
			t.Fatalf("all: %+v", out.All)
		}
		// Problems first: the CRITICAL one leads the list.
		if out.All.Nodes[0].ID != http1 || out.Problems.TotalCount != 2 {
			t.Fatalf("ordering/problems: %+v / %+v", out.All.Nodes, out.Problems)
		}
		if out.Hosts.TotalCount != 2 || out.Web2.TotalCount != 2 || out.ByID.TotalCount != 2 || out.Search.TotalCount != 1 {
			t.Fatalf("filters: hosts %d web2 %d ids %d search %d", out.Hosts.TotalCount, out.Web2.TotalCount, out.ByID.TotalCount, out.Search.TotalCount)
		}
		if !out.Page1.PageInfo.HasNextPage || len(out.Page1.Nodes) != 2 {
			t.Fatalf("page 1: %+v", out.Page1)
		}
		var next struct{ Checks conn }
		e.MustDo(t, a.Token, `query($after: String) { checks(first: 10, after: $after) { nodes { id } pageInfo { hasNextPage } } }`,
			map[string]any{"after": out.Page1.PageInfo.EndCursor}, &next)
		if len(next.Checks.Nodes) != 3 || next.Checks.PageInfo.HasNextPage {
			t.Fatalf("page 2: %+v", next.Checks)
		}
	})

	var alertID string
	t.Run("alerts, acknowledge, unacknowledge, comments", func(t *testing.T) {
		var al struct {
			Alerts []struct {
				ID, Status string
				Check      struct{ ID string }
			}
		}
		e.MustDo(t, a.Token, `{ alerts(open: true) { id status check { id } } }`, nil, &al)
		if len(al.Alerts) != 2 {
			t.Fatalf("open alerts: %+v", al.Alerts)
		}
		for _, x := range al.Alerts {
			if x.Check.ID == http1 {
				alertID = x.ID
			}
		}
		if alertID == "" {
			t.Fatalf("no alert for web1/http: %+v", al.Alerts)
		}
		var ack struct {
			Acknowledge *struct {
				ID             string
				Acknowledged   bool
				AcknowledgedBy *string
			}
		}
		e.MustDo(t, a.Token, `mutation($id: ID!) { acknowledge(checkId: $id, comment: "on it", sticky: true) { id acknowledged acknowledgedBy } }`,
			map[string]any{"id": http1}, &ack)
		if ack.Acknowledge == nil || ack.Acknowledge.ID != alertID || !ack.Acknowledge.Acknowledged || deref(ack.Acknowledge.AcknowledgedBy) != a.Email {
			t.Fatalf("acknowledge: %+v", ack.Acknowledge)
		}
		var c struct {
			AddComment struct{ ID, Author, Body string }
		}
		e.MustDo(t, a.Token, `mutation($id: ID!) { addComment(checkId: $id, body: "restarting nginx") { id author body } }`, map[string]any{"id": http1}, &c)
		if c.AddComment.Body != "restarting nginx" || c.AddComment.Author != a.Email {
			t.Fatalf("addComment: %+v", c.AddComment)
		}
		var one struct {
			Alert *struct {
				Acknowledged bool
				Comments     []struct{ Body string }
				Check        struct{ Name string }
			}
			Check struct {
				State    struct{ Acknowledged bool }
				Comments []struct{ Body string }
				Alerts   []struct{ ID string }
			}
		}
		e.MustDo(t, a.Token, `query($a: ID!, $c: ID!) { alert(id: $a) { acknowledged comments { body } check { name } }
			check(id: $c) { state { acknowledged } comments { body } alerts(open: true) { id } } }`, map[string]any{"a": alertID, "c": http1}, &one)
		if one.Alert == nil || !one.Alert.Acknowledged || one.Alert.Check.Name != "http" || len(one.Alert.Comments) != 2 {
			t.Fatalf("alert: %+v", one.Alert)
		}
		if !one.Check.State.Acknowledged || len(one.Check.Comments) != 2 || len(one.Check.Alerts) != 1 {
			t.Fatalf("check after ack: %+v", one.Check)
		}
		var un struct{ Unacknowledge bool }
		e.MustDo(t, a.Token, `mutation($id: ID!) { unacknowledge(checkId: $id) }`, map[string]any{"id": http1}, &un)
		var after struct {
			Check struct{ State struct{ Acknowledged bool } }
		}
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { acknowledged } } }`, map[string]any{"id": http1}, &after)
		if !un.Unacknowledge || after.Check.State.Acknowledged {
			t.Fatalf("unacknowledge: %v, still acknowledged %v", un.Unacknowledge, after.Check.State.Acknowledged)
		}
	})

	t.Run("downtimes and suppression", func(t *testing.T) {
		start, end := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
		var dt struct {
			ScheduleDowntime struct {
				ID, CheckID, Comment string
				Cancelled            bool
			}
		}
		e.MustDo(t, a.Token, `mutation($id: ID!, $s: Time!, $e: Time!) { scheduleDowntime(checkId: $id, start: $s, end: $e, comment: "maintenance") { id checkId comment cancelled } }`,
			map[string]any{"id": disk1, "s": start, "e": end}, &dt)
		if dt.ScheduleDowntime.CheckID != disk1 || dt.ScheduleDowntime.Comment != "maintenance" {
			t.Fatalf("scheduleDowntime: %+v", dt.ScheduleDowntime)
		}
		var q struct {
			Check struct {
				State     struct{ InDowntime bool }
				Downtimes []struct{ ID string }
			}
			Checks struct{ TotalCount int }
		}
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { inDowntime } downtimes(active: true) { id } } checks(filter: {inDowntime: true}) { totalCount } }`,
			map[string]any{"id": disk1}, &q)
		if !q.Check.State.InDowntime || len(q.Check.Downtimes) != 1 || q.Checks.TotalCount != 1 {
			t.Fatalf("in downtime: %+v", q)
		}
		var cancel struct{ CancelDowntime bool }
		e.MustDo(t, a.Token, `mutation($id: ID!) { cancelDowntime(id: $id) }`, map[string]any{"id": dt.ScheduleDowntime.ID}, &cancel)
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { inDowntime } downtimes(active: true) { id } } checks(filter: {inDowntime: true}) { totalCount } }`,
			map[string]any{"id": disk1}, &q)
		if !cancel.CancelDowntime || q.Check.State.InDowntime || q.Checks.TotalCount != 0 {
			t.Fatalf("after cancelDowntime: %+v", q)
		}
		var s struct{ Suppress, Unsuppress bool }
		e.MustDo(t, a.Token, `mutation($id: ID!) { suppress(checkId: $id) }`, map[string]any{"id": disk1}, &s)
		var st struct {
			Check struct{ State struct{ Suppressed bool } }
		}
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { suppressed } } }`, map[string]any{"id": disk1}, &st)
		if !s.Suppress || !st.Check.State.Suppressed {
			t.Fatal("suppress did not suppress")
		}
		e.MustDo(t, a.Token, `mutation($id: ID!) { unsuppress(checkId: $id) }`, map[string]any{"id": disk1}, &s)
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { state { suppressed } } }`, map[string]any{"id": disk1}, &st)
		if !s.Unsuppress || st.Check.State.Suppressed {
			t.Fatal("unsuppress did not unsuppress")
		}
	})

	t.Run("groups, locations, teams, contacts, commands, timePeriods, workers", func(t *testing.T) {
		var out struct {
			Groups []struct {
				Name, Status string
				Counts       []struct {
					Status string
					Count  int
				}
			}
			Locations []struct{ Name, Status string }
			Teams     []struct {
				Name     string
				Contacts []struct{ Name string }
			}
			Contacts    []struct{ Name, Email string }
			Commands    []struct{ Name, Engine string }
			TimePeriods []struct {
				Name   string
				Ranges []string
			}
			Workers []struct {
				Name  string
				Alive bool
			}
		}
		// Groups hold the checks given them (here the hosts): web1 going DOWN turns the group CRITICAL.
		e.Submit(t, a.Token, ids["web1"], "CRITICAL", "host unreachable")
		e.MustDo(t, a.Token, `{ groups { name status counts { status count } } locations { name status } teams { name contacts { name } }
			contacts { name email } commands { name engine } timePeriods { name ranges } workers { name alive } }`, nil, &out)
		if len(out.Groups) != 1 || out.Groups[0].Name != "web" || out.Groups[0].Status != "CRITICAL" {
			t.Fatalf("groups: %+v", out.Groups)
		}
		if len(out.Locations) != 1 || out.Locations[0].Name != "dc1" || out.Locations[0].Status != "CRITICAL" {
			t.Fatalf("locations: %+v", out.Locations)
		}
		if len(out.Teams) != 1 || len(out.Teams[0].Contacts) != 1 || out.Teams[0].Contacts[0].Name != "alice" {
			t.Fatalf("teams: %+v", out.Teams)
		}
		if len(out.Contacts) != 1 || out.Contacts[0].Email != "alice@alpha.example" {
			t.Fatalf("contacts: %+v", out.Contacts)
		}
		if len(out.Commands) != 2 || len(out.TimePeriods) != 1 || out.TimePeriods[0].Name != "24x7" {
			t.Fatalf("commands %+v time periods %+v", out.Commands, out.TimePeriods)
		}
		if out.Workers == nil {
			t.Fatal("workers is null")
		}
	})

	t.Run("config: applyConfig dry run, configXml, configRevisions", func(t *testing.T) {
		var dry struct {
			ApplyConfig struct {
				OK                      bool `json:"ok"`
				Added, Changed, Removed int
				Diff                    *string
				Revision                *int
			}
		}
		extra := `<bergamot site="alpha"><host name="web3" address="192.0.2.3"><check-command command="dummy-ok"/></host></bergamot>`
		e.MustDo(t, a.Token, `mutation($x: String!) { applyConfig(xml: $x, dryRun: true) { ok added changed removed diff revision } }`, map[string]any{"x": extra}, &dry)
		if !dry.ApplyConfig.OK || dry.ApplyConfig.Added != 1 || dry.ApplyConfig.Revision != nil {
			t.Fatalf("dry run: %+v", dry.ApplyConfig)
		}
		if len(e.CheckIDs(t, a.Token)) != 5 {
			t.Fatal("a dry run added checks")
		}
		var revs struct {
			ConfigRevisions []struct {
				ID                      int
				Author, Summary, Diff   string
				Added, Changed, Removed int
			}
			ConfigXml string
		}
		e.MustDo(t, a.Token, `{ configRevisions(first: 5) { id author summary added changed removed diff } configXml }`, nil, &revs)
		if len(revs.ConfigRevisions) < 2 || revs.ConfigRevisions[0].Author != a.Email || revs.ConfigRevisions[0].Added < 5 {
			t.Fatalf("configRevisions: %+v", revs.ConfigRevisions)
		}
		if !strings.Contains(revs.ConfigXml, `name="web1"`) || !strings.Contains(revs.ConfigXml, `name="dummy-crit"`) || strings.Contains(revs.ConfigXml, "web3") {
			t.Fatalf("configXml:\n%s", revs.ConfigXml)
		}
		e.Apply(t, a.Token, extra)
		if len(e.CheckIDs(t, a.Token)) != 6 {
			t.Fatal("applyConfig did not add web3")
		}
	})

	t.Run("users, roles, tokens, login, logout", func(t *testing.T) {
		var inv struct {
			InviteUser struct{ ID, Email, Role string }
		}
		e.MustDo(t, a.Token, `mutation { inviteUser(email: "ed@alpha.example", role: VIEWER) { id email role } }`, nil, &inv)
		if inv.InviteUser.Role != "VIEWER" {
			t.Fatalf("inviteUser: %+v", inv.InviteUser)
		}
		e.MustDo(t, "", `mutation($t: String!) { acceptInvitation(token: $t, password: "Another-Good-pass-7") { token } }`,
			map[string]any{"t": e.Links.Last(t, tenants.LinkInvite, "ed@alpha.example").Token}, nil)
		var sr struct{ SetRole bool }
		e.MustDo(t, a.Token, `mutation($id: ID!) { setRole(userId: $id, role: EDITOR) }`, map[string]any{"id": inv.InviteUser.ID}, &sr)
		var us struct {
			Users []struct{ Email, Role string }
		}
		e.MustDo(t, a.Token, `{ users { email role } }`, nil, &us)
		roles := map[string]string{}
		for _, u := range us.Users {
			roles[u.Email] = u.Role
		}
		if !sr.SetRole || roles["ed@alpha.example"] != "EDITOR" || roles[a.Email] != "ADMIN" {
			t.Fatalf("users after setRole: %+v", us.Users)
		}
		var login struct {
			Login struct {
				Token string
				User  struct{ Role string }
				Site  struct{ Name string }
			}
		}
		r := e.Do(t, "", `mutation { login(site: "alpha", email: "ed@alpha.example", password: "Another-Good-pass-7") { token user { role } site { name } } }`, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("login: %+v", r.Errors)
		}
		r.Decode(t, &login)
		ed := login.Login.Token
		if ed == "" || login.Login.User.Role != "EDITOR" || login.Login.Site.Name != "alpha" {
			t.Fatalf("login: %+v", login.Login)
		}
		var tok struct{ CreateAPIToken string }
		e.MustDo(t, ed, `mutation { createApiToken(name: "ci") }`, nil, &tok)
		var me struct{ Me struct{ Email string } }
		e.MustDo(t, tok.CreateAPIToken, `{ me { email } }`, nil, &me)
		if me.Me.Email != "ed@alpha.example" {
			t.Fatalf("API token belongs to %q", me.Me.Email)
		}
		var list struct {
			APITokens []struct {
				ID, Name  string
				RevokedAt *time.Time
			}
		}
		e.MustDo(t, ed, `{ apiTokens { id name revokedAt } }`, nil, &list)
		if len(list.APITokens) != 1 || list.APITokens[0].Name != "ci" {
			t.Fatalf("apiTokens: %+v", list.APITokens)
		}
		var rv struct{ RevokeAPIToken bool }
		e.MustDo(t, ed, `mutation($id: ID!) { revokeApiToken(id: $id) }`, map[string]any{"id": list.APITokens[0].ID}, &rv)
		if r := e.Do(t, tok.CreateAPIToken, `{ me { email } }`, nil); r.Status != http.StatusUnauthorized || r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("revoked token still works: %d %+v", r.Status, r.Errors)
		}
		var lo struct{ Logout bool }
		e.MustDo(t, ed, `mutation { logout }`, nil, &lo)
		if r := e.Do(t, ed, `{ me { email } }`, nil); !lo.Logout || r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("session still works after logout: %+v", r.Errors)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
