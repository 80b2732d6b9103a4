package graph_test

import (
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Issue 19 item 5, through the API with two sites: a password chosen by
// an inviter never becomes the invitee's, so site alpha cannot pre-claim an
// account that site bravo later makes admin; a sign-up cannot be used before
// its emailed link is followed; answers do not say whether an account exists.
func TestNoPreClaimedAccounts(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a, b := e.SignUp(t, "alpha"), e.SignUp(t, "bravo")
	login := func(site, email, pw string) *apitest.Response {
		return e.Do(t, "", `mutation($s: String!, $e: String!, $p: String!) { login(site: $s, email: $e, password: $p) { token } }`,
			map[string]any{"s": site, "e": email, "p": pw})
	}
	// alpha invites with a password of its choosing (the old API's argument).
	invite := func(token, email, role string) map[string]any {
		var out struct{ InviteUser map[string]any }
		e.MustDo(t, token, `mutation($e: String!, $r: Role!) { inviteUser(email: $e, password: "Alpha-chose-this-1", role: $r) { email displayName role } }`,
			map[string]any{"e": email, "r": role}, &out)
		return out.InviteUser
	}
	fresh := invite(a.Token, "newhire@b.example", "VIEWER")
	existing := invite(a.Token, b.Email, "VIEWER") // bravo's admin has an account
	if fresh["displayName"] != "newhire" || existing["displayName"] != "admin" || fresh["role"] != existing["role"] {
		t.Fatalf("inviteUser answers differ: %v %v", fresh, existing)
	}
	invite(b.Token, "newhire@b.example", "ADMIN")
	for _, site := range []string{"alpha", "bravo"} {
		if r := login(site, "newhire@b.example", "Alpha-chose-this-1"); r.Code() != "UNAUTHENTICATED" {
			t.Fatalf("alpha's chosen password signs in to %s: %+v", site, r.Errors)
		}
	}
	// The invitee chooses their own with bravo's link.
	e.MustDo(t, "", `mutation($t: String!) { acceptInvitation(token: $t, password: "Newhire-own-pass-1") { token site { name } } }`,
		map[string]any{"t": e.Links.Last(t, tenants.LinkInvite, "newhire@b.example").Token}, nil)
	if r := login("bravo", "newhire@b.example", "Alpha-chose-this-1"); r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("alpha's password after acceptance: %+v", r.Errors)
	}
	if r := login("bravo", "newhire@b.example", "Newhire-own-pass-1"); len(r.Errors) > 0 {
		t.Fatalf("invitee's own password: %+v", r.Errors)
	}

	// signUp: no session until the link; the same answer for an address
	// with an account (bravo's admin, with a wrong password) and without.
	signUp := func(site, email, pw string) map[string]any {
		var out struct{ SignUp map[string]any }
		e.MustDo(t, "", `mutation($in: SignUpInput!) { signUp(input: $in) { token confirmationSentTo } }`,
			map[string]any{"in": map[string]any{"siteName": site, "email": email, "password": pw}}, &out)
		return out.SignUp
	}
	n := signUp("charlie", "c@c.example", "Charlie-pass-123")
	o := signUp("delta", b.Email, "Wrong-for-bravo-1")
	if n["token"] != "" || o["token"] != "" || n["confirmationSentTo"] != "c@c.example" || o["confirmationSentTo"] != b.Email {
		t.Fatalf("signUp answers: %v %v", n, o)
	}
	if r := login("charlie", "c@c.example", "Charlie-pass-123"); r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("unconfirmed sign-up signs in: %+v", r.Errors)
	}
	if r := login("delta", b.Email, b.Password); r.Code() != "UNAUTHENTICATED" {
		t.Fatalf("unconfirmed site signs in: %+v", r.Errors)
	}
}
