package tenants_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func signedUp(t *testing.T, l tenants.Limits) *tenants.Store {
	t.Helper()
	db := pgtest.New(t)
	s := tenants.NewStoreWithLimits(db.Pool, l)
	if _, _, err := s.SignUp(context.Background(), tenants.SignUpInput{SiteName: "bravo", Email: "ops@bravo.example", Password: "Correct-horse-9"}, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

// concurrently runs n sign-ins at once and counts the outcomes by kind.
func concurrently(n int, login func(i int) error) map[errs.Kind]int {
	var mu sync.Mutex
	out := map[errs.Kind]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := login(i)
			k := errs.Kind(-1)
			if err != nil {
				k = errs.KindOf(err)
			}
			mu.Lock()
			out[k]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// Forty concurrent wrong passwords against a limit of five: at most five are
// checked, whatever spacing and case the site and email are written in.
func TestLoginThrottleIsAtomicAndNormalised(t *testing.T) {
	s := signedUp(t, tenants.Limits{LoginFailures: 5, PasswordHashes: 4, PasswordQueue: 64, PasswordWait: time.Minute})
	ctx := context.Background()
	sites := []string{"bravo", " bravo", "  bravo", "BRAVO ", "Bravo"}
	emails := []string{"ops@bravo.example", " ops@bravo.example", "OPS@Bravo.example "}
	got := concurrently(40, func(i int) error {
		_, _, err := s.Login(ctx, sites[i%len(sites)], emails[i%len(emails)], "wrong-password-1")
		return err
	})
	if got[errs.Unauthenticated] > 5 || got[errs.Forbidden] != 40-got[errs.Unauthenticated] {
		t.Fatalf("40 concurrent wrong sign-ins with limit 5: %d checked, %d refused (%v)", got[errs.Unauthenticated], got[errs.Forbidden], got)
	}
	_, _, err := s.Login(ctx, "bravo", "ops@bravo.example", "Correct-horse-9")
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "too many failed sign-in attempts for this account") {
		t.Fatalf("right password after the budget is spent: %v", err)
	}
}

// One client address gets AddressFailures failures, whichever accounts it
// names; another address is not affected, and the account budget holds
// across addresses.
func TestLoginThrottlePerAddress(t *testing.T) {
	s := signedUp(t, tenants.Limits{LoginFailures: 5, AddressFailures: 8})
	attacker := tenants.WithClientAddr(context.Background(), "192.0.2.7:40000")
	for i := range 8 {
		_, _, err := s.Login(attacker, "bravo", fmt.Sprintf("guess%d@bravo.example", i), "wrong-password-1")
		if !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, _, err := s.Login(attacker, "bravo", "ops@bravo.example", "Correct-horse-9")
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "from your address") {
		t.Fatalf("9th attempt from one address: %v", err)
	}
	other := tenants.WithClientAddr(context.Background(), "198.51.100.1:5000")
	if _, _, err := s.Login(other, "bravo", "ops@bravo.example", "Correct-horse-9"); err != nil {
		t.Fatalf("another address is throttled too: %v", err)
	}
	// Account budget across addresses.
	for i := range 5 {
		ctx := tenants.WithClientAddr(context.Background(), fmt.Sprintf("203.0.113.%d:1", i))
		if _, _, err := s.Login(ctx, "bravo", "ops@bravo.example", "wrong-password-1"); !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	ctx := tenants.WithClientAddr(context.Background(), "203.0.113.99:1")
	if _, _, err := s.Login(ctx, "bravo", "ops@bravo.example", "Correct-horse-9"); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("6th failure on one account from a 6th address: %v", err)
	}
}

// A flood of sign-ins is served a few at a time; beyond the queue they are
// refused as busy (and not counted against the account).
func TestPasswordHashingIsBounded(t *testing.T) {
	s := signedUp(t, tenants.Limits{LoginFailures: 100, AddressFailures: 1000, PasswordHashes: 1, PasswordQueue: 2, PasswordWait: 30 * time.Second})
	ctx := context.Background()
	got := concurrently(30, func(i int) error {
		_, _, err := s.Login(ctx, "bravo", fmt.Sprintf("u%d@bravo.example", i), "wrong-password-1")
		if errs.Is(err, errs.Transient) && !strings.Contains(err.Error(), "too many passwords at once") {
			t.Errorf("busy error: %v", err)
		}
		return err
	})
	if got[errs.Transient] == 0 || got[errs.Unauthenticated] == 0 || got[errs.Transient]+got[errs.Unauthenticated] != 30 {
		t.Fatalf("30 concurrent sign-ins with 1 hash at a time and a queue of 2: %v", got)
	}
	t.Logf("checked %d, refused as busy %d", got[errs.Unauthenticated], got[errs.Transient])
}

// One email cannot create sites at will (the review made 15 in 1.5 s), nor
// one address; the operator's command line (no client address) is not
// throttled.
func TestSignUpIsRateLimited(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStoreWithLimits(db.Pool, tenants.Limits{SignupsPerEmail: 3, SignupsPerAddress: 5})
	web := tenants.WithClientAddr(context.Background(), "198.51.100.4:3333")
	var refused error
	created := 0
	for i := range 15 {
		_, _, err := s.SignUp(web, tenants.SignUpInput{SiteName: fmt.Sprintf("spam%d", i), Email: "one@x.example", Password: "Correct-horse-9"}, nil)
		if err != nil {
			refused = err
			break
		}
		created++
	}
	if created != 3 || !errs.Is(refused, errs.Forbidden) || !strings.Contains(refused.Error(), "too many sign-ups with this email (3 an hour at most)") {
		t.Fatalf("one email created %d sites, then: %v", created, refused)
	}
	// Other emails from the same address: 2 more, then the address budget.
	for i := range 3 {
		_, _, err := s.SignUp(web, tenants.SignUpInput{SiteName: fmt.Sprintf("other%d", i), Email: fmt.Sprintf("u%d@x.example", i), Password: "Correct-horse-9"}, nil)
		if i < 1 && err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
		if i == 2 && (err == nil || !strings.Contains(err.Error(), "from your address")) {
			t.Fatalf("6th sign-up from one address: %v", err)
		}
	}
	// The command line is not throttled.
	if _, _, err := s.SignUp(context.Background(), tenants.SignUpInput{SiteName: "ops-made", Email: "one@x.example", Password: "Correct-horse-9"}, nil); err != nil {
		t.Fatalf("operator sign-up: %v", err)
	}
}

// Inviting with a weak password gets the same answer whether or not the
// email already has an account (it used to succeed for existing accounts
// only: an existence oracle).
func TestInviteDoesNotRevealAccounts(t *testing.T) {
	s := signedUp(t, tenants.Limits{})
	ctx := context.Background()
	if _, _, err := s.SignUp(ctx, tenants.SignUpInput{SiteName: "alpha", Email: "exists@x.example", Password: "Correct-horse-9"}, nil); err != nil {
		t.Fatal(err)
	}
	site, err := s.SiteByName(ctx, "bravo")
	if err != nil {
		t.Fatal(err)
	}
	sctx := tenants.WithSite(ctx, site.ID)
	var answers []string
	for _, email := range []string{"exists@x.example", "new@x.example"} {
		_, err := s.Invite(sctx, email, "weak", tenants.RoleViewer)
		answers = append(answers, fmt.Sprintf("%v", err))
	}
	if answers[0] != answers[1] || !strings.Contains(answers[0], "password refused") {
		t.Fatalf("invite with a weak password: existing account %q, new %q; want the same refusal", answers[0], answers[1])
	}
}
