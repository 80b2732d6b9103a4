package manager

import (
	"crypto/ed25519"
	"crypto/x509"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInitKeysPrivate: init writes every key 0600 in 0700 directories,
// refuses to overwrite an existing manager, and site CAs appear on first use.
func TestInitKeysPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	ca, err := Init(dir, "", []string{"127.0.0.1", "mgr.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, "", nil); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second init: %v", err)
	}
	key, _ := NewKey("")
	if _, err := ca.SignAgent(Identity{Kind: KindAgent, Site: "s1", Name: "web1"}, key.Public(), 0); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir() && fi.Mode().Perm() != 0o700:
			t.Errorf("%s: mode %v, want 0700", p, fi.Mode().Perm())
		case strings.HasSuffix(p, ".key"):
			n++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", p, fi.Mode().Perm())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 { // root, manager, node, site s1
		t.Fatalf("%d keys, want 4", n)
	}
}

// TestSignAgentChain: an agent certificate chains through its site's CA to
// the root, carries its identity, and lives as long as asked; Ed25519
// works too.
func TestSignAgentChain(t *testing.T) {
	dir := t.TempDir()
	ca, err := Init(filepath.Join(dir, "m"), KeyEd25519, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	if _, err := ca.SignAgent(Identity{Kind: KindAgent, Site: "acme", Name: "db/1"}, pub, 0); err == nil {
		t.Fatal("a host with '/' was signed")
	}
	s, err := ca.SignAgent(Identity{Kind: KindAgent, Site: "acme", Name: "db 1"}, pub, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := ParseCertPEM(s.Cert)
	inter, _ := ParseCertPEM(s.Chain)
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(ca.Root())
	inters.AddCert(inter)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	id, err := CertIdentity(leaf)
	if err != nil || id != (Identity{Kind: KindAgent, Site: "acme", Name: "db 1"}) {
		t.Fatalf("identity %+v, %v", id, err)
	}
	sid, err := CertIdentity(inter)
	if err != nil || sid.Kind != KindSite || sid.Site != "acme" {
		t.Fatalf("site CA identity %+v, %v", sid, err)
	}
	if d := time.Until(leaf.NotAfter); d < 47*time.Hour || d > 49*time.Hour {
		t.Fatalf("lifetime %s, want 48h", d)
	}
}

// TestRevoke: by serial or by host, only the site's own, each once, and a
// clear error for what was never issued.
func TestRevoke(t *testing.T) {
	ca, err := Init(filepath.Join(t.TempDir(), "m"), "", []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := NewKey("")
	a1, _ := ca.SignAgent(Identity{Kind: KindAgent, Site: "a", Name: "h1"}, key.Public(), 0)
	a2, _ := ca.SignAgent(Identity{Kind: KindAgent, Site: "a", Name: "h1"}, key.Public(), 0)
	b1, _ := ca.SignAgent(Identity{Kind: KindAgent, Site: "b", Name: "h1"}, key.Public(), 0)
	if _, err := ca.Revoke("b", a1.Serial, ""); err == nil || !strings.Contains(err.Error(), "no certificate with serial") {
		t.Fatalf("site b revoking site a's serial: %v", err)
	}
	got, err := ca.Revoke("a", "", "h1")
	if err != nil || len(got) != 2 {
		t.Fatalf("revoke host: %v %v", got, err)
	}
	if got, _ := ca.Revoke("a", "0x"+strings.ToUpper(a2.Serial), ""); len(got) != 0 {
		t.Fatalf("revoked twice: %v", got)
	}
	list, _ := ca.RevokedList()
	for _, r := range list {
		if r.Serial == b1.Serial {
			t.Fatal("site b's certificate was revoked")
		}
	}
	if _, err := ca.Revoke("a", "", "nope"); err == nil || !strings.Contains(err.Error(), "no certificate was issued for host nope") {
		t.Fatalf("unknown host: %v", err)
	}
}

// FuzzParseIdentity: the identity decoder never panics, and what it accepts
// encodes and decodes to the same identity.
func FuzzParseIdentity(f *testing.F) {
	for _, s := range []string{"bergamot://agent/acme/web1", "bergamot://template/0f0e/linux-server-agent", "bergamot://site/acme",
		"bergamot://agent/a%2Fb/c%20d", "https://x/y", "bergamot://agent/a", "bergamot://agent/a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		id, err := ParseIdentity(u)
		if err != nil {
			return
		}
		back, err := ParseIdentity(id.URI())
		if err != nil || back != id {
			t.Fatalf("%q -> %+v -> %s -> %+v, %v", s, id, id.URI(), back, err)
		}
	})
}

// TestStats: what the manager's /metrics reports comes from its ledgers
// and certificates: issued and revoked counts (the command line's too) and
// the expiry of the root, the manager's and the node certificates.
func TestStats(t *testing.T) {
	ca, err := Init(filepath.Join(t.TempDir(), "m"), "", []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := ca.Stats()
	if err != nil || st.Issued != 0 || st.Revoked != 0 || len(st.Expires) != 3 {
		t.Fatalf("fresh manager: %+v %v", st, err)
	}
	for _, h := range []string{"web1", "web2"} {
		key, _ := NewKey("")
		if _, err := ca.SignAgent(Identity{Kind: KindAgent, Site: "s1", Name: h}, key.Public(), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ca.Revoke("s1", "", "web1"); err != nil {
		t.Fatal(err)
	}
	st, err = ca.Stats()
	if err != nil || st.Issued != 2 || st.Revoked != 1 {
		t.Fatalf("after 2 issued, 1 revoked: %+v %v", st, err)
	}
	if !st.Expires["root"].Equal(ca.Root().NotAfter) || st.Expires["manager"].IsZero() || st.Expires["node"].IsZero() {
		t.Errorf("expiries %v", st.Expires)
	}
}
