package tenants_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestEveryCheckTableHasDomainPolicy is the meta-test of security domains:
// every tenant table holding a check's rows (site_id and check_id, under
// row-level security) must carry the restrictive policy that confines it
// to the checks the transaction may read, and checks its own. A table
// added later without the policy fails here, whatever path reads it.
func TestEveryCheckTableHasDomainPolicy(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	conn := db.OwnerConn(t)
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'site_id' AND NOT a.attisdropped)
		  AND (c.relname = 'checks' OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'check_id' AND NOT a.attisdropped))
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"checks", "check_state", "state_history", "alerts", "comments", "downtimes", "metrics", "notification_log"} {
		if !slices.Contains(tables, want) {
			t.Fatalf("table %s not found among %v", want, tables)
		}
	}
	for _, tbl := range tables {
		if _, system := systemTables[tbl]; system {
			continue // queues the scheduler and processor read across sites; not tenant data
		}
		var quals []string
		rows, err := conn.Query(ctx, `SELECT pg_get_expr(p.polqual, p.polrelid) || ' ' || COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), '')
			FROM pg_policy p WHERE p.polrelid = ('public.' || $1)::regclass AND NOT p.polpermissive
			  AND p.polcmd = '*' AND 'bergamot_app'::regrole = ANY (p.polroles)`, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if quals, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
		want := "bergamot_check_readable(check_id)"
		if tbl == "checks" {
			want = "bergamot_domains_readable(security_domains)"
		}
		if !slices.ContainsFunc(quals, func(q string) bool { return strings.Count(q, want) == 2 }) {
			t.Errorf("table %s has no restrictive policy for bergamot_app using and checking %s (has %q): "+
				"every table of a check's rows must be confined to the security domains the reader may read (see migration 000042)", tbl, want, quals)
		}
	}
}

// TestInSiteConfinesMembersToTheirDomains: two members of one site whose
// contacts may read different security domains each read only their
// domain's checks (and those in no domain), in checks and in a table of a
// check's rows, and cannot change the others'; an administrator, the
// system's own work and a configuration apply read everything; another
// site's member with the same contact name reads nothing of this site.
// domainMembers are the members the security-domain tests share: sites
// alpha and bravo, and in alpha wendy (an editor, her email written in
// another case), dave and nobody (viewers) and the administrator.
type domainMembers struct {
	db                      *pgtest.DB
	s                       *tenants.Store
	site, other             *tenants.Site
	web, dbm, nobody, admin *tenants.Principal
}

func newDomainMembers(t *testing.T) *domainMembers {
	t.Helper()
	db := pgtest.New(t)
	m := &domainMembers{db: db, s: tenants.NewStore(db.Pool)}
	m.site = mustSignUp(t, m.s, "alpha", "admin@alpha.example")
	m.other = mustSignUp(t, m.s, "bravo", "admin@bravo.example")
	_, _, m.web = member(t, m.s, m.site, "Wendy@Alpha.example", tenants.RoleEditor)
	_, _, m.dbm = member(t, m.s, m.site, "dave@alpha.example", tenants.RoleViewer)
	_, _, m.nobody = member(t, m.s, m.site, "nobody@alpha.example", tenants.RoleViewer)
	m.admin = adminOf(t, m.s, m.site, "admin@alpha.example")
	return m
}

