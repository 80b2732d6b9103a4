package graph_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func TestBadInput(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	e.Apply(t, a.Token, apitest.SiteXML("alpha"))
	ids := e.CheckIDs(t, a.Token)

	t.Run("malformed query is INVALID", func(t *testing.T) {
		for _, q := range []string{`{ site { name }`, `{ nosuchfield }`, `{ check(id: 5) }`, `query { checks(filter: {kind: PLANET}) { totalCount } }`, ``} {
			r := e.Do(t, a.Token, q, nil)
			if r.Code() != "INVALID" {
				t.Errorf("%q: %+v, want INVALID", q, r.Errors)
			}
		}
		r := e.Do(t, a.Token, `query($id: ID!) { check(id: $id) { id } }`, nil)
		if r.Code() != "INVALID" {
			t.Errorf("missing variable: %+v, want INVALID", r.Errors)
		}
	})

	t.Run("over-deep query is refused", func(t *testing.T) {
		q := "name"
		for i := range graph.MaxDepth + 2 {
			if i%2 == 0 {
				q = "host { name " + q + " }"
			} else {
				q = "services { name " + q + " }"
			}
		}
		r := e.Do(t, a.Token, "{ hosts { "+q+" } }", nil)
		if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "deeper") || r.Code() != "INVALID" {
			t.Fatalf("over-deep query: %+v", r.Errors)
		}
		if len(r.Data) != 0 && string(r.Data) != "null" {
			t.Fatalf("over-deep query ran: %s", r.Data)
		}
		// MaxDepth levels are fine.
		e.MustDo(t, a.Token, `{ hosts { services { host { services { host { name } } } } } }`, nil, nil)
	})

	t.Run("over-complex query is refused", func(t *testing.T) {
		for _, q := range []string{
			`{ checks(first: 1000) { nodes { id history(first: 1000) { nodes { output status } } } } }`,
			`{ checks(first: 1000) { nodes { id metrics(points: 5000) { label points { at value } } } } }`,
			aliased(8, "checks(first: 1000) { nodes { id name summary state { status output hard } } }"),
		} {
			r := e.Do(t, a.Token, q, nil)
			if r.Code() != "INVALID" || !strings.Contains(r.Errors[0].Message, "complexity") {
				t.Errorf("over-complex query %s: %+v", q, r.Errors)
			}
		}
		// The dashboard's overview (500 problems with their rows) passes.
		e.MustDo(t, a.Token, `{ site { id name summary statusCounts { status count } }
			checks(filter: { problems: true }, first: 500) { totalCount nodes { __typename id kind name summary groups location
			... on Service { host { id name } } ... on Trap { host { id name } } ... on Resource { cluster { id name } }
			state { status ok hard attempt output lastCheck lastStateChange flapping acknowledged inDowntime suppressed } } } }`, nil, nil)
	})

	t.Run("oversize payload is refused", func(t *testing.T) {
		big := bytes.Repeat([]byte("a"), graph.MaxBodyBytes+1024)
		body := []byte(`{"query": "{ site { name } }", "variables": {"x": "` + string(big) + `"}}`)
		resp, raw := e.HTTP(t, http.MethodPost, "/graphql", a.Token, "application/json", body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || bytes.Contains(raw, []byte(`"alpha"`)) {
			t.Fatalf("oversize body: %d %.200s", resp.StatusCode, raw)
		}
	})

	t.Run("unknown ids are NOT_FOUND or null", func(t *testing.T) {
		for _, id := range []string{"00000000-0000-0000-0000-000000000001", "not-a-uuid"} {
			var out struct {
				Check *struct{ ID string }
				Host  *struct{ ID string }
				Alert *struct{ ID string }
			}
			e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { id } host(id: $id) { id } alert(id: $id) { id } }`, map[string]any{"id": id}, &out)
			if out.Check != nil || out.Host != nil || out.Alert != nil {
				t.Errorf("id %q found something: %+v", id, out)
			}
			for _, q := range []string{
				`mutation($id: ID!) { acknowledge(checkId: $id, comment: "x") { id } }`,
				`mutation($id: ID!) { submitResult(checkId: $id, status: OK, output: "x") }`,
				`mutation($id: ID!) { executeNow(checkId: $id) }`,
				`mutation($id: ID!) { cancelDowntime(id: $id) }`,
				`mutation($id: ID!) { suppress(checkId: $id) }`,
				`mutation($id: ID!) { addComment(checkId: $id, body: "x") { id } }`,
				`mutation($id: ID!) { revokeApiToken(id: $id) }`,
				`mutation($id: ID!) { setRole(userId: $id, role: VIEWER) }`,
			} {
				if r := e.Do(t, a.Token, q, map[string]any{"id": id}); r.Code() != "NOT_FOUND" {
					t.Errorf("%s with id %q: %+v, want NOT_FOUND", q, id, r.Errors)
				}
			}
		}
	})

	t.Run("invalid config XML changes nothing and names lines", func(t *testing.T) {
		before := e.CheckIDs(t, a.Token)
		var revs struct{ ConfigRevisions []struct{ ID int } }
		e.MustDo(t, a.Token, `{ configRevisions { id } }`, nil, &revs)
		for _, xml := range []string{
			"<bergamot site=\"alpha\">\n  <host name=\"new1\">\n    <check-command command=\"no-such-command\"/>\n  </host>\n</bergamot>",
			"<bergamot site=\"alpha\">\n  <host name=\"new2\">\n  <service name=\"unclosed\">\n</bergamot>",
			"<bergamot site=\"alpha\">\n  <host name=\"new3\" extends=\"no-such-template\"/>\n</bergamot>",
		} {
			var out struct {
				ApplyConfig struct {
					OK     bool `json:"ok"`
					Added  int
					Errors []struct {
						Message string
						Line    *int
						Object  *string
					}
				}
			}
			e.MustDo(t, a.Token, `mutation($x: String!) { applyConfig(xml: $x) { ok added errors { message line object } } }`, map[string]any{"x": xml}, &out)
			r := out.ApplyConfig
			if r.OK || len(r.Errors) == 0 {
				t.Errorf("bad config accepted: %q -> %+v", xml, r)
				continue
			}
			if r.Errors[0].Line == nil || *r.Errors[0].Line < 2 {
				t.Errorf("error without the line: %+v", r.Errors)
			}
		}
		after := e.CheckIDs(t, a.Token)
		var revs2 struct{ ConfigRevisions []struct{ ID int } }
		e.MustDo(t, a.Token, `{ configRevisions { id } }`, nil, &revs2)
		if len(after) != len(before) || len(revs2.ConfigRevisions) != len(revs.ConfigRevisions) {
			t.Fatalf("refused configs changed the site: %d -> %d checks, %d -> %d revisions", len(before), len(after), len(revs.ConfigRevisions), len(revs2.ConfigRevisions))
		}
	})

	t.Run("dry run of a removal changes nothing", func(t *testing.T) {
		// A host without services whose overlay disables it: the dry run reports a change but keeps it.
		var out struct {
			ApplyConfig struct {
				OK       bool `json:"ok"`
				Changed  int
				Revision *int
			}
		}
		e.MustDo(t, a.Token, `mutation($x: String!) { applyConfig(xml: $x, dryRun: true) { ok changed revision } }`,
			map[string]any{"x": `<bergamot site="alpha"><host name="web2" address="203.0.113.9"><check-command command="dummy-ok"/></host></bergamot>`}, &out)
		if !out.ApplyConfig.OK || out.ApplyConfig.Changed == 0 || out.ApplyConfig.Revision != nil {
			t.Fatalf("dry run: %+v", out.ApplyConfig)
		}
		var h struct{ Host struct{ Address string } }
		e.MustDo(t, a.Token, `{ host(name: "web2") { address } }`, nil, &h)
		if h.Host.Address != "192.0.2.2" {
			t.Fatalf("dry run changed web2's address to %s", h.Host.Address)
		}
	})
	_ = ids
}

func TestSignUpAndLogin(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	signUp := func(site, email, pw string) *apitest.Response {
		return e.Do(t, "", `mutation($in: SignUpInput!) { signUp(input: $in) { token } }`,
			map[string]any{"in": map[string]any{"siteName": site, "email": email, "password": pw}})
	}
	for _, c := range []struct{ what, site, email, pw, code string }{
		{"taken name", "alpha", "other@x.example", "Good-password-123", "CONFLICT"},
		{"weak password", "charlie", "c@x.example", "password", "INVALID"},
		{"short password", "charlie", "c@x.example", "Ab1!", "INVALID"},
		{"reserved name", "admin", "c@x.example", "Good-password-123", "INVALID"},
		{"reserved name www", "www", "c@x.example", "Good-password-123", "INVALID"},
		{"not a DNS label", "Bad_Name", "c@x.example", "Good-password-123", "INVALID"},
		{"bad email", "charlie", "not-an-email", "Good-password-123", "INVALID"},
	} {
		if r := signUp(c.site, c.email, c.pw); r.Code() != c.code {
			t.Errorf("signUp with %s: %+v, want %s", c.what, r.Errors, c.code)
		}
	}
	// None of the refused sign-ups created charlie.
	if r := signUp("charlie", "c@x.example", "Good-password-123"); len(r.Errors) > 0 {
		t.Fatalf("charlie after refusals: %+v", r.Errors)
	}
	e.MustDo(t, "", `mutation($t: String!) { verifyEmail(token: $t, password: "Good-password-123") { token } }`,
		map[string]any{"t": e.Links.Last(t, tenants.LinkVerify, "c@x.example").Token}, nil)

	login := func(pw string) *apitest.Response {
		return e.Do(t, "", `mutation($p: String!) { login(site: "alpha", email: "admin@alpha.example", password: $p) { token } }`, map[string]any{"p": pw})
	}
	if r := login("wrong-password-1"); r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("wrong password: %+v", r.Errors)
	}
	if r := login(a.Password); len(r.Errors) > 0 {
		t.Fatalf("right password: %+v", r.Errors)
	}
	// Five failures in a minute lock the account out, even for the right password.
	for range 5 {
		login("wrong-password-1")
	}
	r := login(a.Password)
	if r.Code() == "" || !strings.Contains(r.Errors[0].Message, "too many") {
		t.Fatalf("login after 5 failures: %+v", r.Errors)
	}
	// Other sites' and users' logins are not limited by it.
	if r := e.Do(t, "", `mutation { login(site: "charlie", email: "c@x.example", password: "Good-password-123") { token } }`, nil); len(r.Errors) > 0 {
		t.Fatalf("charlie limited by alpha's failures: %+v", r.Errors)
	}
	// The existing session keeps working.
	e.MustDo(t, a.Token, `{ me { email } }`, nil, nil)
}

// aliased repeats field n times under distinct aliases.
func aliased(n int, field string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " x%d: %s", i, field)
	}
	return b.String() + " }"
}
