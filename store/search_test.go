package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Searches return what testing every check in list order would, whether
// they match a few checks (looked up by id) or more than the lookup's cap
// (read in list order), page after page, and nothing of another site.
func TestListChecksSearch(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	var other *tenants.Site
	if err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		var err error
		other, err = tenants.CreateSite(ctx, tx, "othersite", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, s.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	// 2,500 hosts web-0001..web-2500 ("Web server N"), a few db hosts
	// ("Database N"), and in the other site hosts of the same names.
	for _, site := range []string{s.id.String(), other.ID.String()} {
		for _, q := range []string{
			`INSERT INTO checks (id, site_id, kind, name, summary, engine)
				SELECT gen_random_uuid(), $1, 'host', 'web-' || lpad(i::text, 4, '0'), 'Web server ' || i, 'dummy' FROM generate_series(1, 2500) i`,
			`INSERT INTO checks (id, site_id, kind, name, summary, engine)
				SELECT gen_random_uuid(), $1, 'host', 'db_' || i, 'Database ' || i, 'dummy' FROM generate_series(1, 5) i`,
			`INSERT INTO check_state (check_id, site_id, status, ok, last_state_change)
				SELECT c.id, c.site_id, CASE WHEN random() < 0.1 THEN 'CRITICAL' ELSE 'OK' END, random() >= 0.1, now() - random() * interval '1 day'
				FROM checks c WHERE c.site_id = $1`,
			`UPDATE check_state SET ok = status = 'OK' WHERE site_id = $1`,
			`ANALYZE checks`,
		} {
			var args []any
			if q != `ANALYZE checks` {
				args = []any{site}
			}
			if _, err := owner.Exec(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := func(f *store.CheckFilter, first int) ([]*store.CheckRow, int) {
		t.Helper()
		var out []*store.CheckRow
		total, after := -1, ""
		for {
			var p *store.Page
			err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
				var err error
				p, err = store.ListChecks(ctx, tx, f, first, after, after == "")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if after == "" {
				total = p.Total
			}
			out = append(out, p.Nodes...)
			if !p.HasNext {
				return out, total
			}
			after = p.EndCursor
		}
	}
	all, total := list(nil, 1000)
	if total != 2505 || len(all) != 2505 {
		t.Fatalf("site has %d checks (total %d), want 2505", len(all), total)
	}
	for _, term := range []string{"web-1", "WEB-24", "db_", "Database 3", "web", "-", "server", "_", "%", "nothing"} {
		f := &store.CheckFilter{Search: &term}
		var want []string
		for _, r := range all {
			if f.Match(r) {
				want = append(want, r.ID)
			}
		}
		got, total := list(f, 100)
		if total != len(want) || len(got) != len(want) {
			t.Fatalf("search %q: %d checks (total %d), want %d", term, len(got), total, len(want))
		}
		for i := range got {
			if got[i].ID != want[i] {
				t.Fatalf("search %q: check %d is %s, want %s", term, i, got[i].Name, want[i])
			}
		}
		// hosts(search:) finds the same hosts (every check here is one),
		// page after page by name.
		var gotIDs, names []string
		for after, more := "", true; more; {
			var hosts []*store.CheckRow
			if err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
				var err error
				hosts, more, err = store.Hosts(ctx, tx, term, 700, after)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			for _, h := range hosts {
				gotIDs, names = append(gotIDs, h.ID), append(names, h.Name)
				after = (&store.Host{CheckRow: *h}).Cursor()
			}
		}
		if !slices.IsSorted(names) {
			t.Fatalf("hosts search %q: not in name order: %v", term, names)
		}
		slices.Sort(gotIDs)
		slices.Sort(want)
		if !slices.Equal(gotIDs, want) {
			t.Fatalf("hosts search %q: %d hosts, want %d", term, len(gotIDs), len(want))
		}
	}
}
