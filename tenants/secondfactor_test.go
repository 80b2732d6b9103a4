package tenants_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// RFC 6238 appendix B (HMAC-SHA1, secret "12345678901234567890"): the
// 6-digit code is the last six digits of the 8-digit vector.
func TestTOTPRFC6238Vectors(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // base32("12345678901234567890")
	for _, v := range []struct {
		at   int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		got, err := tenants.TOTPCode(secret, time.Unix(v.at, 0))
		if err != nil || got != v.want {
			t.Errorf("T=%d: %q, %v; want %s", v.at, got, err, v.want)
		}
	}
}

func sfStore(t *testing.T, db *pgtest.DB, l tenants.Limits) *tenants.Store {
	t.Helper()
	s := tenants.NewStoreWithLimits(db.Pool, l)
	sealer, err := store.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	s.SetSealer(sealer)
	return s
}

// signedIn signs in with the password alone (the member has no factor).
func signedIn(t *testing.T, s *tenants.Store, site, email string) (context.Context, *tenants.Principal) {
	t.Helper()
	_, p, err := s.Login(context.Background(), site, email, pw)
	if err != nil {
		t.Fatal(err)
	}
	return tenants.WithPrincipal(context.Background(), p), p
}

// enrolTOTP enrols and confirms an authenticator app; it returns its
// secret and the recovery codes.
func enrolTOTP(ctx context.Context, t *testing.T, s *tenants.Store, p *tenants.Principal) (string, []string) {
	t.Helper()
	e, err := s.BeginTOTP(ctx, p, "phone")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.QRCode) < 100 || string(e.QRCode[1:4]) != "PNG" || e.URI == "" {
		t.Fatalf("enrolment without a QR code PNG or URI: %q", e.URI)
	}
	if _, err := s.ConfirmTOTP(ctx, p, e.ID, "000000x"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a wrong first code: %v, want Invalid", err)
	}
	code, _ := tenants.TOTPCode(e.Secret, time.Now())
	codes, err := s.ConfirmTOTP(ctx, p, e.ID, code)
	if err != nil {
		t.Fatal(err)
	}
	return e.Secret, codes
}

// passwordStep signs in and expects the second-factor challenge.
func passwordStep(t *testing.T, s *tenants.Store, site, email string) *tenants.SecondFactorNeeded {
	t.Helper()
	tok, _, err := s.Login(context.Background(), site, email, pw)
	var need *tenants.SecondFactorNeeded
	if !errors.As(err, &need) || tok != "" {
		t.Fatalf("sign-in of a member with a second factor: token %q, %v; want a challenge and no session", tok, err)
	}
	return need
}

// A member with an authenticator app gets no session from the password
// alone; the challenge authenticates nothing; the code opens the session;
// the same code is refused on the next sign-in (replay); every outcome is
// in the audit log.
func TestTOTPSignIn(t *testing.T) {
	db := pgtest.New(t)
	s := sfStore(t, db, tenants.Limits{})
	mustSignUp(t, s, "alpha", "a@example.com")
	ctx, p := signedIn(t, s, "alpha", "a@example.com")
	secret, codes := enrolTOTP(ctx, t, s, p)
	if len(codes) != tenants.RecoveryCodeCount {
		t.Fatalf("first factor came with %d recovery codes, want %d", len(codes), tenants.RecoveryCodeCount)
	}
	need := passwordStep(t, s, "alpha", "a@example.com")
	if len(need.Methods) != 2 || need.Methods[0] != "recovery" || need.Methods[1] != "totp" {
		t.Fatalf("methods %v", need.Methods)
	}
	if _, err := s.Authenticate(context.Background(), need.Challenge); err == nil {
		t.Fatal("the half-signed-in challenge authenticated as a credential")
	}
	if _, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "totp", Code: "123456"}); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("wrong code: %v", err)
	}
	code, _ := tenants.TOTPCode(secret, time.Now().Add(30*time.Second)) // the current step went to the confirmation
	sess, p2, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "totp", Code: code})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Authenticate(context.Background(), sess); err != nil || got.User.ID != p2.User.ID {
		t.Fatalf("the session from the second step: %v", err)
	}
	if _, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "totp", Code: code}); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("a completed challenge used again: %v", err)
	}
	need = passwordStep(t, s, "alpha", "a@example.com")
	if _, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "totp", Code: code}); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("the same code on the next sign-in (replay): %v, want refused", err)
	}
	st, err := s.SecondFactors(ctx, p.User.ID)
	if err != nil || len(st.Factors) != 1 || st.Factors[0].LastUsed == nil || st.Factors[0].Name != "phone" {
		t.Fatalf("status: %v %+v", err, st)
	}
	page, err := s.AuditLog(ctx, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed int
	for _, e := range page.Entries {
		if e.Action == "signInSecondFactor" {
			switch e.Outcome {
			case tenants.AuditOK:
				ok++
			case tenants.AuditFailed:
				failed++
			}
		}
	}
	if ok != 1 || failed != 2 {
		t.Fatalf("audit: %d successful and %d failed second steps, want 1 and 2", ok, failed)
	}
}

