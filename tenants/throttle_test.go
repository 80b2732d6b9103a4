package tenants_test

import (
	"context"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Issue 19 item 9: the sign-in budget is shared by every API node on the
// database (two Stores here, as two `serve` processes): forty concurrent
// wrong passwords spread over both still check at most five, and a new
// node (a restart) does not get a fresh budget.
func TestLoginThrottleSharedAcrossNodes(t *testing.T) {
	db := pgtest.New(t)
	l := tenants.Limits{LoginFailures: 5, AddressFailures: 1000, PasswordHashes: 4, PasswordQueue: 64, PasswordWait: time.Minute}
	node1, node2 := tenants.NewStoreWithLimits(db.Pool, l), tenants.NewStoreWithLimits(db.Pool, l)
	ctx := context.Background()
	if _, _, err := node1.SignUp(ctx, tenants.SignUpInput{SiteName: "bravo", Email: "ops@bravo.example", Password: "Correct-horse-9"}, nil); err != nil {
		t.Fatal(err)
	}
	web := tenants.WithClientAddr(ctx, "198.51.100.9:1234")
	got := concurrently(40, func(i int) error {
		node := node1
		if i%2 == 1 {
			node = node2
		}
		_, _, err := node.Login(web, "bravo", "ops@bravo.example", "wrong-password-1")
		return err
	})
	if got[errs.Unauthenticated] > 5 || got[errs.Forbidden] != 40-got[errs.Unauthenticated] {
		t.Fatalf("40 wrong sign-ins over two nodes with limit 5: %d checked, %d refused (%v)", got[errs.Unauthenticated], got[errs.Forbidden], got)
	}
	restarted := tenants.NewStoreWithLimits(db.Pool, l)
	if _, _, err := restarted.Login(web, "bravo", "ops@bravo.example", "Correct-horse-9"); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a restarted node forgot the spent budget: %v", err)
	}
}
