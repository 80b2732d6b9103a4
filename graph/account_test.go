package graph_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

type auditNode struct {
	Action, Target, Outcome, Actor, Via, Address, Detail string
}

func auditLog(t *testing.T, e *apitest.Env, token string) []auditNode {
	t.Helper()
	var out struct {
		AuditLog struct {
			Nodes    []auditNode
			PageInfo struct{ HasNextPage bool }
		}
	}
	e.MustDo(t, token, `{ auditLog(first: 500) { nodes { action target outcome actor via address detail } pageInfo { hasNextPage } } }`, nil, &out)
	return out.AuditLog.Nodes
}

func signIn(t *testing.T, e *apitest.Env, site, email, password string) string {
	t.Helper()
	var out struct{ Login struct{ Token string } }
	e.MustDo(t, "", `mutation($s: String!, $e: String!, $p: String!) { login(site: $s, email: $e, password: $p) { token } }`,
		map[string]any{"s": site, "e": email, "p": password}, &out)
	return out.Login.Token
}

// The member lifecycle through GraphQL: an administrator invites, disables
// and removes a member, whose session, token and WebSocket stop at once;
// a forced password change allows nothing else until it is done; every
// step is in the audit log, which viewers cannot read and which keeps no
// secret.
func TestMemberLifecycleAndAudit(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	site := e.SignUp(t, "acme")
	other := e.SignUp(t, "other")
	var inv struct{ InviteUser struct{ ID string } }
	inv.InviteUser.ID = e.Invite(t, site.Token, "bob@acme.example", "Bob-Password-77", "EDITOR")
	bobID := inv.InviteUser.ID
	bobSession := signIn(t, e, "acme", "bob@acme.example", "Bob-Password-77")
	var tok struct {
		CreateAPIToken string `json:"createApiToken"`
	}
	e.MustDo(t, bobSession, `mutation { createApiToken(name: "ci", expiresAt: "2099-01-01T00:00:00Z") }`, nil, &tok)
	bobToken := tok.CreateAPIToken
	var toks struct {
		APITokens []struct {
			Name      string
			ExpiresAt *time.Time
			LastUsed  *time.Time
		} `json:"apiTokens"`
	}
	e.MustDo(t, bobToken, `{ apiTokens { name expiresAt lastUsed } }`, nil, &toks)
	if len(toks.APITokens) != 1 || toks.APITokens[0].ExpiresAt == nil || toks.APITokens[0].LastUsed == nil {
		t.Fatalf("apiTokens: %+v", toks.APITokens)
	}
	ws := e.MustSubscribe(t, apitest.TransportWS, bobToken, `subscription { checkUpdated { check { id } } }`, nil)
	defer ws.Close()

	// Viewers and editors cannot read the audit log or manage members.
	if r := e.Do(t, bobSession, `{ auditLog { nodes { action } } }`, nil); !slices.Equal(r.Codes(), []string{"FORBIDDEN"}) {
		t.Fatalf("an editor reading the audit log: %v", r.Codes())
	}
	if r := e.Do(t, bobSession, `mutation($u: ID!) { removeMember(userId: $u) }`, map[string]any{"u": bobID}); !slices.Equal(r.Codes(), []string{"FORBIDDEN"}) {
		t.Fatalf("an editor removing a member: %v", r.Codes())
	}

	// Disable: refused at once, then enabled again (the token works again).
	e.MustDo(t, site.Token, `mutation($u: ID!) { disableUser(userId: $u) }`, map[string]any{"u": bobID}, nil)
	if r := e.Do(t, bobToken, `{ me { email } }`, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("a disabled member's token: status %d %v", r.Status, r.Codes())
	}
	var users struct {
		Users []struct {
			Email    string
			Disabled bool
		}
	}
	e.MustDo(t, site.Token, `{ users { email disabled } }`, nil, &users)
	if !slices.ContainsFunc(users.Users, func(u struct {
		Email    string
		Disabled bool
	}) bool {
		return u.Email == "bob@acme.example" && u.Disabled
	}) {
		t.Fatalf("users does not show bob disabled: %+v", users.Users)
	}
	e.MustDo(t, site.Token, `mutation($u: ID!) { disableUser(userId: $u, disabled: false) }`, map[string]any{"u": bobID}, nil)
	e.MustDo(t, bobToken, `{ me { email } }`, nil, nil)

	// Remove: the token, the session and the open WebSocket stop.
	e.MustDo(t, site.Token, `mutation($u: ID!) { removeMember(userId: $u) }`, map[string]any{"u": bobID}, nil)
	for _, secret := range []string{bobToken, bobSession} {
		if r := e.Do(t, secret, `{ me { email } }`, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("a removed member's credential: status %d", r.Status)
		}
	}
	if resp, _ := e.HTTP(t, "GET", "/api/v1/hosts", bobToken, "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("REST with a removed member's token: %d", resp.StatusCode)
	}
	if !wsClosed(ws, 30*time.Second) {
		t.Fatal("the removed member's WebSocket stayed open")
	}

	// A forced password change allows only the change.
	inv.InviteUser.ID = e.Invite(t, site.Token, "carol@acme.example", "Carol-Password-77", "VIEWER")
	e.MustDo(t, site.Token, `mutation($u: ID!) { requirePasswordChange(userId: $u) }`, map[string]any{"u": inv.InviteUser.ID}, nil)
	carol := signIn(t, e, "acme", "carol@acme.example", "Carol-Password-77")
	var me struct {
		Me struct{ MustChangePassword bool }
	}
	e.MustDo(t, carol, `{ me { mustChangePassword } }`, nil, &me)
	if !me.Me.MustChangePassword {
		t.Fatal("me does not say the password must change")
	}
	if r := e.Do(t, carol, `{ hosts { name } }`, nil); !slices.Equal(r.Codes(), []string{"FORBIDDEN"}) || !strings.Contains(r.Errors[0].Message, "change your password") {
		t.Fatalf("using the API before the forced change: %+v", r.Errors)
	}
	if r := e.Do(t, carol, `mutation { changePassword(current: "Carol-Password-77", new: "qwerty123456") }`, nil); !slices.Equal(r.Codes(), []string{"INVALID"}) {
		t.Fatalf("a common new password: %v", r.Codes())
	}
	e.MustDo(t, carol, `mutation { changePassword(current: "Carol-Password-77", new: "Unusual-Lantern-42") }`, nil, nil)
	e.MustDo(t, carol, `{ hosts { name } }`, nil, nil)

	// The audit log has every step, newest first, without secrets.
	entries := auditLog(t, e, site.Token)
	var actions []string
	for _, n := range entries {
		actions = append(actions, n.Action+":"+n.Outcome)
		for _, secret := range []string{"Bob-Password-77", "Carol-Password-77", "Unusual-Lantern-42", bobToken, bobSession} {
			if strings.Contains(n.Detail, secret) {
				t.Fatalf("the audit log keeps a secret: %+v", n)
			}
		}
	}
	for _, want := range []string{"signUp", "signIn:ok", "inviteUser:ok", "createApiToken:ok", "removeMember:denied", "disableUser:ok", "removeMember:ok",
		"requirePasswordChange:ok", "changePassword:failed", "changePassword:ok"} {
		if !slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, want) }) {
			t.Errorf("the audit log lacks %s: %v", want, actions)
		}
	}
	for _, n := range entries {
		if n.Action == "removeMember" && n.Outcome == "ok" && (n.Target != "bob@acme.example" || n.Actor != site.Email || n.Via != "session" || n.Address == "") {
			t.Errorf("removeMember entry: %+v", n)
		}
	}
	if len(auditLog(t, e, other.Token)) > 2 {
		t.Errorf("the other site sees acme's entries: %+v", auditLog(t, e, other.Token))
	}
	// Paging: first 2, then the rest.
	var page struct {
		AuditLog struct {
			Nodes    []struct{ ID string }
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	e.MustDo(t, site.Token, `{ auditLog(first: 2) { nodes { id } pageInfo { hasNextPage endCursor } } }`, nil, &page)
	if len(page.AuditLog.Nodes) != 2 || !page.AuditLog.PageInfo.HasNextPage {
		t.Fatalf("first page: %+v", page)
	}
	first := slices.Clone(page.AuditLog.Nodes)
	e.MustDo(t, site.Token, `query($a: String) { auditLog(first: 2, after: $a) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
		map[string]any{"a": page.AuditLog.PageInfo.EndCursor}, &page)
	if a, b := atoi(page.AuditLog.Nodes[0].ID), atoi(first[1].ID); len(page.AuditLog.Nodes) != 2 || a >= b {
		t.Fatalf("second page %+v does not follow %+v", page.AuditLog.Nodes, first)
	}
}

// Sessions: the list marks the current one; one can be ended; sign out
// everywhere ends them all.
func TestSessionsAndSignOutEverywhere(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	site := e.SignUp(t, "acme")
	second := signIn(t, e, "acme", site.Email, site.Password)
	var out struct {
		Sessions []struct {
			ID        string
			Current   bool
			Address   string
			ExpiresAt time.Time
			IdleUntil time.Time
		}
	}
	e.MustDo(t, site.Token, `{ sessions { id current address expiresAt idleUntil } }`, nil, &out)
	if len(out.Sessions) != 2 {
		t.Fatalf("sessions: %+v", out.Sessions)
	}
	var other string
	for _, s := range out.Sessions {
		if !s.Current {
			other = s.ID
		}
		if s.Address != "127.0.0.1" || s.IdleUntil.After(s.ExpiresAt) {
			t.Errorf("session %+v", s)
		}
	}
	e.MustDo(t, site.Token, `mutation($id: ID!) { revokeSession(id: $id) }`, map[string]any{"id": other}, nil)
	if r := e.Do(t, second, `{ me { email } }`, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("an ended session: %d", r.Status)
	}
	third := signIn(t, e, "acme", site.Email, site.Password)
	var n struct{ SignOutEverywhere int }
	e.MustDo(t, site.Token, `mutation { signOutEverywhere }`, nil, &n)
	if n.SignOutEverywhere != 2 {
		t.Fatalf("signOutEverywhere = %d, want 2", n.SignOutEverywhere)
	}
	for _, s := range []string{site.Token, third} {
		if r := e.Do(t, s, `{ me { email } }`, nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("a session survived signing out everywhere: %d", r.Status)
		}
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// wsClosed reports whether the server closes ws within d.
func wsClosed(ws *apitest.WS, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := ws.Next(time.Until(deadline)); err != nil && !apitest.IsTimeout(err) {
			return true
		}
	}
	return false
}
