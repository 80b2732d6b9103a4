package graph_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// bravoExtra gives site bravo objects whose names say "bravo", so that any
// leak into alpha's answers is visible as the word.
const bravoExtra = `<bergamot site="bravo">
  <group name="bravo-group"/><location name="bravo-loc"/>
  <team name="bravo-team"/><contact name="bravo-contact" teams="bravo-team"><email>c@bravo.example</email></contact>
  <command name="bravo-cmd" engine="dummy"><parameter name="status">OK</parameter></command>
  <time-period name="bravo-period"><time-range>monday 00:00-24:00</time-range></time-period>
  <host name="bravo-only" address="198.51.100.7" groups="bravo-group" location="bravo-loc"><summary>bravo host</summary>
    <check-command command="bravo-cmd"/><state failed-after="1" recovers-after="1"/>
    <service name="bravo-svc"><check-command command="bravo-cmd"/><state failed-after="1" recovers-after="1"/></service>
  </host>
</bergamot>`

// twoSites signs up alpha and bravo with the same small configuration
// (same host names), bravo with extra objects, and problems on both.
func twoSites(t *testing.T, o apitest.Options) (*apitest.Env, *apitest.Site, *apitest.Site, map[string]string, map[string]string) {
	e := apitest.Start(t, o)
	a, b := e.SignUp(t, "alpha"), e.SignUp(t, "bravo")
	e.Apply(t, a.Token, apitest.SiteXML("alpha"))
	e.Apply(t, b.Token, apitest.SiteXML("bravo"))
	e.Apply(t, b.Token, bravoExtra)
	aIDs, bIDs := e.CheckIDs(t, a.Token), e.CheckIDs(t, b.Token)
	e.Submit(t, a.Token, aIDs["web1/http"], "CRITICAL", "alpha is down")
	e.Submit(t, b.Token, bIDs["web1/http"], "CRITICAL", "bravo is down")
	return e, a, b, aIDs, bIDs
}

// everything reads every query (with nested check fields) of the schema.
const everything = `{ site { id name summary aliases statusCounts { status count } } me { id email role }
  hosts(first: 100) { id name address services { id name host { name } } traps { id } alerts(first: 10) { id } comments(first: 10) { body } downtimes(first: 10) { id } }
  checks(first: 100) { totalCount nodes { id name summary state { output } history { nodes { output } } metrics { label } } }
  alerts { id output check { id name } comments(first: 10) { body } }
  downtimes { id comment } notificationLog { id recipient }
  groups { name children { name } counts { count } } locations { name children { name } } teams { name contacts { name email } }
  contacts { name email teams } commands { name engine } timePeriods { name ranges }
  configRevisions(first: 200) { id author summary diff } configXml workers { id name } users { id email } apiTokens { id name userId } }`