// A recovery code signs in once; the second use is refused, and each use
// is audited.
func TestRecoveryCodeSingleUse(t *testing.T) {
	db := pgtest.New(t)
	s := sfStore(t, db, tenants.Limits{})
	mustSignUp(t, s, "alpha", "a@example.com")
	ctx, p := signedIn(t, s, "alpha", "a@example.com")
	_, codes := enrolTOTP(ctx, t, s, p)
	need := passwordStep(t, s, "alpha", "a@example.com")
	if _, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "recovery", Code: " " + codes[3] + " "}); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	need = passwordStep(t, s, "alpha", "a@example.com")
	if _, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "recovery", Code: codes[3]}); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("a used recovery code: %v, want refused", err)
	}
	st, _ := s.SecondFactors(ctx, p.User.ID)
	if st.RecoveryCodesLeft != tenants.RecoveryCodeCount-1 {
		t.Fatalf("%d recovery codes left, want %d", st.RecoveryCodesLeft, tenants.RecoveryCodeCount-1)
	}
	fresh, err := s.RegenerateRecoveryCodes(ctx, p)
	if err != nil || len(fresh) != tenants.RecoveryCodeCount {
		t.Fatal(err)
	}
	if _, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "recovery", Code: codes[4]}); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("an old code after regenerating: %v, want refused", err)
	}
	page, _ := s.AuditLog(ctx, 50, "")
	used := 0
	for _, e := range page.Entries {
		if e.Action == "recoveryCodeUsed" {
			used++
		}
	}
	if used != 1 {
		t.Fatalf("%d recoveryCodeUsed entries, want 1", used)
	}
}

// Wrong second factors count against the account's sign-in budget like
// wrong passwords: past it even the right code is refused, and one
// challenge takes at most five wrong codes.
func TestSecondFactorThrottle(t *testing.T) {
	db := pgtest.New(t)
	s := sfStore(t, db, tenants.Limits{LoginFailures: 3, AddressFailures: 1000})
	mustSignUp(t, s, "alpha", "a@example.com")
	ctx, p := signedIn(t, s, "alpha", "a@example.com")
	secret, _ := enrolTOTP(ctx, t, s, p)
	need := passwordStep(t, s, "alpha", "a@example.com")
	for range 3 {
		if _, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "totp", Code: "000000"}); !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	code, _ := tenants.TOTPCode(secret, time.Now().Add(30*time.Second)) // the current step went to the confirmation
	_, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "totp", Code: code})
	if !errs.Is(err, errs.Forbidden) {
		t.Fatalf("right code past the budget: %v, want Forbidden (too many attempts)", err)
	}
}

// One challenge ends after five wrong codes even when the account's budget
// is larger.
func TestSecondFactorChallengeEnds(t *testing.T) {
	db := pgtest.New(t)
	s := sfStore(t, db, tenants.Limits{LoginFailures: 100, AddressFailures: 1000})
	mustSignUp(t, s, "alpha", "a@example.com")
	ctx, p := signedIn(t, s, "alpha", "a@example.com")
	secret, _ := enrolTOTP(ctx, t, s, p)
	need := passwordStep(t, s, "alpha", "a@example.com")
	for range 5 {
		_, _, _ = s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "totp", Code: "000000"})
	}
	code, _ := tenants.TOTPCode(secret, time.Now().Add(30*time.Second)) // the current step went to the confirmation
	if _, _, err := s.FinishSignIn(context.Background(), need.Challenge, tenants.SecondFactorProof{Method: "totp", Code: code}); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("right code on a challenge that took five wrong ones: %v, want it ended", err)
	}
}

