package tenants_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const pw = "Correct-horse-9"

// member invites email into site and signs them in, returning their
// session secret, an API token and their principal.
func member(t testing.TB, s *tenants.Store, site *tenants.Site, email string, role tenants.Role) (session, token string, p *tenants.Principal) {
	t.Helper()
	ctx := tenants.WithSite(context.Background(), site.ID)
	m, err := s.Invite(ctx, email, pw, role)
	if err != nil && !errs.Is(err, errs.Conflict) {
		t.Fatal(err)
	}
	session, p, err = s.Login(context.Background(), site.Name, email, pw)
	if err != nil {
		t.Fatal(err)
	}
	if m != nil && p.User.ID != m.ID {
		t.Fatal("signed in as someone else")
	}
	if token, err = s.CreateToken(ctx, p.User.ID, "ci"); err != nil {
		t.Fatal(err)
	}
	return session, token, p
}

func adminOf(t *testing.T, s *tenants.Store, site *tenants.Site, email string) *tenants.Principal {
	t.Helper()
	_, p, err := s.Login(context.Background(), site.Name, email, pw)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func works(t *testing.T, s *tenants.Store, secret string) bool {
	t.Helper()
	_, err := s.Authenticate(context.Background(), secret)
	if err != nil && !errs.Is(err, errs.Unauthenticated) {
		t.Fatal(err)
	}
	return err == nil
}

// A removed member's sessions and tokens stop working at once, and so do
// the WebSocket credential checks; the removal leaves other members alone.
func TestRemovedMemberCredentialsStopAtOnce(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(t, s, "alpha", "a@example.com")
	other := mustSignUp(t, s, "bravo", "b@example.com")
	admin := adminOf(t, s, site, "a@example.com")
	ctx := tenants.WithPrincipal(context.Background(), admin)
	sess, tok, bob := member(t, s, site, "bob@example.com", tenants.RoleEditor)
	carolSess, _, _ := member(t, s, site, "carol@example.com", tenants.RoleViewer)
	bobElsewhere, _, _ := member(t, s, other, "bob@example.com", tenants.RoleViewer)
	if !works(t, s, sess) || !works(t, s, tok) {
		t.Fatal("bob's credentials should work before removal")
	}
	email, err := s.RemoveMember(ctx, admin, bob.User.ID)
	if err != nil || email != "bob@example.com" {
		t.Fatalf("RemoveMember = %q, %v", email, err)
	}
	if works(t, s, sess) || works(t, s, tok) {
		t.Fatal("a removed member's session or token still works")
	}
	if ok, err := s.StillValid(context.Background(), bob); err != nil || ok {
		t.Fatalf("StillValid after removal = %v, %v; want false (open WebSockets must close)", ok, err)
	}
	if _, _, err := s.Login(context.Background(), "alpha", "bob@example.com", pw); err == nil {
		t.Fatal("a removed member can still sign in")
	}
	if !works(t, s, carolSess) || !works(t, s, bobElsewhere) {
		t.Fatal("removal ended other members' sessions, or bob's in another site")
	}
	if _, err := s.RemoveMember(ctx, admin, admin.User.ID); !errs.Is(err, errs.Invalid) {
		t.Fatalf("removing oneself: %v, want Invalid", err)
	}
	if _, err := s.RemoveMember(ctx, admin, uuid.New()); !errs.Is(err, errs.NotFound) {
		t.Fatalf("removing a stranger: %v, want NotFound", err)
	}
}

// A disabled member cannot sign in and their credentials are refused;
// enabling them again restores their tokens (sessions ended for good).
// The last administrator cannot be disabled.
func TestDisabledMember(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(t, s, "alpha", "a@example.com")
	admin := adminOf(t, s, site, "a@example.com")
	ctx := tenants.WithPrincipal(context.Background(), admin)
	sess, tok, bob := member(t, s, site, "bob@example.com", tenants.RoleAdmin)
	if _, err := s.SetMemberDisabled(ctx, admin, bob.User.ID, true); err != nil {
		t.Fatal(err)
	}
	if works(t, s, sess) || works(t, s, tok) {
		t.Fatal("a disabled member's credentials still work")
	}
	if _, _, err := s.Login(context.Background(), "alpha", "bob@example.com", pw); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("a disabled member signing in: %v, want Unauthenticated", err)
	}
	ms, err := s.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Email == "bob@example.com" && !m.Disabled {
			t.Fatal("the member list does not show bob disabled")
		}
	}
	// With bob disabled, a is the only enabled admin: bob (were he enabled) could not disable a.
	bobCtx := tenants.WithPrincipal(context.Background(), bob)
	if _, err := s.SetMemberDisabled(bobCtx, bob, admin.User.ID, true); !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "last administrator") {
		t.Fatalf("disabling the last enabled admin: %v, want Conflict", err)
	}
	if _, err := s.SetMemberDisabled(ctx, admin, bob.User.ID, false); err != nil {
		t.Fatal(err)
	}
	if !works(t, s, tok) {
		t.Fatal("an enabled-again member's token should work again")
	}
	if works(t, s, sess) {
		t.Fatal("a session ended by disabling came back")
	}
}

