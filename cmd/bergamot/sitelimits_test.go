package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// `bergamot site limits` sets, shows and resets one site's overrides; a
// bad name or value is refused saying what is wrong.
func TestSiteLimitsCommand(t *testing.T) {
	pdb := pgtest.New(t)
	ctx := context.Background()
	if _, _, err := tenants.NewStore(pdb.Pool).SignUp(ctx, tenants.SignUpInput{SiteName: "acme", Email: "a@acme.example", Password: "Correct-horse-9"}, nil); err != nil {
		t.Fatal(err)
	}
	env := &Env{DatabaseURL: pdb.OwnerURL, Data: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	run := func(args ...string) (string, error) {
		r, w, _ := os.Pipe()
		old := os.Stdout
		os.Stdout = w
		err := cmdSiteLimits(ctx, env, args)
		os.Stdout = old
		_ = w.Close()
		out, _ := io.ReadAll(r)
		return string(out), err
	}
	out, err := run("acme", "checks-in-flight=500", "subscriptions-per-site=10")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "site acme") || !hasRow(out, "checks-in-flight", "500") || !hasRow(out, "subscriptions-per-connection", "100") {
		t.Errorf("output lacks the site or a limit:\n%s", out)
	}
	out, err = run("acme", "--reset", "checks-in-flight")
	if err != nil || !hasRow(out, "checks-in-flight", "2000", "default") {
		t.Fatalf("after reset (%v):\n%s", err, out)
	}
	if _, err := run("acme", "no-such=1"); err == nil || !strings.Contains(err.Error(), `no limit named "no-such" (there are: subscriptions-per-connection`) {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := run("acme", "checks-in-flight=lots"); err == nil || !strings.Contains(err.Error(), "must be a whole number") {
		t.Fatalf("bad value: %v", err)
	}
}

// hasRow reports whether the table out has a row beginning with fields
// (whatever the column widths).
func hasRow(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(fields) && slices.Equal(f[:len(fields)], fields) {
			return true
		}
	}
	return false
}