// Factors belong to the site: site B's administrator can neither see nor
// reset site A's member's factors; A's administrator can (audited by the
// GraphQL mutation), after which the password alone signs in again.
func TestSecondFactorsTwoSites(t *testing.T) {
	db := pgtest.New(t)
	s := sfStore(t, db, tenants.Limits{})
	mustSignUp(t, s, "alpha", "a@example.com")
	mustSignUp(t, s, "bravo", "b@example.com")
	actx, pa := signedIn(t, s, "alpha", "a@example.com")
	bctx, _ := signedIn(t, s, "bravo", "b@example.com")
	enrolTOTP(actx, t, s, pa)

	if st, err := s.SecondFactors(bctx, pa.User.ID); err != nil || len(st.Factors) != 0 || st.RecoveryCodesLeft != 0 {
		t.Fatalf("site B sees site A's member's factors: %v %+v", err, st)
	}
	if n, err := s.ResetSecondFactors(bctx, pa.User.ID); !errs.Is(err, errs.NotFound) || n != 0 {
		t.Fatalf("site B's admin reset site A's member: %d, %v", n, err)
	}
	if st, _ := s.SecondFactors(actx, pa.User.ID); len(st.Factors) != 1 {
		t.Fatalf("site A's factor after B's attempt: %+v", st)
	}
	passwordStep(t, s, "alpha", "a@example.com")
	if n, err := s.ResetSecondFactors(actx, pa.User.ID); err != nil || n != 1 {
		t.Fatalf("site A's admin reset: %d, %v", n, err)
	}
	signedIn(t, s, "alpha", "a@example.com")
}

// Removing the last factor needs the password (and takes the recovery
// codes with it); removing one of two does not.
func TestRemoveLastFactorNeedsPassword(t *testing.T) {
	db := pgtest.New(t)
	s := sfStore(t, db, tenants.Limits{})
	mustSignUp(t, s, "alpha", "a@example.com")
	ctx, p := signedIn(t, s, "alpha", "a@example.com")
	enrolTOTP(ctx, t, s, p)
	enrolTOTP(ctx, t, s, p)
	st, _ := s.SecondFactors(ctx, p.User.ID)
	if len(st.Factors) != 2 {
		t.Fatalf("%d factors", len(st.Factors))
	}
	if _, err := s.RemoveSecondFactor(ctx, p, st.Factors[0].ID, ""); err != nil {
		t.Fatalf("removing one of two: %v", err)
	}
	last := st.Factors[1].ID
	if _, err := s.RemoveSecondFactor(ctx, p, last, ""); !errs.Is(err, errs.Invalid) {
		t.Fatalf("removing the last without a password: %v", err)
	}
	if _, err := s.RemoveSecondFactor(ctx, p, last, "Wrong-horse-9"); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("removing the last with a wrong password: %v", err)
	}
	if _, err := s.RemoveSecondFactor(ctx, p, uuid.New(), pw); !errs.Is(err, errs.NotFound) {
		t.Fatalf("removing an unknown factor: %v", err)
	}
	if _, err := s.RemoveSecondFactor(ctx, p, last, pw); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.SecondFactors(ctx, p.User.ID); len(st.Factors) != 0 || st.RecoveryCodesLeft != 0 {
		t.Fatalf("after removing the last: %+v", st)
	}
	signedIn(t, s, "alpha", "a@example.com")
}

// A site that requires a second factor marks its members' sessions
// without one (the APIs then allow only enrolling); API tokens are not
// affected; enrolling lifts it.
func TestSiteRequiresSecondFactor(t *testing.T) {
	db := pgtest.New(t)
	s := sfStore(t, db, tenants.Limits{})
	mustSignUp(t, s, "alpha", "a@example.com")
	ctx, p := signedIn(t, s, "alpha", "a@example.com")
	tok, err := s.CreateToken(ctx, p.User.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRequireSecondFactor(ctx, true); err != nil {
		t.Fatal(err)
	}
	sess, _, err := s.Login(context.Background(), "alpha", "a@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Authenticate(context.Background(), sess); err != nil || !got.MustEnrolSecondFactor {
		t.Fatalf("session of a member without a factor in a site that requires one: %v %+v", err, got)
	}
	if got, err := s.Authenticate(context.Background(), tok); err != nil || got.MustEnrolSecondFactor {
		t.Fatalf("API token: %v %+v", err, got)
	}
	enrolTOTP(ctx, t, s, p)
	if got, err := s.Authenticate(context.Background(), sess); err != nil || got.MustEnrolSecondFactor {
		t.Fatalf("after enrolling: %v %+v", err, got)
	}
	if st, _ := s.SecondFactors(ctx, p.User.ID); !st.SiteRequires {
		t.Fatal("status does not say the site requires a factor")
	}
}