// Changing the password needs the current one, refuses common ones, ends
// the user's other sessions in every site and keeps the current one.
func TestChangePassword(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	alpha := mustSignUp(t, s, "alpha", "a@example.com")
	mustSignUp(t, s, "bravo", "a@example.com") // same account, second site
	cur, p, err := s.Login(context.Background(), "alpha", "a@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	otherHere, _, _ := s.Login(context.Background(), "alpha", "a@example.com", pw)
	otherThere, _, _ := s.Login(context.Background(), "bravo", "a@example.com", pw)
	ctx := tenants.WithPrincipal(context.Background(), p)
	if err := s.ChangePassword(ctx, p, "Wrong-horse-9", "Fresh-battery-77"); !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "current password is wrong") {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := s.ChangePassword(ctx, p, pw, "Password2024!"); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "most common passwords") {
		t.Fatalf("common new password: %v", err)
	}
	if !works(t, s, otherHere) {
		t.Fatal("a refused change ended sessions")
	}
	if err := s.ChangePassword(ctx, p, pw, "Fresh-battery-77"); err != nil {
		t.Fatal(err)
	}
	if !works(t, s, cur) {
		t.Fatal("the session that changed the password was signed out")
	}
	if works(t, s, otherHere) || works(t, s, otherThere) {
		t.Fatal("other sessions (this site and another) survived a password change")
	}
	if _, _, err := s.Login(context.Background(), alpha.Name, "a@example.com", pw); err == nil {
		t.Fatal("the old password still signs in")
	}
	if _, _, err := s.Login(context.Background(), "bravo", "a@example.com", "Fresh-battery-77"); err != nil {
		t.Fatalf("the new password does not sign in to the other site: %v", err)
	}
}

// A forced change shows on the principal until the password is changed.
func TestRequirePasswordChange(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(t, s, "alpha", "a@example.com")
	admin := adminOf(t, s, site, "a@example.com")
	_, _, bob := member(t, s, site, "bob@example.com", tenants.RoleViewer)
	if bob.MustChangePassword {
		t.Fatal("must change before anyone asked")
	}
	if _, err := s.RequirePasswordChange(tenants.WithPrincipal(context.Background(), admin), bob.User.ID); err != nil {
		t.Fatal(err)
	}
	sess, p, err := s.Login(context.Background(), "alpha", "bob@example.com", pw)
	if err != nil || !p.MustChangePassword {
		t.Fatalf("after RequirePasswordChange: %v, must=%v", err, p != nil && p.MustChangePassword)
	}
	if err := s.ChangePassword(tenants.WithPrincipal(context.Background(), p), p, pw, "Fresh-battery-77"); err != nil {
		t.Fatal(err)
	}
	p2, err := s.Authenticate(context.Background(), sess)
	if err != nil || p2.MustChangePassword {
		t.Fatalf("after the change: %v, must=%v", err, p2 != nil && p2.MustChangePassword)
	}
}

