package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestEngineWarningNamesTheZone: with live worker registrations, a check
// whose engine no worker of its zone offers is warned about naming the zone
// and its workers (the site's own remote workers for a private zone, the
// operator's for a shared one); a zone with no live worker falls back to
// this binary's engine list. Another site's workers in a zone of the same
// name never count (row-level security), and a stopped worker does not.
func TestEngineWarningNamesTheZone(t *testing.T) {
	s := newSite(t)
	xml := `<bergamot site="s">
<command name="login" engine="ssh"/>
<command name="probe" engine="dummy"/>
<command name="db" engine="internal"/>
<host name="edge1" address="127.0.0.1" worker-pool="edge"><check-command command="probe"/>
  <service name="ssh"><check-command command="login"/></service></host>
<host name="core1" address="127.0.0.1"><check-command command="probe"/>
  <service name="ssh"><check-command command="login"/></service></host>
<host name="lab1" address="127.0.0.1" worker-pool="lab"><check-command command="db"/></host>
</bergamot>`
	warnings := func() string {
		res := s.mustApply(parse(t, xml))
		return res.Warnings.Error()
	}
	// No workers known: the binary's list decides (ssh is built in).
	if w := warnings(); strings.Contains(w, `"ssh"`) || !strings.Contains(w, `engine "internal" is not offered by any worker (this Bergamot's workers run:`) {
		t.Fatalf("without registrations: %s", w)
	}

	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.db.Pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Another site with its own zone "edge" whose worker offers ssh.
	var other uuid.UUID
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		o, err := tenants.CreateSite(ctx, tx, "o"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		if err == nil {
			other = o.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	connect := func(site uuid.UUID, name string, engines []string) {
		t.Helper()
		err := tenants.InSite(tenants.WithSite(ctx, site), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			key := uuid.New()
			if _, err := tx.Exec(ctx, `INSERT INTO worker_keys (id, site_id, zone, name, key_hash) VALUES ($1, $2, 'edge', 'k', $3)`,
				key, site, key[:]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO worker_connections (id, site_id, key_id, zone, name, engines) VALUES ($1, $2, $3, 'edge', $4, $5)`,
				uuid.New(), site, key, name, engines)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	connect(other, "theirs", []string{"dummy", "ssh"})
	connect(s.id, "edge-a", []string{"dummy", "nagios"})
	exec(`INSERT INTO workers (id, name, zone, engines) VALUES ($1, 'dc-1', 'default', '{dummy,http}')`, uuid.New())
	exec(`INSERT INTO workers (id, name, zone, engines, stopped_at) VALUES ($1, 'gone', 'default', '{ssh}', now())`, uuid.New())

	w := warnings()
	for _, want := range []string{
		`command "login": uses engine "ssh", which no worker in zone "edge" offers (workers: edge-a offers dummy, nagios); 1 check(s) using command(s) login will fail when they run`,
		`command "login": uses engine "ssh", which no worker in zone "default" offers (workers: dc-1 offers dummy, http); 1 check(s) using command(s) login will fail when they run`,
		`command "db": engine "internal" is not offered by any worker (this Bergamot's workers run:`,
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if strings.Contains(w, "theirs") || strings.Contains(w, "gone") || strings.Contains(w, `"dummy"`) {
		t.Errorf("warnings count another site's or a stopped worker, or warn about an offered engine:\n%s", w)
	}

	// The site's worker now offers ssh: no warning for edge.
	connect(s.id, "edge-b", []string{"ssh"})
	if w := warnings(); strings.Contains(w, `zone "edge"`) || !strings.Contains(w, `zone "default"`) {
		t.Errorf("with an ssh worker in edge:\n%s", w)
	}
}
