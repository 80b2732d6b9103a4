package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// TestSiteZoneKeysThroughTheAPI: `bergamot zone key create|list|revoke`
// without --shared manage the site's own keys through the API with an
// administrator's token: the key is printed once with the worker command,
// listed without the key, revoked; another site's token sees none of them,
// and mistakes answer with what to do.
func TestSiteZoneKeysThroughTheAPI(t *testing.T) {
	env := apitest.Start(t, apitest.Options{})
	a, b := env.SignUp(t, "keys-a"), env.SignUp(t, "keys-b")
	tokenFile := func(tok string) string {
		f := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(f, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	run := func(tok, sub string, args ...string) (string, string, error) {
		var out, info bytes.Buffer
		err := siteKeys(context.Background(), &out, &info, sub, args, "", env.URL, tokenFile(tok))
		return out.String(), info.String(), err
	}

	out, info, err := run(a.Token, "key create", "dc1")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	if !regexp.MustCompile(`^bgw_[0-9a-f]{32}_\S+$`).MatchString(key) {
		t.Fatalf("stdout %q: want only the key", out)
	}
	hub := "ws://" + strings.TrimPrefix(env.URL, "http://") + "/worker"
	if want := "bergamot worker --hub " + hub + " --key-file dc1.key"; !strings.Contains(info, want) || !strings.Contains(info, "shown once") {
		t.Errorf("stderr %q lacks %q", info, want)
	}

	out, _, err = run(a.Token, "key list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dc1") || !strings.Contains(out, "live") || strings.Contains(out, key) {
		t.Errorf("list:\n%s", out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]

	if out, _, err := run(b.Token, "key list"); err != nil || strings.Contains(out, id) {
		t.Errorf("site B's list shows A's key (%v):\n%s", err, out)
	}
	if _, _, err := run(b.Token, "key revoke", id); err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Errorf("site B revoking A's key: %v, want NOT_FOUND", err)
	}
	if _, _, err := run(a.Token, "key create", "default"); err == nil || !strings.Contains(err.Error(), "operator zone") {
		t.Errorf("a site key for the shared zone default: %v", err)
	}

	if out, _, err := run(a.Token, "key revoke", id); err != nil || !strings.Contains(out, "revoked key "+id) {
		t.Fatalf("revoke: %v %q", err, out)
	}
	if out, _, _ := run(a.Token, "key list"); !strings.Contains(out, "revoked") {
		t.Errorf("list after revoking:\n%s", out)
	}
	if _, _, err := run(a.Token, "key revoke", id); err == nil || !strings.Contains(err.Error(), "no live worker key") {
		t.Errorf("revoking twice: %v", err)
	}

	if _, _, err := run(a.Token, "key create"); err == nil || !strings.Contains(err.Error(), "give the private zone") {
		t.Errorf("create without a zone: %v", err)
	}
	t.Setenv("BERGAMOT_TOKEN", "")
	var o, i bytes.Buffer
	if err := siteKeys(context.Background(), &o, &i, "key list", nil, "", env.URL, ""); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("no token: %v", err)
	}
	if err := siteKeys(context.Background(), &o, &i, "key list", nil, "", "ftp://x", tokenFile(a.Token)); err == nil || !strings.Contains(err.Error(), "--url") {
		t.Errorf("bad url: %v", err)
	}
}

// TestZoneFlagsAfterArguments: `zone key create dc1 --name a` parses like
// `zone key create --name a dc1`.
func TestZoneFlagsAfterArguments(t *testing.T) {
	for _, args := range [][]string{{"dc1", "--name", "a"}, {"--name", "a", "dc1"}} {
		fs := newFlags("zone key create", zoneUsage)
		name := fs.String("name", "", "")
		if err := parseInterspersed(fs, args); err != nil {
			t.Fatal(err)
		}
		if *name != "a" || fs.NArg() != 1 || fs.Arg(0) != "dc1" {
			t.Errorf("%v: name %q args %v", args, *name, fs.Args())
		}
	}
}
