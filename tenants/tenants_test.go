package tenants_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func countSites(t *testing.T, db *pgtest.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM sites`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Bad input gives a clear error and changes nothing.
func TestSignUpBadInput(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	ctx := context.Background()
	if _, _, err := s.SignUp(ctx, tenants.SignUpInput{SiteName: "acme", Email: "a@acme.example", Password: "Correct-horse-9"}, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   tenants.SignUpInput
		kind errs.Kind
		msg  string
	}{
		{"taken name", tenants.SignUpInput{SiteName: "acme", Email: "b@x.example", Password: "Correct-horse-9"}, errs.Conflict, `site name "acme" is already taken`},
		{"weak password", tenants.SignUpInput{SiteName: "beta", Email: "b@x.example", Password: "short"}, errs.Invalid, "at least 10 characters"},
		{"simple password", tenants.SignUpInput{SiteName: "beta", Email: "b@x.example", Password: "aaaaaaaaaaaa"}, errs.Invalid, "mix letters"},
		{"bad site name", tenants.SignUpInput{SiteName: "Not_A_Label", Email: "b@x.example", Password: "Correct-horse-9"}, errs.Invalid, "lower-case letters"},
		{"reserved name", tenants.SignUpInput{SiteName: "admin", Email: "b@x.example", Password: "Correct-horse-9"}, errs.Invalid, "reserved"},
		{"bad email", tenants.SignUpInput{SiteName: "beta", Email: "not-an-email", Password: "Correct-horse-9"}, errs.Invalid, "not a valid email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := countSites(t, db)
			_, _, err := s.SignUp(ctx, c.in, nil)
			if err == nil || errs.KindOf(err) != c.kind || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v (kind %s), want %s containing %q", err, errs.KindOf(err).Code(), c.kind.Code(), c.msg)
			}
			if after := countSites(t, db); after != before {
				t.Fatalf("sites went from %d to %d: a failed signup must change nothing", before, after)
			}
		})
	}
	if _, err := tenants.ParseRole("owner"); err == nil || !strings.Contains(err.Error(), `unknown role "owner"`) {
		t.Fatalf("unknown role: %v", err)
	}
}

func TestLoginTokensAndRateLimit(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	ctx := context.Background()
	site, m, err := s.SignUp(ctx, tenants.SignUpInput{SiteName: "acme", Email: "Ops@Acme.example", Password: "Correct-horse-9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess, p, err := s.Login(ctx, "acme", "ops@acme.example", "Correct-horse-9")
	if err != nil || p.Role != tenants.RoleAdmin || p.Site.ID != site.ID {
		t.Fatalf("login: %v %+v", err, p)
	}
	if got, err := s.Authenticate(ctx, sess); err != nil || got.User.ID != m.ID {
		t.Fatalf("session: %v", err)
	}
	sctx := tenants.WithSite(ctx, site.ID)
	tok, err := s.CreateToken(sctx, m.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1`, "%"+tok+"%").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); err != nil {
		t.Fatalf("token: %v", err)
	}
	// Tokens are stored hashed: the plain token is nowhere in the table.
	err = tenants.InSite(sctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var n int
		return tx.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE token_hash = convert_to($1, 'UTF8')`, tok).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := s.Tokens(sctx, m.ID)
	if err := s.RevokeToken(sctx, toks[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("revoked token still works: %v", err)
	}
	// Five wrong passwords, then even the right one is refused for a while.
	for i := 0; i < 5; i++ {
		if _, _, err := s.Login(ctx, "acme", "ops@acme.example", "wrong-password-1"); !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "acme", "ops@acme.example", "Correct-horse-9"); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("want rate limit, got %v", err)
	}
}

// A reporting login sees its own site's rows only, whatever it sets.
func TestSQLRoleIsolation(t *testing.T) {
	db := pgtest.New(t)
	s := tenants.NewStore(db.Pool)
	ctx := context.Background()
	a := mustSignUp(t, s, "alpha", "a@example.com")
	b := mustSignUp(t, s, "bravo", "b@example.com")
	seed(t, ctx, db.Pool, a.ID)
	seed(t, ctx, db.Pool, b.ID)
	rc := db.ReportingConn(t, a)
	// Try to widen the view by setting the application's site setting.
	if _, err := rc.Exec(ctx, `SELECT set_config('bergamot.site_id', $1, false)`, b.ID.String()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SELECT count(*) FILTER (WHERE site_id <> $1) FROM checks`, `SELECT count(*) FILTER (WHERE site_id <> $1) FROM alerts`} {
		var other int
		if err := rc.QueryRow(ctx, q, a.ID).Scan(&other); err != nil {
			t.Fatal(err)
		}
		if other != 0 {
			t.Fatalf("%s: reporting login sees %d rows of another site", q, other)
		}
	}
	var mine int
	if err := rc.QueryRow(ctx, `SELECT count(*) FROM reporting.checks`).Scan(&mine); err != nil {
		t.Fatal(err)
	}
	if mine != 1 { // the seed gives each site one check with state
		t.Fatalf("reporting.checks shows %d rows, want the site's 1", mine)
	}
	if _, err := rc.Exec(ctx, `DELETE FROM checks`); err == nil {
		t.Fatal("reporting login could delete")
	}
	var n int
	if err := rc.QueryRow(ctx, `SELECT count(*) FROM reporting.availability_30d`).Scan(&n); err != nil {
		t.Fatal(err)
	}
}
