package tenants_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// siteRows counts site's rows in every table with a site_id column (tenant
// and system tables alike), read under the site's own setting.
func siteRows(t *testing.T, db *pgtest.DB, site uuid.UUID) map[string]int {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Pool.Query(ctx, `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'site_id' AND NOT a.attisdropped
		WHERE n.nspname = 'public' AND c.relkind IN ('r','p') AND NOT c.relispartition ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	err = tenants.InSite(tenants.WithSite(ctx, site), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		for _, tbl := range tables {
			var n int
			if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE site_id = $1`, tbl), site).Scan(&n); err != nil {
				return fmt.Errorf("%s: %w", tbl, err)
			}
			out[tbl] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Deleting a site removes every row of it from every table with a site_id
// (counted table by table) and leaves the other site's rows alone.
func TestDeleteSiteRemovesEveryRow(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	s := tenants.NewStore(db.Pool)
	keep := mustSignUp(t, s, "alpha", "a@example.com")
	gone := mustSignUp(t, s, "bravo", "b@example.com")
	for _, site := range []*tenants.Site{keep, gone} {
		seed(t, ctx, db.Pool, site.ID)
		if _, err := db.Pool.Exec(ctx, `INSERT INTO check_schedule (check_id, site_id, next_run, interval_ms) VALUES ($1, $2, now(), 60000)`, uuid.New(), site.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO result_inbox (site_id, check_id, result) VALUES ($1, $2, '{}')`, site.ID, uuid.New()); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO site_limits (site_id, name, value) VALUES ($1, 'query-cost', 100)`, site.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO user_links (token_hash, purpose, user_id, site_id, expires_at)
			SELECT gen_random_uuid()::text::bytea, 'invite', user_id, site_id, now() + interval '1 day' FROM memberships WHERE site_id = $1 LIMIT 1`, site.ID); err != nil {
			t.Fatal(err)
		}
	}
	before := siteRows(t, db, gone.ID)
	keptBefore := siteRows(t, db, keep.ID)
	for tbl, n := range before {
		// user_links is read only by its token's hash, never under a site's
		// setting, so the site's count cannot see it; it goes with the site
		// by its foreign key's ON DELETE CASCADE.
		if n == 0 && tbl != "sql_roles" && tbl != "user_links" {
			t.Errorf("seed left %s empty for the site: the count would prove nothing", tbl)
		}
	}
	if err := s.DeleteSite(ctx, "bravo", "alpha", store.SiteRows{}); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "--confirm bravo") {
		t.Fatalf("delete without confirmation: %v", err)
	}
	if err := s.DeleteSite(ctx, "bravo", "bravo", store.SiteRows{}); err != nil {
		t.Fatal(err)
	}
	for tbl, n := range siteRows(t, db, gone.ID) {
		if n != 0 {
			t.Errorf("%s still holds %d rows of the deleted site", tbl, n)
		}
	}
	for tbl, n := range siteRows(t, db, keep.ID) {
		if n != keptBefore[tbl] {
			t.Errorf("%s: the other site's rows went from %d to %d", tbl, keptBefore[tbl], n)
		}
	}
	if _, err := s.SiteByName(ctx, "bravo"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("deleted site still found: %v", err)
	}
	t.Logf("deleted rows from %d tables", len(before))
}

// Disabling a site refuses its credentials and sign-ins at once, pauses its
// checks and is recorded in its audit log; enabling restores them.
func TestDisableSite(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	s := tenants.NewStore(db.Pool)
	site := mustSignUp(t, s, "alpha", "a@example.com")
	sess, p, err := s.Login(ctx, "alpha", "a@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSiteDisabled(ctx, "alpha", true, store.SiteRows{}); err != nil {
		t.Fatal(err)
	}
	if works(t, s, sess) {
		t.Fatal("a disabled site's session still works")
	}
	if ok, _ := s.StillValid(ctx, p); ok {
		t.Fatal("StillValid for a disabled site")
	}
	if _, _, err := s.Login(ctx, "alpha", "a@example.com", pw); err == nil {
		t.Fatal("signing in to a disabled site")
	}
	sums, err := s.SiteSummaries(ctx)
	if err != nil || len(sums) != 1 || !sums[0].Disabled || sums[0].Members != 1 {
		t.Fatalf("summaries: %v %+v", err, sums)
	}
	if _, err := s.SetSiteDisabled(ctx, "alpha", false, store.SiteRows{}); err != nil {
		t.Fatal(err)
	}
	if !works(t, s, sess) {
		t.Fatal("re-enabled site's session refused")
	}
	page, err := s.AuditLog(tenants.WithSite(ctx, site.ID), 10, "")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range page.Entries {
		if e.Via == tenants.ViaOperator {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "operator:site enable,operator:site disable" {
		t.Fatalf("operator entries: %v", actions)
	}
}

// With invite-only signup a site needs an unused, unexpired invitation
// code, for the invited email when it names one; a refused signup creates
// nothing.
func TestInviteOnlySignup(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	s := tenants.NewStore(db.Pool)
	in := tenants.SignUpInput{SiteName: "alpha", Email: "a@example.com", Password: pw, RequireInvite: true}
	if _, _, err := s.SignUp(ctx, in, nil); !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "by invitation") {
		t.Fatalf("no code: %v", err)
	}
	code, _, err := s.CreateSignupInvite(ctx, "a@example.com", "trial", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wrong := in
	wrong.Email, wrong.Invite = "x@example.com", code
	if _, _, err := s.SignUp(ctx, wrong, nil); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("another email's code: %v", err)
	}
	if n := countSites(t, db); n != 0 {
		t.Fatalf("a refused signup left %d sites", n)
	}
	in.Invite = code
	if _, _, err := s.SignUp(ctx, in, nil); err != nil {
		t.Fatal(err)
	}
	again := in
	again.SiteName = "bravo"
	if _, _, err := s.SignUp(ctx, again, nil); !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("a used code: %v", err)
	}
	if _, _, err := s.CreateSignupInvite(ctx, "", "", 365*24*time.Hour); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a year-long invitation: %v", err)
	}
}

// Deleting a site removes its pending River jobs (checks name the site as
// site_id, notifications as site), the jobs and queues of its private
// zones, and leaves the other site's alone; disabling pauses its schedule
// (through store.SiteRows, the schedule's owner).
func TestDeleteSiteRemovesItsJobs(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	s := tenants.NewStore(db.Pool)
	keep := mustSignUp(t, s, "alpha", "a@example.com")
	gone := mustSignUp(t, s, "bravo", "b@example.com")
	count := func(site *tenants.Site) (jobs, queues int) {
		t.Helper()
		prefix := store.SiteQueuePrefix(site.ID)
		if err := db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM river_job WHERE args ->> 'site_id' = $1 OR args ->> 'site' = $1 OR queue LIKE $2 || '%'),
			(SELECT count(*) FROM river_queue WHERE name LIKE $2 || '%')`, site.ID.String(), prefix).Scan(&jobs, &queues); err != nil {
			t.Fatal(err)
		}
		return jobs, queues
	}
	for _, site := range []*tenants.Site{keep, gone} {
		private := store.SiteQueuePrefix(site.ID) + "lab"
		for _, j := range []struct{ kind, queue, args, state string }{
			{"check", "zone_default", `{"site_id": "` + site.ID.String() + `"}`, "available"},
			{"check", private, `{"site_id": "` + site.ID.String() + `"}`, "scheduled"},
			{"notify", "notify", `{"site": "` + site.ID.String() + `"}`, "retryable"},
			{"digest", private, `{}`, "available"},
		} {
			if _, err := db.Pool.Exec(ctx, `INSERT INTO river_job (kind, queue, args, state, max_attempts, scheduled_at) VALUES ($1, $2, $3, $4, 3, now())`,
				j.kind, j.queue, j.args, j.state); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO river_queue (name, created_at, metadata, updated_at) VALUES ($1, now(), '{}', now())`, private); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO check_schedule (check_id, site_id, next_run, interval_ms) VALUES ($1, $2, now(), 60000)`, uuid.New(), site.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SetSiteDisabled(ctx, "bravo", true, store.SiteRows{}); err != nil {
		t.Fatal(err)
	}
	var paused, running int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE paused AND site_id = $1), count(*) FILTER (WHERE NOT paused AND site_id = $2) FROM check_schedule`,
		gone.ID, keep.ID).Scan(&paused, &running); err != nil {
		t.Fatal(err)
	}
	if paused != 1 || running != 1 {
		t.Errorf("after disabling bravo: %d of its checks paused, %d of alpha's running; want 1 and 1", paused, running)
	}
	if jobs, queues := count(gone); jobs != 4 || queues != 1 {
		t.Fatalf("seeded %d jobs and %d queues for bravo, want 4 and 1", jobs, queues)
	}
	if err := s.DeleteSite(ctx, "bravo", "bravo", store.SiteRows{}); err != nil {
		t.Fatal(err)
	}
	if jobs, queues := count(gone); jobs != 0 || queues != 0 {
		t.Errorf("the deleted site still has %d River jobs and %d private queues", jobs, queues)
	}
	if jobs, queues := count(keep); jobs != 4 || queues != 1 {
		t.Errorf("the other site has %d River jobs and %d private queues left, want 4 and 1", jobs, queues)
	}
}
