package tenants_test

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/internal/mailtest"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/notifiers/email"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// linkRig is a tenants.Store mailing its links through a real Exim.
type linkRig struct {
	t  *testing.T
	db *pgtest.DB
	s  *tenants.Store
	ex *mailtest.Exim
}

func newLinkRig(t *testing.T) *linkRig {
	t.Helper()
	ex := mailtest.Start(t)
	m, err := email.New(email.Config{Host: "127.0.0.1", Port: ex.Port, Username: mailtest.Username, Password: mailtest.Password,
		From: "Bergamot <accounts@bergamot.example>", TLS: ex.TLSConfig(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.New(t)
	s := tenants.NewStoreWithLimits(db.Pool, tenants.Limits{SignupsPerAddress: 1000, SignupsPerEmail: 1000})
	s.SetLinkSender(tenants.EmailLinks{Mailer: m, BaseURL: "https://bergamot.example"})
	return &linkRig{t: t, db: db, s: s, ex: ex}
}

var linkRE = regexp.MustCompile(`https://bergamot\.example/#/([a-z-]+)\?token=(bgl_[A-Za-z0-9_-]+)`)

// mail waits for the n-th message to addr whose subject contains subject
// and returns its page and token.
func (r *linkRig) mail(n int, addr, subject string) (page, token, text string) {
	r.t.Helper()
	got := r.ex.WaitMessages(r.t, n, 20*time.Second, func(m *mailtest.Message) bool {
		return strings.Contains(m.Header.Get("To"), addr) && strings.Contains(m.Header.Get("Subject"), subject)
	})
	text = got[n-1].Text
	// quoted-printable soft breaks are decoded by mailtest for multipart
	// only: undo them here.
	flat := strings.ReplaceAll(strings.ReplaceAll(text, "=\r\n", ""), "=\n", "")
	flat = strings.ReplaceAll(flat, "=3D", "=")
	mm := linkRE.FindStringSubmatch(flat)
	if mm == nil {
		r.t.Fatalf("no link in mail to %s:\n%s", addr, text)
	}
	return mm[1], mm[2], flat
}

func (r *linkRig) count(addr string) int {
	n := 0
	for _, m := range r.ex.Messages(r.t) {
		if strings.Contains(m.Header.Get("To"), addr) {
			n++
		}
	}
	return n
}

func api() context.Context { return tenants.WithClientAddr(context.Background(), "192.0.2.7:4711") }

func wantKind(t *testing.T, err error, kind errs.Kind, msg string) {
	t.Helper()
	if !errs.Is(err, kind) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("got %v, want %v containing %q", err, kind, msg)
	}
}

// The pre-claim attack of issue 19 item 5: site alpha invites a person,
// site bravo invites the same person as admin; nobody but the person ever
// sets the account's password, so alpha cannot sign in to bravo. Every
// link goes through the real Exim.
func TestInvitationByEmailedLink(t *testing.T) {
	r := newLinkRig(t)
	ctx := context.Background()
	alpha, _, err := r.s.SignUp(ctx, tenants.SignUpInput{SiteName: "alpha", Email: "a@bergamot.test", Password: "Alpha-admin-pass-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bravo, _, err := r.s.SignUp(ctx, tenants.SignUpInput{SiteName: "bravo", Email: "b@bergamot.test", Password: "Bravo-admin-pass-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	inA, inB := tenants.WithSite(ctx, alpha.ID), tenants.WithSite(ctx, bravo.ID)

	// The answer for an address with an account (b@, bravo's admin) and one
	// without (newhire@) has the same shape: nothing tells alpha which.
	mNew, err := r.s.InviteByLink(inA, "newhire@bergamot.test", tenants.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	mOld, err := r.s.InviteByLink(inA, "b@bergamot.test", tenants.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	if mNew.DisplayName != "newhire" || mOld.DisplayName != "b" || mNew.Role != mOld.Role {
		t.Fatalf("answers differ beyond the address: %+v %+v", mNew, mOld)
	}
	// Invited but not accepted: no password works, not even one alpha might guess.
	if _, _, err := r.s.Login(ctx, "alpha", "newhire@bergamot.test", ""); err == nil {
		t.Fatal("an invited account signed in before accepting")
	}
	if _, err := r.s.InviteByLink(inB, "newhire@bergamot.test", tenants.RoleAdmin); err != nil {
		t.Fatal(err)
	}

	page, tokA, text := r.mail(1, "newhire@bergamot.test", "alpha")
	if page != "accept-invite" || !strings.Contains(text, `"alpha" as viewer`) {
		t.Fatalf("invitation mail: page %s\n%s", page, text)
	}
	_, tokB, _ := r.mail(1, "newhire@bergamot.test", "bravo")

	// The invitee chooses their password with alpha's link...
	if _, _, err := r.s.AcceptInvitation(ctx, tokA, "short"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("weak password accepted: %v", err)
	}
	tok, p, err := r.s.AcceptInvitation(ctx, tokA, "Newhire-own-pass-1")
	if err != nil || tok == "" || p.Site.Name != "alpha" || p.Role != tenants.RoleViewer {
		t.Fatalf("accept alpha: %v %+v", err, p)
	}
	// ... which works once.
	_, _, err = r.s.AcceptInvitation(ctx, tokA, "Newhire-own-pass-1")
	wantKind(t, err, errs.Invalid, "already used")
	// bravo's link needs the password the person chose, not a new one.
	_, _, err = r.s.AcceptInvitation(ctx, tokB, "Alpha-chose-this-1")
	wantKind(t, err, errs.Unauthenticated, "not the password of this account")
	if _, _, err := r.s.AcceptInvitation(ctx, tokB, "Newhire-own-pass-1"); err != nil {
		t.Fatalf("accept bravo: %v", err)
	}
	if _, p, err := r.s.Login(ctx, "bravo", "newhire@bergamot.test", "Newhire-own-pass-1"); err != nil || p.Role != tenants.RoleAdmin {
		t.Fatalf("newhire signs in to bravo: %v", err)
	}
	// b@ (an existing account) proves its own password to join alpha; its
	// password is unchanged by the invitation.
	_, tokOld, _ := r.mail(1, "b@bergamot.test", "alpha")
	if _, _, err := r.s.AcceptInvitation(ctx, tokOld, "Bravo-admin-pass-1"); err != nil {
		t.Fatalf("existing account accepts: %v", err)
	}
	// A link with a wrong or made-up token is refused clearly.
	_, _, err = r.s.AcceptInvitation(ctx, "bgl_nope", "Newhire-own-pass-1")
	wantKind(t, err, errs.NotFound, "not valid")
}

// A sign-up through the API opens its site only when the address's owner
// follows the mailed link; a sign-up naming an existing account neither
// changes nor tests that account's password (no oracle), and answers the
// same as one for a new address.
func TestSignUpVerifiesEmail(t *testing.T) {
	r := newLinkRig(t)
	ctx := context.Background()
	if _, _, err := r.s.SignUp(ctx, tenants.SignUpInput{SiteName: "alpha", Email: "owner@bergamot.test", Password: "Owner-real-pass-1"}, nil); err != nil {
		t.Fatal(err)
	}
	site, m, err := r.s.SignUp(api(), tenants.SignUpInput{SiteName: "fresh", Email: "new@bergamot.test", Password: "Fresh-pass-123"}, nil)
	if err != nil || !site.Pending || m.Email != "new@bergamot.test" {
		t.Fatalf("sign-up: %v %+v", err, site)
	}
	// Not usable before the link: not even with the right password.
	if _, _, err := r.s.Login(ctx, "fresh", "new@bergamot.test", "Fresh-pass-123"); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("pending site signed in: %v", err)
	}
	// Someone else signs up with the owner's address and their own password:
	// same answer as for a new address, and a wrong password is not tested.
	site2, m2, err := r.s.SignUp(api(), tenants.SignUpInput{SiteName: "squat", Email: "owner@bergamot.test", Password: "Attacker-pass-1"}, nil)
	if err != nil || !site2.Pending || m2.DisplayName != "owner" {
		t.Fatalf("sign-up with an existing address answered differently: %v %+v %+v", err, site2, m2)
	}
	if _, _, err := r.s.Login(ctx, "alpha", "owner@bergamot.test", "Owner-real-pass-1"); err != nil {
		t.Fatalf("existing account's password changed: %v", err)
	}
	if _, _, err := r.s.Login(ctx, "alpha", "owner@bergamot.test", "Attacker-pass-1"); err == nil {
		t.Fatal("the squatter's password works on the existing account")
	}

	page, tok, text := r.mail(1, "new@bergamot.test", "fresh")
	if page != "verify" || !strings.Contains(text, "works once") {
		t.Fatalf("confirmation mail: %s\n%s", page, text)
	}
	// The link needs the sign-up's password: a victim tricked into opening
	// someone else's link cannot end up with that someone's password.
	_, _, err = r.s.VerifyEmail(ctx, tok, "Other-pass-1234")
	wantKind(t, err, errs.Unauthenticated, "not the password")
	sess, p, err := r.s.VerifyEmail(ctx, tok, "Fresh-pass-123")
	if err != nil || sess == "" || p.Site.Name != "fresh" || p.Role != tenants.RoleAdmin {
		t.Fatalf("verify: %v %+v", err, p)
	}
	if _, _, err := r.s.Login(ctx, "fresh", "new@bergamot.test", "Fresh-pass-123"); err != nil {
		t.Fatalf("verified site: %v", err)
	}
	_, _, err = r.s.VerifyEmail(ctx, tok, "Fresh-pass-123")
	wantKind(t, err, errs.Invalid, "already used")

	// The squatter's site waits for the owner, who never confirms it.
	_, squatTok, _ := r.mail(1, "owner@bergamot.test", "squat")
	if _, _, err := r.s.VerifyEmail(ctx, squatTok, "Attacker-pass-1"); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("squatter confirmed with their own password: %v", err)
	}
	if _, _, err := r.s.Login(ctx, "squat", "owner@bergamot.test", "Attacker-pass-1"); err == nil {
		t.Fatal("squatter signed in")
	}

	// The name stays taken while its link can still be confirmed...
	_, _, err = r.s.SignUp(api(), tenants.SignUpInput{SiteName: "squat", Email: "real@bergamot.test", Password: "Real-owner-pass-1"}, nil)
	wantKind(t, err, errs.Conflict, "already taken")
	// ...and is free again once it cannot: the unconfirmed site and its rows
	// are gone, and the new owner gets their own link.
	if _, err := r.db.Pool.Exec(ctx, `UPDATE sites SET pending_since = now() - interval '25 hours' WHERE name = 'squat'`); err != nil {
		t.Fatal(err)
	}
	site3, _, err := r.s.SignUp(api(), tenants.SignUpInput{SiteName: "squat", Email: "real@bergamot.test", Password: "Real-owner-pass-1"}, nil)
	if err != nil || site3.ID == site2.ID {
		t.Fatalf("name of an expired sign-up not released: %v", err)
	}
	_, realTok, _ := r.mail(1, "real@bergamot.test", "squat")
	if _, _, err := r.s.VerifyEmail(ctx, realTok, "Real-owner-pass-1"); err != nil {
		t.Fatalf("new owner of the released name: %v", err)
	}
	_, _, err = r.s.VerifyEmail(ctx, squatTok, "Owner-real-pass-1")
	if err == nil {
		t.Fatal("the old sign-up's link opened a released site")
	}
	// The hourly sweep releases the others without waiting for a sign-up.
	if _, _, err := r.s.SignUp(api(), tenants.SignUpInput{SiteName: "never", Email: "late@bergamot.test", Password: "Late-pass-1234"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.Pool.Exec(ctx, `UPDATE sites SET pending_since = now() - interval '25 hours' WHERE name = 'never'`); err != nil {
		t.Fatal(err)
	}
	released, err := r.s.ReleaseUnconfirmedSignups(ctx, "")
	if err != nil || len(released) != 1 || released[0] != "never" {
		t.Fatalf("sweep released %v: %v", released, err)
	}
	if _, err := r.s.SiteByName(ctx, "never"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("released site still there: %v", err)
	}
}

// Password reset: one link per request, single use, expiring; an unknown
// address answers the same and gets no mail.
func TestPasswordResetByLink(t *testing.T) {
	r := newLinkRig(t)
	ctx := context.Background()
	if _, _, err := r.s.SignUp(ctx, tenants.SignUpInput{SiteName: "alpha", Email: "me@bergamot.test", Password: "Old-password-1"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.s.RequestPasswordReset(api(), "nobody@bergamot.test"); err != nil {
		t.Fatalf("unknown address answered differently: %v", err)
	}
	if err := r.s.RequestPasswordReset(api(), "Me@bergamot.test "); err != nil {
		t.Fatal(err)
	}
	page, tok, _ := r.mail(1, "me@bergamot.test", "Reset")
	if page != "reset-password" {
		t.Fatalf("page %s", page)
	}
	if err := r.s.RequestPasswordReset(api(), "me@bergamot.test"); err != nil {
		t.Fatal(err)
	}
	_, tok2, _ := r.mail(2, "me@bergamot.test", "Reset")
	// Whoever holds a session with the old password (a stolen laptop, the
	// reason for the reset) is signed out by it.
	before, _, err := r.s.Login(ctx, "alpha", "me@bergamot.test", "Old-password-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.Authenticate(ctx, before); err != nil {
		t.Fatal(err)
	}
	wantKind(t, r.s.ResetPassword(ctx, tok, "weak"), errs.Invalid, "password refused")
	if err := r.s.ResetPassword(ctx, tok, "New-password-22"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.Authenticate(ctx, before); err == nil {
		t.Fatal("a session opened before the password reset is still signed in")
	}
	if _, _, err := r.s.Login(ctx, "alpha", "me@bergamot.test", "Old-password-1"); err == nil {
		t.Fatal("old password still works")
	}
	if _, _, err := r.s.Login(ctx, "alpha", "me@bergamot.test", "New-password-22"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	wantKind(t, r.s.ResetPassword(ctx, tok, "Another-pass-33"), errs.Invalid, "already used")
	// The other outstanding link died with the reset.
	wantKind(t, r.s.ResetPassword(ctx, tok2, "Another-pass-33"), errs.Invalid, "already used")
	// An expired link says so.
	if err := r.s.RequestPasswordReset(api(), "me@bergamot.test"); err != nil {
		t.Fatal(err)
	}
	_, tok3, _ := r.mail(3, "me@bergamot.test", "Reset")
	if _, err := r.db.Pool.Exec(ctx, `UPDATE user_links SET expires_at = now() - interval '1 second' WHERE purpose = 'reset' AND used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	wantKind(t, r.s.ResetPassword(ctx, tok3, "Another-pass-33"), errs.Invalid, "expired")
	time.Sleep(500 * time.Millisecond)
	if n := r.count("nobody@bergamot.test"); n != 0 {
		t.Fatalf("%d mails to an address without an account", n)
	}
	// Requests are throttled per email.
	s := tenants.NewStoreWithLimits(r.db.Pool, tenants.Limits{SignupsPerEmail: 2})
	s.SetLinkSender(tenants.LogLinks{Logger: slogDiscard()})
	for range 2 {
		if err := s.RequestPasswordReset(api(), "x@bergamot.test"); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, s.RequestPasswordReset(api(), "x@bergamot.test"), errs.Forbidden, "2 an hour at most")
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
