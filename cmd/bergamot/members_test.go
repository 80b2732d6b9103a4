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

// The operator's member and token commands do what the dashboard's do:
// a disabled member's session stops at once and comes back when enabled,
// a revoked token stops, a removed member cannot sign in; every change is
// in the site's audit log as the operator's; a wrong email says how to
// list the members.
func TestOperatorMemberCommands(t *testing.T) {
	pdb := pgtest.New(t)
	ctx := context.Background()
	ts := tenants.NewStore(pdb.Pool)
	site, _, err := ts.SignUp(ctx, tenants.SignUpInput{SiteName: "acme", Email: "a@acme.example", Password: "Correct-horse-9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sctx := tenants.WithSite(ctx, site.ID)
	const pw = "Bob-s-own-pass-42"
	if _, err := ts.Invite(sctx, "bob@acme.example", pw, tenants.RoleEditor); err != nil {
		t.Fatal(err)
	}
	sess, bob, err := ts.Login(ctx, "acme", "bob@acme.example", pw)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.CreateToken(sctx, bob.User.ID, "deploys")
	if err != nil {
		t.Fatal(err)
	}
	works := func(secret string) bool {
		_, err := ts.Authenticate(ctx, secret)
		return err == nil
	}
	env := &Env{DatabaseURL: pdb.OwnerURL, Data: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	run := func(cmd func(context.Context, *Env, []string) error, args ...string) (string, error) {
		t.Helper()
		r, w, _ := os.Pipe()
		old := os.Stdout
		os.Stdout = w
		err := cmd(ctx, env, args)
		os.Stdout = old
		_ = w.Close()
		out, _ := io.ReadAll(r)
		return string(out), err
	}

	out, err := run(cmdUser, "list", "--site", "acme")
	if err != nil || !hasRow(out, "bob@acme.example", "editor", "active") || !hasRow(out, "a@acme.example", "admin", "active") {
		t.Fatalf("user list (%v):\n%s", err, out)
	}
	out, err = run(cmdUser, "disable", "--site", "acme", "Bob@acme.example")
	if err != nil || !strings.Contains(out, "disabled bob@acme.example in site acme") {
		t.Fatalf("user disable (%v): %s", err, out)
	}
	if works(sess) || works(tok) {
		t.Error("a disabled member's session or token still works")
	}
	if out, _ := run(cmdUser, "list", "--site", "acme"); !hasRow(out, "bob@acme.example", "editor", "disabled") {
		t.Errorf("list does not show bob disabled:\n%s", out)
	}
	if _, err := run(cmdUser, "enable", "--site", "acme", "bob@acme.example"); err != nil {
		t.Fatal(err)
	}
	if !works(tok) {
		t.Error("bob's token does not work again after enable")
	}

	out, err = run(cmdToken, "list", "--site", "acme", "--user", "bob@acme.example")
	if err != nil || !strings.Contains(out, "deploys") || !strings.Contains(out, "active") {
		t.Fatalf("token list (%v):\n%s", err, out)
	}
	toks, err := ts.Tokens(sctx, bob.User.ID)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens: %v %v", toks, err)
	}
	if _, err := run(cmdToken, "revoke", "--site", "acme", toks[0].ID.String()); err != nil {
		t.Fatal(err)
	}
	if works(tok) {
		t.Error("a revoked token still works")
	}
	if out, _ := run(cmdToken, "list", "--site", "acme"); !strings.Contains(out, "revoked") {
		t.Errorf("token list does not show the revocation:\n%s", out)
	}

	if _, err := run(cmdUser, "remove", "--site", "acme", "nobody@acme.example"); err == nil ||
		!strings.Contains(err.Error(), "nobody@acme.example is not a member of site acme (`bergamot user list --site acme` lists them)") {
		t.Errorf("unknown member: %v", err)
	}
	if _, err := run(cmdUser, "remove", "--site", "acme", "bob@acme.example"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Login(ctx, "acme", "bob@acme.example", pw); err == nil {
		t.Error("a removed member can sign in")
	}
	if _, err := run(cmdUser, "frobnicate", "--site", "acme", "a@acme.example"); err == nil || !strings.Contains(err.Error(), `no user command "frobnicate"`) {
		t.Errorf("unknown subcommand: %v", err)
	}

	page, err := ts.AuditLog(sctx, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Entries {
		if e.Via == tenants.ViaOperator {
			got = append(got, e.Action+" "+e.Target)
		}
	}
	for _, want := range []string{"operator:user disable bob@acme.example", "operator:user enable bob@acme.example",
		"operator:token revoke " + toks[0].ID.String(), "operator:user remove bob@acme.example"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit log lacks %q (operator entries: %q)", want, got)
		}
	}
}