func TestInSiteConfinesMembersToTheirDomains(t *testing.T) {
	m := newDomainMembers(t)
	ctx := context.Background()
	db, s, site, web, dbm, nobody, admin := m.db, m.s, m.site, m.web, m.dbm, m.nobody, m.admin
	_, _, bravoWendy := member(t, s, m.other, "wendy@alpha.example", tenants.RoleViewer)

	sys := tenants.WithSite(ctx, site.ID)
	if err := tenants.InSite(sys, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		for _, c := range []struct{ name, settings string }{
			{"webhost", `{"SecurityDomains": ["web"]}`}, {"dbhost", `{"SecurityDomains": ["db"]}`},
			{"both", `{"SecurityDomains": ["db", "web"]}`}, {"open", `{}`},
		} {
			id := uuid.New()
			if _, err := tx.Exec(ctx, `INSERT INTO checks (id, site_id, kind, name, settings) VALUES ($1, $2, 'host', $3, $4)`, id, site.ID, c.name, c.settings); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO check_state (check_id, site_id, output) VALUES ($1, $2, $3)`, id, site.ID, c.name); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO domain_grants (site_id, contact, email, domain, permissions) VALUES
			($1, 'wendy', 'wendy@alpha.example', 'web', '{read,acknowledge}'),
			($1, 'dave', 'dave@alpha.example', 'db', '{read}'),
			($1, 'dave', 'dave@alpha.example', 'web', '{execute}')`, site.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	read := func(ctx context.Context) (checks, states []string) {
		t.Helper()
		err := tenants.InSite(ctx, db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, `SELECT name FROM checks ORDER BY name`)
			var err error
			if checks, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
			rows, _ = tx.Query(ctx, `SELECT output FROM check_state ORDER BY output`)
			states, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return checks, states
	}
	all := []string{"both", "dbhost", "open", "webhost"}
	for _, tc := range []struct {
		who  string
		ctx  context.Context
		want []string
	}{
		{"wendy (web, email in another case)", tenants.WithPrincipal(ctx, web), []string{"both", "open", "webhost"}},
		{"dave (db; execute but not read on web)", tenants.WithPrincipal(ctx, dbm), []string{"both", "dbhost", "open"}},
		{"a member with no contact", tenants.WithPrincipal(ctx, nobody), []string{"open"}},
		{"the administrator", tenants.WithPrincipal(ctx, admin), all},
		{"the system", sys, all},
		{"wendy applying configuration", tenants.WholeSite(tenants.WithPrincipal(ctx, web)), all},
		{"bravo's wendy", tenants.WithPrincipal(ctx, bravoWendy), nil},
	} {
		checks, states := read(tc.ctx)
		if !slices.Equal(checks, tc.want) || !slices.Equal(states, tc.want) {
			t.Errorf("%s reads checks %v and states %v, want %v", tc.who, checks, states, tc.want)
		}
	}

	// Writes: wendy cannot change dbhost's state or give webhost's row a
	// domain she cannot read.
	err := tenants.InSite(tenants.WithPrincipal(ctx, web), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE check_state SET output = 'changed' WHERE output = 'dbhost'`)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 0 {
			t.Errorf("wendy changed %d states of dbhost", tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = tenants.InSite(tenants.WithPrincipal(ctx, web), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE checks SET settings = '{"SecurityDomains": ["db"]}' WHERE name = 'webhost'`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("moving a check out of wendy's domains: %v, want a row-level security refusal", err)
	}

	d, err := tenants.ReadableDomains(tenants.WithPrincipal(ctx, web), db.Pool)
	if err != nil || d.All || !slices.Equal(d.Readable, []string{"web"}) || !d.Allows([]string{"db", "web"}) || d.Allows([]string{"db"}) || !d.Allows(nil) {
		t.Errorf("wendy's readable domains: %+v, %v", d, err)
	}
	if d, err := tenants.ReadableDomains(tenants.WithPrincipal(ctx, admin), db.Pool); err != nil || !d.All {
		t.Errorf("the administrator's readable domains: %+v, %v", d, err)
	}
}

// TestCurrentDomainsAllMatchesEachMembersRule: the live hub's re-read of
// a whole site's subscribers at once gives each member what InSite gives
// their next transaction, as CurrentDomains does one by one: grants for
// a confined member, the whole site for an administrator, nothing for a
// member disabled meanwhile; a principal of another site is refused.
func TestCurrentDomainsAllMatchesEachMembersRule(t *testing.T) {
	m := newDomainMembers(t)
	ctx := context.Background()
	db, s, site, other, web, dbm, nobody, admin := m.db, m.s, m.site, m.other, m.web, m.dbm, m.nobody, m.admin
	_, _, gone := member(t, s, site, "gone@alpha.example", tenants.RoleViewer)
	if err := tenants.InSite(tenants.WithSite(ctx, site.ID), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO domain_grants (site_id, contact, email, domain, permissions) VALUES
			($1, 'wendy', 'wendy@alpha.example', 'web', '{read}'), ($1, 'wendy', 'wendy@alpha.example', 'mail', '{read}'),
			($1, 'dave', 'dave@alpha.example', 'db', '{read}'), ($1, 'dave', 'dave@alpha.example', 'web', '{execute}'),
			($1, 'gone', 'gone@alpha.example', 'db', '{read}')`, site.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMemberDisabled(tenants.WithPrincipal(ctx, admin), admin, gone.User.ID, true); err != nil {
		t.Fatal(err)
	}
	ps := []*tenants.Principal{web, dbm, nobody, gone, admin, web}
	got, err := s.CurrentDomainsAll(ctx, site.ID, ps)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[mail web]", "[db]", "[]", "none", "all", "[mail web]"}
	for i, p := range ps {
		g := fmt.Sprint(got[i].Readable)
		if got[i].None {
			g = "none"
		} else if got[i].All {
			g = "all"
		}
		if g != want[i] {
			t.Errorf("%s: %s, want %s", p.User.Email, g, want[i])
		}
		one, err := s.CurrentDomains(ctx, p)
		if err != nil || fmt.Sprint(one) != fmt.Sprint(got[i]) {
			t.Errorf("%s: CurrentDomains %+v (%v), CurrentDomainsAll %+v", p.User.Email, one, err, got[i])
		}
	}
	bravoAdmin := adminOf(t, s, other, "admin@bravo.example")
	if _, err := s.CurrentDomainsAll(ctx, site.ID, []*tenants.Principal{web, bravoAdmin}); err == nil {
		t.Error("a principal of site bravo was re-read in site alpha")
	}
}

// TestWholeSitePathsCallNoDomainFunction: the system's own work and
// administrators read with bergamot.domains = '*', and the per-row
// security-domain policy must answer them without calling
// bergamot_check_readable (a SQL function with a subquery, which
// PostgreSQL cannot inline): the result processor reads and writes about
// ten check rows per result, and paid a call for each (migration 000062).
// A member confined to domains still gets the function.
func TestWholeSitePathsCallNoDomainFunction(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	owner := db.OwnerConn(t)
	// Count calls of functions PostgreSQL does not inline (new
	// connections pick the setting up).
	if _, err := owner.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{db.Name}.Sanitize()+` SET track_functions = 'all'`); err != nil {
		t.Fatal(err)
	}
	pool, err := tenants.OpenPool(ctx, db.OwnerURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := tenants.NewStore(pool)
	site := mustSignUp(t, s, "alpha", "admin@alpha.example")
	_, _, web := member(t, s, site, "wendy@alpha.example", tenants.RoleEditor)
	sys := tenants.WithSite(ctx, site.ID)
	if err := tenants.InSite(sys, pool, func(ctx context.Context, tx pgx.Tx) error {
		for i := range 50 {
			id := uuid.New()
			if _, err := tx.Exec(ctx, `INSERT INTO checks (id, site_id, kind, name, settings) VALUES ($1, $2, 'host', $3, '{"SecurityDomains": ["web"]}')`, id, site.ID, fmt.Sprint("h", i)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO check_state (check_id, site_id, output) VALUES ($1, $2, 'x')`, id, site.ID); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO domain_grants (site_id, contact, email, domain, permissions) VALUES ($1, 'wendy', 'wendy@alpha.example', 'web', '{read}')`, site.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// calls reads and rewrites the site's states as the processor does and
	// returns how often the transaction called bergamot_check_readable.
	calls := func(ctx context.Context) (n int64, rows int) {
		t.Helper()
		if err := tenants.InSite(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE check_state SET output = 'y'`); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM check_state`).Scan(&rows); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT COALESCE(sum(pg_stat_get_xact_function_calls(oid)), 0) FROM pg_proc WHERE proname = 'bergamot_check_readable'`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n, rows
	}
	if n, rows := calls(sys); rows != 50 || n != 0 {
		t.Errorf("the system read %d states calling bergamot_check_readable %d times; want 50 states and no call", rows, n)
	}
	if n, rows := calls(tenants.WithPrincipal(ctx, web)); rows != 50 || n == 0 {
		t.Errorf("a member confined to her domain read %d states calling bergamot_check_readable %d times; want 50 states through the function (track_functions not counting?)", rows, n)
	}
}

// BenchmarkSiteAccessReload: re-reading the access of a site's 1,000
// open subscriptions (ten confined members, each with 100 connections)
// when the site applies its configuration: the live hub's one
// CurrentDomainsAll against one CurrentDomains per connection, as it was.
// Other sites' live updates wait while it runs (live.Reloader).
func BenchmarkSiteAccessReload(b *testing.B) {
	db := pgtest.New(b)
	ctx := context.Background()
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(b, s, "alpha", "admin@alpha.example")
	var ps []*tenants.Principal
	for i := range 10 {
		_, _, p := member(b, s, site, fmt.Sprintf("m%d@alpha.example", i), tenants.RoleViewer)
		for range 100 {
			ps = append(ps, p)
		}
	}
	b.Run("one-per-connection", func(b *testing.B) {
		for range b.N {
			for _, p := range ps {
				if _, err := s.CurrentDomains(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("one-per-site", func(b *testing.B) {
		for range b.N {
			if _, err := s.CurrentDomainsAll(ctx, site.ID, ps); err != nil {
				b.Fatal(err)
			}
		}
	})
}
