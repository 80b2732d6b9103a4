package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func TestHostKeysTrustOnFirstUsePerSite(t *testing.T) {
	a := newSite(t)
	hk := &store.HostKeys{Pool: a.db.Pool}
	key1 := []byte("\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	key2 := []byte("\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	rec, seen, err := hk.TrustHostKey(a.ctx(), a.id.String(), "db1:22", key1)
	if err != nil || !bytes.Equal(rec, key1) || seen.IsZero() {
		t.Fatalf("first use: %x %v %v", rec, seen, err)
	}
	rec, _, err = hk.TrustHostKey(a.ctx(), a.id.String(), "db1:22", key2)
	if err != nil || !bytes.Equal(rec, key1) {
		t.Fatalf("second key: got %x, %v; want the first key kept", rec, err)
	}
	if got := a.count(`SELECT count(*) FROM ssh_host_keys WHERE key_type = 'ssh-ed25519' AND fingerprint = $1`, store.Fingerprint(key1)); got != 1 {
		t.Fatalf("%d rows with type and fingerprint", got)
	}
	// Another site trusts on its own and cannot see the first site's key.
	b := newSiteIn(t, a.db)
	rec, _, err = hk.TrustHostKey(b.ctx(), b.id.String(), "db1:22", key2)
	if err != nil || !bytes.Equal(rec, key2) {
		t.Fatalf("other site: %x %v", rec, err)
	}
	if ok, err := hk.ForgetHostKey(a.ctx(), "db1:22"); !ok || err != nil {
		t.Fatalf("forget: %v %v", ok, err)
	}
	rec, _, err = hk.TrustHostKey(a.ctx(), a.id.String(), "db1:22", key2)
	if err != nil || !bytes.Equal(rec, key2) {
		t.Fatalf("after forget: %x %v", rec, err)
	}
	if _, _, err := hk.TrustHostKey(a.ctx(), "not-a-uuid", "db1:22", key2); err == nil {
		t.Fatal("bad site id accepted")
	}
}

// newSiteIn creates another site in a's database.
func newSiteIn(t *testing.T, db *pgtest.DB) *site {
	t.Helper()
	var s *tenants.Site
	err := pgx.BeginFunc(context.Background(), db.Pool, func(tx pgx.Tx) error {
		var err error
		s, err = tenants.CreateSite(context.Background(), tx, "s"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return &site{t: t, db: db, id: s.ID}
}
