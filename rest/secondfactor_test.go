package rest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestMemberWhoMustEnrolASecondFactor: in a site that requires a second
// factor, a member signed in with a password and no factor gets 403 from
// every REST endpoint (bearer session and session cookie alike) with the
// words GraphQL uses, changes nothing, and is audited as denied; their API
// token is not affected; once they enrol, their session works.
func TestMemberWhoMustEnrolASecondFactor(t *testing.T) {
	f := setup(t)
	e := f.e
	const pw = "Member-pass-1234"
	e.Invite(t, f.a.Token, "m@alpha.example", pw, "EDITOR")
	signIn := func() string {
		var out struct{ Login struct{ Token string } }
		e.MustDo(t, "", `mutation { login(site: "alpha", email: "m@alpha.example", password: "`+pw+`") { token } }`, nil, &out)
		if out.Login.Token == "" {
			t.Fatal("login opened no session")
		}
		return out.Login.Token
	}
	var tok struct{ CreateApiToken string }
	e.MustDo(t, signIn(), `mutation { createApiToken(name: "ci") }`, nil, &tok)
	// The administrator, who has no factor either, reads on with a token.
	var admin struct{ CreateApiToken string }
	e.MustDo(t, f.a.Token, `mutation { createApiToken(name: "admin") }`, nil, &admin)
	e.MustDo(t, f.a.Token, `mutation { setRequireSecondFactor(required: true) }`, nil, nil)
	session := signIn()
	id := f.aIDs["web1/disk"]

	var gql string
	if r := e.Do(t, session, `{ hosts { name } }`, nil); r.Code() != "FORBIDDEN" || len(r.Errors) != 1 {
		t.Fatalf("GraphQL hosts while enrolment is owed: %+v", r.Errors)
	} else {
		gql = r.Errors[0].Message
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/hosts", nil},
		{"GET", "/api/v1/checks/" + id, nil},
		{"GET", "/api/v1/alerts", nil},
		{"POST", "/api/v1/checks/" + id + "/result", map[string]string{"status": "CRITICAL", "output": "sent while enrolment is owed"}},
		{"POST", "/api/v1/checks/" + id + "/acknowledge", map[string]string{"comment": "x"}},
	} {
		var bad apiErr
		if code := f.call(t, c.method, c.path, session, c.body, &bad); code != http.StatusForbidden || bad.Error.Code != "FORBIDDEN" {
			t.Errorf("%s %s with the session: %d %+v", c.method, c.path, code, bad)
		}
		if bad.Error.Message != gql || !strings.Contains(bad.Error.Message, "beginTotpEnrolment") {
			t.Errorf("%s %s says %q, GraphQL %q", c.method, c.path, bad.Error.Message, gql)
		}
	}
	req, _ := http.NewRequest("GET", e.URL+"/api/v1/hosts", nil)
	req.AddCookie(&http.Cookie{Name: "bergamot_session", Value: session})
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /api/v1/hosts with the session cookie: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	var state struct {
		Check struct{ State struct{ Output string } }
	}
	e.MustDo(t, admin.CreateApiToken, `query($id: ID!) { check(id: $id) { state { output } } }`, map[string]any{"id": id}, &state)
	if strings.Contains(state.Check.State.Output, "enrolment is owed") {
		t.Errorf("a refused result was applied: %q", state.Check.State.Output)
	}
	var audit struct {
		AuditLog struct {
			Nodes []struct{ Actor, Action, Outcome string }
		}
	}
	e.MustDo(t, admin.CreateApiToken, `{ auditLog(first: 100) { nodes { actor action outcome } } }`, nil, &audit)
	found := false
	for _, n := range audit.AuditLog.Nodes {
		if n.Action == "rest:POST /api/v1/checks/"+id+"/result" && n.Actor == "m@alpha.example" && n.Outcome == "denied" {
			found = true
		}
	}
	if !found {
		t.Errorf("the refused REST result is not in the audit log as denied: %+v", audit.AuditLog.Nodes)
	}

	// The member's API token is a credential of its own.
	var ok struct{ Accepted bool }
	if code := f.call(t, "POST", "/api/v1/checks/"+id+"/result", tok.CreateApiToken, map[string]string{"status": "WARNING", "output": "sent with the token"}, &ok); code != http.StatusAccepted {
		t.Errorf("POST result with the member's API token: %d", code)
	}

	// Enrolling lifts it for the same session.
	var en struct{ BeginTotpEnrolment struct{ ID, Secret string } }
	e.MustDo(t, session, `mutation { beginTotpEnrolment(name: "phone") { id secret } }`, nil, &en)
	code, err := tenants.TOTPCode(en.BeginTotpEnrolment.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.MustDo(t, session, `mutation($id: ID!, $c: String!) { confirmTotpEnrolment(id: $id, code: $c) { recoveryCodes } }`, map[string]any{"id": en.BeginTotpEnrolment.ID, "c": code}, nil)
	if code := f.call(t, "GET", "/api/v1/hosts", session, nil, nil); code != http.StatusOK {
		t.Errorf("GET /api/v1/hosts after enrolling: %d", code)
	}
}