// ownerExec runs SQL as the schema owner (to move clocks back).
func ownerExec(t *testing.T, db *pgtest.DB, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

// Sessions end after their idle lifetime without use and after their
// absolute lifetime whatever the use; tokens at their expiry.
func TestSessionLifetimesAndTokenExpiry(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStoreWithLimits(db.Pool, tenants.Limits{SessionIdle: time.Hour, SessionMax: 48 * time.Hour})
	site := mustSignUp(t, s, "alpha", "a@example.com")
	idle, p, err := s.Login(context.Background(), "alpha", "a@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	old, p2, _ := s.Login(context.Background(), "alpha", "a@example.com", pw)
	ctx := tenants.WithPrincipal(context.Background(), p)
	list, err := s.Sessions(ctx, p.User.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("Sessions = %d, %v; want 2", len(list), err)
	}
	if d := list[0].ExpiresAt.Sub(list[0].CreatedAt); d < 47*time.Hour || d > 49*time.Hour {
		t.Fatalf("absolute lifetime %s, want 48h", d)
	}
	ownerExec(t, db, `UPDATE sessions SET last_seen = now() - interval '61 minutes' WHERE id = $1`, p.CredID)
	if works(t, s, idle) {
		t.Fatal("a session idle past its idle lifetime still works")
	}
	ownerExec(t, db, `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, p2.CredID)
	if works(t, s, old) {
		t.Fatal("a session past its absolute lifetime still works")
	}
	if list, _ := s.Sessions(ctx, uuid.Nil); len(list) != 0 {
		t.Fatalf("ended sessions are still listed: %d", len(list))
	}

	sctx := tenants.WithSite(context.Background(), site.ID)
	past := time.Now().Add(-time.Minute)
	if _, err := s.CreateTokenExpiring(sctx, p.User.ID, "old", &past); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a token expiring in the past: %v, want Invalid", err)
	}
	soon := time.Now().Add(time.Hour)
	tok, err := s.CreateTokenExpiring(sctx, p.User.ID, "soon", &soon)
	if err != nil || !works(t, s, tok) {
		t.Fatalf("expiring token: %v", err)
	}
	ownerExec(t, db, `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 'soon'`)
	if works(t, s, tok) {
		t.Fatal("an expired token still works")
	}
	toks, _ := s.Tokens(sctx, uuid.Nil)
	if len(toks) != 1 || toks[0].ExpiresAt == nil || toks[0].LastUsed == nil {
		t.Fatalf("token list should show expiry and last use: %+v", toks)
	}
}

// Sign-out everywhere ends every session of the user in the site; one
// session can be ended alone, and a member cannot end another's.
func TestRevokeSessions(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(t, s, "alpha", "a@example.com")
	a1, p, _ := s.Login(context.Background(), "alpha", "a@example.com", pw)
	a2, p2, _ := s.Login(context.Background(), "alpha", "a@example.com", pw)
	bobSess, _, bob := member(t, s, site, "bob@example.com", tenants.RoleViewer)
	ctx := tenants.WithPrincipal(context.Background(), p)
	if err := s.RevokeSession(ctx, p2.CredID, bob.User.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("bob ending a's session: %v, want NotFound", err)
	}
	if err := s.RevokeSession(ctx, p2.CredID, p.User.ID); err != nil || works(t, s, a2) || !works(t, s, a1) {
		t.Fatalf("ending one session: %v", err)
	}
	_, _, _ = s.Login(context.Background(), "alpha", "a@example.com", pw)
	n, err := s.SignOutEverywhere(ctx, p.User.ID)
	if err != nil || n != 2 || works(t, s, a1) {
		t.Fatalf("SignOutEverywhere = %d, %v; want 2 and a1 ended", n, err)
	}
	if !works(t, s, bobSess) {
		t.Fatal("signing a out everywhere ended bob's session")
	}
}

// Sign-ins (failed and successful) are in the audit log with the address;
// the application cannot change the log; pruning keeps each site's
// retention.
func TestAuditLog(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(t, s, "alpha", "a@example.com")
	bravo := mustSignUp(t, s, "bravo", "b@example.com")
	actx := tenants.WithClientAddr(context.Background(), "192.0.2.7:5555")
	if _, _, err := s.Login(actx, "alpha", "a@example.com", "Wrong-horse-9"); err == nil {
		t.Fatal("wrong password accepted")
	}
	_, p, err := s.Login(actx, "alpha", "a@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenants.WithPrincipal(context.Background(), p)
	for i := range 5 {
		if err := s.RecordAudit(ctx, tenants.AuditEntry{Action: "applyConfig", Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.AuditLog(ctx, 3, "")
	if err != nil || len(page.Entries) != 3 || !page.HasMore {
		t.Fatalf("first page: %v %+v", err, page)
	}
	if page.Entries[0].Target != "4" || page.Entries[0].Actor != "a@example.com" || page.Entries[0].Via != "session" {
		t.Fatalf("newest entry: %+v", page.Entries[0])
	}
	rest, err := s.AuditLog(ctx, 10, page.EndCursor)
	if err != nil || len(rest.Entries) != 5 || rest.HasMore {
		t.Fatalf("second page: %v, %d entries, more=%v; want 5 (2 applies, 2 sign-ins, the signup)", err, len(rest.Entries), rest.HasMore)
	}
	ok, failed, signup := rest.Entries[2], rest.Entries[3], rest.Entries[4]
	if signup.Action != "signUp" || signup.Target != "alpha" || signup.Actor != "a@example.com" {
		t.Fatalf("signup entry: %+v", signup)
	}
	if ok.Action != "signIn" || ok.Outcome != "ok" || ok.Address != "192.0.2.7" || failed.Action != "signIn" || failed.Outcome != "failed" || failed.Address != "192.0.2.7" {
		t.Fatalf("sign-ins: %+v / %+v", ok, failed)
	}
	if _, err := s.AuditLog(ctx, 10, "nope"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad cursor: %v", err)
	}
	if other, _ := s.AuditLog(tenants.WithSite(context.Background(), bravo.ID), 50, ""); len(other.Entries) != 1 || other.Entries[0].Actor != "b@example.com" {
		t.Fatalf("site bravo should see only its own signup: %+v", other.Entries)
	}
	// The application role cannot alter or remove entries.
	err = tenants.InSite(ctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE audit_log SET actor = 'someone else'`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("UPDATE audit_log as the application: %v, want permission denied", err)
	}
	err = tenants.InSite(ctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM audit_log`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("DELETE FROM audit_log as the application: %v, want permission denied", err)
	}
	// Retention: alpha keeps 30 days, bravo the default.
	if err := s.SetAuditRetention(ctx, 7); !errs.Is(err, errs.Invalid) {
		t.Fatalf("7 days: %v, want Invalid", err)
	}
	if err := s.SetAuditRetention(ctx, 30); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.AuditRetentionDays(ctx); d != 30 {
		t.Fatalf("retention %d", d)
	}
	ownerExec(t, db, `UPDATE audit_log SET at = now() - interval '40 days' WHERE target IN ('0', '1')`)
	if err := s.RecordAudit(tenants.WithSite(context.Background(), bravo.ID), tenants.AuditEntry{Action: "x"}); err != nil {
		t.Fatal(err)
	}
	ownerExec(t, db, `UPDATE audit_log SET at = now() - interval '40 days' WHERE site_id = $1`, bravo.ID)
	n, err := s.PruneAudit(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("PruneAudit = %d, %v; want alpha's 2 old entries (bravo's are 40 days old and it keeps 400 days)", n, err)
	}
	_ = site
}

func TestCommonPasswords(t *testing.T) {
	for _, c := range []struct {
		pw     string
		common bool
	}{
		{"password", true}, {"Password123!", true}, {"monkeymonkey", true}, {"1234567890a", true}, {"qwertyuiop", true},
		{"!!Dragon2024", true}, {"Correct-horse-9", false}, {"Fresh-battery-77", false}, {"vT9#kq2Lm", false},
	} {
		if got := tenants.IsCommonPassword(c.pw); got != c.common {
			t.Errorf("IsCommonPassword(%q) = %v, want %v", c.pw, got, c.common)
		}
	}
	if err := tenants.CheckPassword("Sunshine2024"); err == nil || !strings.Contains(err.Error(), "most common passwords") {
		t.Fatalf("CheckPassword(Sunshine2024) = %v", err)
	}
}

// One membership rule: a pending membership (an invitation not yet
// accepted) lets nobody in, whether the credential is checked at sign-in,
// on a request or by an open WebSocket's periodic StillValid (which
// checked only disabled_at and kept such a connection open).
func TestPendingMembershipLetsNobodyIn(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(t, s, "alpha", "a@example.com")
	sess, tok, bob := member(t, s, site, "bob@example.com", tenants.RoleEditor)
	if ok, err := s.StillValid(context.Background(), bob); err != nil || !ok {
		t.Fatalf("StillValid of an active member = %v, %v", ok, err)
	}
	inSite(t, db, site, `UPDATE memberships SET pending = true WHERE user_id = $1`, bob.User.ID)
	if ok, err := s.StillValid(context.Background(), bob); err != nil || ok {
		t.Errorf("StillValid of a pending member = %v, %v; want false (open WebSockets must close)", ok, err)
	}
	if works(t, s, sess) || works(t, s, tok) {
		t.Error("a pending member's session or token works")
	}
	if _, _, err := s.Login(context.Background(), "alpha", "bob@example.com", pw); err == nil {
		t.Error("a pending member can sign in")
	}
	if _, err := s.CreateToken(tenants.WithSite(context.Background(), site.ID), bob.User.ID, "ci"); !errs.Is(err, errs.NotFound) {
		t.Errorf("CreateToken for a pending member: %v; want NotFound (the same membership rule as sign-in)", err)
	}
}

// A session's use is recorded at most once a minute, by Authenticate and
// by StillValid alike.
func TestSessionUseRecordedOnceAMinute(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(t, s, "alpha", "a@example.com")
	sess, _, bob := member(t, s, site, "bob@example.com", tenants.RoleEditor)
	seen := func() time.Time {
		t.Helper()
		var at time.Time
		if err := tenants.InSite(tenants.WithSite(context.Background(), site.ID), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT last_seen FROM sessions WHERE id = $1`, bob.CredID).Scan(&at)
		}); err != nil {
			t.Fatal(err)
		}
		return at
	}
	for _, check := range []struct {
		name string
		use  func()
	}{
		{"Authenticate", func() { works(t, s, sess) }},
		{"StillValid", func() {
			if ok, err := s.StillValid(context.Background(), bob); err != nil || !ok {
				t.Fatalf("StillValid = %v, %v", ok, err)
			}
		}},
	} {
		inSite(t, db, site, `UPDATE sessions SET last_seen = now() - interval '5 minutes' WHERE id = $1`, bob.CredID)
		old := seen()
		check.use()
		first := seen()
		if !first.After(old.Add(4 * time.Minute)) {
			t.Errorf("%s: last_seen %v after use, was %v: use not recorded", check.name, first, old)
		}
		check.use()
		if again := seen(); !again.Equal(first) {
			t.Errorf("%s: last_seen moved from %v to %v within the minute", check.name, first, again)
		}
	}
}

// inSite runs one statement in site's transaction; it must change a row.
func inSite(t *testing.T, db *pgtest.DB, site *tenants.Site, sql string, args ...any) {
	t.Helper()
	err := tenants.InSite(tenants.WithSite(context.Background(), site.ID), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, args...)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("%s: no row changed", sql)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