func TestTwoSiteIsolation(t *testing.T) {
	e, a, b, aIDs, bIDs := twoSites(t, apitest.Options{})
	bHTTP := bIDs["web1/http"]
	// Bravo's own objects: an alert, a downtime, a comment, a token, a second user.
	var bAlerts struct{ Alerts []struct{ ID string } }
	e.MustDo(t, b.Token, `{ alerts(open: true) { id } }`, nil, &bAlerts)
	if len(bAlerts.Alerts) != 1 {
		t.Fatalf("bravo alerts: %+v", bAlerts)
	}
	bAlert := bAlerts.Alerts[0].ID
	var bDown struct{ ScheduleDowntime struct{ ID string } }
	e.MustDo(t, b.Token, `mutation($id: ID!, $s: Time!, $e: Time!) { scheduleDowntime(checkId: $id, start: $s, end: $e, comment: "bravo window") { id } }`,
		map[string]any{"id": bIDs["web2"], "s": time.Now().Add(time.Hour), "e": time.Now().Add(2 * time.Hour)}, &bDown)
	e.MustDo(t, b.Token, `mutation($id: ID!) { addComment(checkId: $id, body: "bravo note") { id } }`, map[string]any{"id": bHTTP}, nil)
	e.MustDo(t, b.Token, `mutation { createApiToken(name: "bravo-token") }`, nil, nil)
	var bUser struct{ InviteUser struct{ ID string } }
	bUser.InviteUser.ID = e.Invite(t, b.Token, "viewer@bravo.example", "Bravo-viewer-pass-1", "VIEWER")
	var bTokens struct{ APITokens []struct{ ID string } }
	e.MustDo(t, b.Token, `{ apiTokens { id } }`, nil, &bTokens)

	t.Run("every query answers alpha's objects only", func(t *testing.T) {
		r := e.Do(t, a.Token, everything, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		raw := string(r.Data)
		for _, leak := range append([]string{"bravo", b.ID, bAlert, bDown.ScheduleDowntime.ID, bUser.InviteUser.ID, bTokens.APITokens[0].ID}, values(bIDs)...) {
			if strings.Contains(raw, leak) {
				t.Errorf("alpha's answer contains bravo's %q", leak)
			}
		}
		if !strings.Contains(raw, "alpha is down") || !strings.Contains(raw, aIDs["web1/http"]) {
			t.Errorf("alpha's answer lacks alpha's own objects: %.500s", raw)
		}
	})

	t.Run("bravo's ids and names read as nothing", func(t *testing.T) {
		var out struct {
			Check    *struct{ ID string }
			Host     *struct{ ID string }
			ByName   *struct{ ID string }
			Alert    *struct{ ID string }
			Checks   struct{ TotalCount int }
			ByHost   struct{ TotalCount int }
			Filtered struct{ TotalCount int }
		}
		e.MustDo(t, a.Token, `query($c: ID!, $h: ID!, $a: ID!) { check(id: $c) { id } host(id: $h) { id } byName: host(name: "bravo-only") { id }
			alert(id: $a) { id } checks(filter: {ids: [$c, $h]}) { totalCount } byHost: checks(filter: {host: "bravo-only"}) { totalCount }
			filtered: checks(filter: {group: "bravo-group"}) { totalCount } }`,
			map[string]any{"c": bHTTP, "h": bIDs["web1"], "a": bAlert}, &out)
		if out.Check != nil || out.Host != nil || out.ByName != nil || out.Alert != nil || out.Checks.TotalCount != 0 || out.ByHost.TotalCount != 0 || out.Filtered.TotalCount != 0 {
			t.Fatalf("alpha sees bravo's objects: %+v", out)
		}
	})

	t.Run("mutations on bravo's ids are NOT_FOUND and change nothing", func(t *testing.T) {
		start, end := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
		for _, m := range []struct{ name, q string }{
			{"acknowledge", `mutation($c: ID!) { acknowledge(checkId: $c, comment: "x") { id } }`},
			{"unacknowledge", `mutation($c: ID!) { unacknowledge(checkId: $c) }`},
			{"scheduleDowntime", `mutation($c: ID!, $s: Time!, $e: Time!) { scheduleDowntime(checkId: $c, start: $s, end: $e, comment: "x") { id } }`},
			{"cancelDowntime", `mutation($d: ID!) { cancelDowntime(id: $d) }`},
			{"suppress", `mutation($c: ID!) { suppress(checkId: $c) }`},
			{"unsuppress", `mutation($c: ID!) { unsuppress(checkId: $c) }`},
			{"executeNow", `mutation($c: ID!) { executeNow(checkId: $c) }`},
			{"submitResult", `mutation($c: ID!) { submitResult(checkId: $c, status: OK, output: "x") }`},
			{"addComment", `mutation($c: ID!) { addComment(checkId: $c, body: "x") { id } }`},
			{"revokeApiToken", `mutation($t: ID!) { revokeApiToken(id: $t) }`},
			{"setRole", `mutation($u: ID!) { setRole(userId: $u, role: ADMIN) }`},
		} {
			vars := map[string]any{"c": bHTTP, "s": start, "e": end, "d": bDown.ScheduleDowntime.ID, "t": bTokens.APITokens[0].ID, "u": bUser.InviteUser.ID}
			r := e.Do(t, a.Token, m.q, pick(m.q, vars))
			if r.Code() != "NOT_FOUND" {
				t.Errorf("%s on bravo's object by alpha: %+v, want NOT_FOUND", m.name, r.Errors)
			}
			if len(r.Errors) > 0 && strings.Contains(r.Errors[0].Message, "bravo") {
				t.Errorf("%s error tells about bravo: %s", m.name, r.Errors[0].Message)
			}
		}
		// Bravo's objects are as they were.
		var st struct {
			Check struct {
				State struct {
					Status, Output                       string
					Acknowledged, Suppressed, InDowntime bool
				}
				Comments  []struct{ Body string }
				Downtimes []struct{ ID string }
			}
			APITokens []struct{ RevokedAt *time.Time }
			Users     []struct{ Email, Role string }
		}
		time.Sleep(300 * time.Millisecond) // give a wrongly accepted result time to be processed
		e.MustDo(t, b.Token, `query($c: ID!) { check(id: $c) { state { status output acknowledged suppressed inDowntime } comments { body } downtimes(active: false) { id } }
			apiTokens { revokedAt } users { email role } }`, map[string]any{"c": bHTTP}, &st)
		s := st.Check.State
		if s.Status != "CRITICAL" || s.Output != "bravo is down" || s.Acknowledged || s.Suppressed || s.InDowntime || len(st.Check.Comments) != 1 || len(st.Check.Downtimes) != 0 {
			t.Errorf("bravo's check changed: %+v", st.Check)
		}
		if st.APITokens[0].RevokedAt != nil {
			t.Error("alpha revoked bravo's token")
		}
		for _, u := range st.Users {
			if u.Email == "viewer@bravo.example" && u.Role != "VIEWER" {
				t.Errorf("alpha changed bravo's user's role to %s", u.Role)
			}
		}
		var d struct {
			Check struct{ Downtimes []struct{ Cancelled bool } }
		}
		e.MustDo(t, b.Token, `query($c: ID!) { check(id: $c) { downtimes { cancelled } } }`, map[string]any{"c": bIDs["web2"]}, &d)
		if len(d.Check.Downtimes) != 1 || d.Check.Downtimes[0].Cancelled {
			t.Errorf("bravo's downtime: %+v", d.Check.Downtimes)
		}
	})

	t.Run("applyConfig only touches the caller's site", func(t *testing.T) {
		// Alpha's config naming bravo's site and hosts lands in alpha.
		e.Apply(t, a.Token, `<bergamot site="bravo"><host name="bravo-only"><summary>alpha's own</summary><check-command command="dummy-ok"/></host></bergamot>`)
		var out struct{ Host *struct{ Summary string } }
		e.MustDo(t, b.Token, `{ host(name: "bravo-only") { summary } }`, nil, &out)
		if out.Host == nil || out.Host.Summary != "bravo host" {
			t.Fatalf("bravo's host after alpha's apply: %+v", out.Host)
		}
		e.MustDo(t, a.Token, `{ host(name: "bravo-only") { summary } }`, nil, &out)
		if out.Host == nil || out.Host.Summary != "alpha's own" {
			t.Fatalf("alpha's host: %+v", out.Host)
		}
	})

	t.Run("a session of one site cannot log in to another", func(t *testing.T) {
		r := e.Do(t, "", `mutation($e: String!, $p: String!) { login(site: "bravo", email: $e, password: $p) { token } }`,
			map[string]any{"e": a.Email, "p": a.Password})
		if r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("alpha's admin logged in to bravo: %+v", r.Errors)
		}
	})
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// pick keeps the variables the query declares.
func pick(q string, vars map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range vars {
		if strings.Contains(q, "$"+k+":") {
			out[k] = v
		}
	}
	return out
}

func TestRoles(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	e.Apply(t, a.Token, apitest.SiteXML("alpha"))
	ids := e.CheckIDs(t, a.Token)
	e.Submit(t, a.Token, ids["web1/http"], "CRITICAL", "down")
	var v, ed struct{ InviteUser struct{ ID string } }
	v.InviteUser.ID = e.Invite(t, a.Token, "v@alpha.example", "Viewer-pass-123", "VIEWER")
	ed.InviteUser.ID = e.Invite(t, a.Token, "e@alpha.example", "Editor-pass-123", "EDITOR")
	login := func(email, pw string) string {
		var out struct{ Login struct{ Token string } }
		e.MustDo(t, "", `mutation($e: String!, $p: String!) { login(site: "alpha", email: $e, password: $p) { token } }`, map[string]any{"e": email, "p": pw}, &out)
		return out.Login.Token
	}
	viewer, editor := login("v@alpha.example", "Viewer-pass-123"), login("e@alpha.example", "Editor-pass-123")
	start, end := time.Now(), time.Now().Add(time.Hour)
	c := ids["web1/http"]
	changes := []struct{ name, q string }{
		{"applyConfig", `mutation { applyConfig(xml: "<bergamot site=\"alpha\"/>") { ok } }`},
		{"acknowledge", `mutation($c: ID!) { acknowledge(checkId: $c, comment: "x") { id } }`},
		{"unacknowledge", `mutation($c: ID!) { unacknowledge(checkId: $c) }`},
		{"scheduleDowntime", `mutation($c: ID!, $s: Time!, $e: Time!) { scheduleDowntime(checkId: $c, start: $s, end: $e, comment: "x") { id } }`},
		{"cancelDowntime", `mutation($c: ID!) { cancelDowntime(id: $c) }`},
		{"suppress", `mutation($c: ID!) { suppress(checkId: $c) }`},
		{"unsuppress", `mutation($c: ID!) { unsuppress(checkId: $c) }`},
		{"executeNow", `mutation($c: ID!) { executeNow(checkId: $c) }`},
		{"submitResult", `mutation($c: ID!) { submitResult(checkId: $c, status: OK, output: "x") }`},
		{"addComment", `mutation($c: ID!) { addComment(checkId: $c, body: "x") { id } }`},
		{"createApiToken", `mutation { createApiToken(name: "x") }`},
	}
	admins := []struct{ name, q string }{
		{"inviteUser", `mutation { inviteUser(email: "x@alpha.example", password: "Some-pass-12345", role: ADMIN) { id } }`},
		{"setRole", `mutation($u: ID!) { setRole(userId: $u, role: ADMIN) }`},
	}
	vars := map[string]any{"c": c, "s": start, "e": end, "u": v.InviteUser.ID}

	t.Run("viewer cannot change anything", func(t *testing.T) {
		for _, m := range append(changes, admins...) {
			if r := e.Do(t, viewer, m.q, pick(m.q, vars)); r.Code() != "FORBIDDEN" {
				t.Errorf("viewer %s: %+v, want FORBIDDEN", m.name, r.Errors)
			}
		}
		var out struct {
			Check struct{ State struct{ Status string } }
		}
		e.MustDo(t, viewer, `query($c: ID!) { check(id: $c) { state { status } } }`, map[string]any{"c": c}, &out)
		if out.Check.State.Status != "CRITICAL" {
			t.Fatalf("viewer cannot read: %+v", out)
		}
	})
	t.Run("editor cannot manage users", func(t *testing.T) {
		for _, m := range admins {
			if r := e.Do(t, editor, m.q, pick(m.q, vars)); r.Code() != "FORBIDDEN" {
				t.Errorf("editor %s: %+v, want FORBIDDEN", m.name, r.Errors)
			}
		}
		e.MustDo(t, editor, `mutation($c: ID!) { acknowledge(checkId: $c, comment: "editor on it") { id } }`, map[string]any{"c": c}, nil)
	})
	t.Run("no token is UNAUTHENTICATED", func(t *testing.T) {
		for _, q := range []string{`{ site { name } }`, `{ me { email } }`, `{ hosts { name } }`, `{ checks { totalCount } }`, `{ alerts { id } }`,
			`{ users { email } }`, `{ configXml }`, `mutation { logout }`} {
			if r := e.Do(t, "", q, nil); r.Code() != "UNAUTHENTICATED" {
				t.Errorf("%s without a token: %+v", q, r.Errors)
			}
		}
		for _, m := range append(changes, admins...) {
			if r := e.Do(t, "", m.q, pick(m.q, vars)); r.Code() != "UNAUTHENTICATED" {
				t.Errorf("%s without a token: %+v", m.name, r.Errors)
			}
		}
	})
	t.Run("a bad token is refused with 401", func(t *testing.T) {
		for _, tok := range []string{"nonsense", a.Token + "x", "bgt_" + strings.Repeat("A", 60)} {
			r := e.Do(t, tok, `{ me { email } }`, nil)
			if r.Status != http.StatusUnauthorized || r.Code() != "UNAUTHENTICATED" {
				t.Errorf("token %q: %d %+v", tok, r.Status, r.Errors)
			}
		}
	})
}
