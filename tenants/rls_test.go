package tenants_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// systemTables have a site_id but are not tenant data: they are queues that
// the scheduler and result processor read across sites. The application
// reaches tenant rows from them only through tenants.InSite.
var systemTables = map[string]string{
	"check_schedule": "scheduler claims due checks of every site in one query",
	"result_inbox":   "workers hand results to any serve node for batch processing",
	"sql_roles":      "maps reporting logins to their site; read only through reporting_site()",
	"site_limits":    "the operator's per-site limits, read by the scheduler across sites; no site writes them",
	"user_links":     "emailed single-use links are found by their token's hash before any site is known; a reset belongs to a person, not a site (tenants/links.go only)",
}

func tenantTables(t *testing.T, ctx context.Context, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'site_id' AND NOT a.attisdropped
		WHERE n.nspname = 'public' AND c.relkind IN ('r','p') AND NOT c.relispartition ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if _, sys := systemTables[n]; !sys {
			out = append(out, n)
		}
	}
	return out
}

// TestEveryTenantTableHasForcedRLS fails when a table with site_id lacks
// enabled and forced row-level security and a policy for the application role.
func TestEveryTenantTableHasForcedRLS(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tables := tenantTables(t, ctx, conn)
	if len(tables) < 15 {
		t.Fatalf("found only %d tenant tables: %v", len(tables), tables)
	}
	for _, tbl := range tables {
		var enabled, forced bool
		var policies int
		err := conn.QueryRow(ctx, `SELECT c.relrowsecurity, c.relforcerowsecurity,
			(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND 'bergamot_app'::regrole = ANY (p.polroles))
			FROM pg_class c WHERE c.relname = $1 AND c.relnamespace = 'public'::regnamespace`, tbl).Scan(&enabled, &forced, &policies)
		if err != nil {
			t.Fatal(err)
		}
		if !enabled || !forced || policies == 0 {
			t.Errorf("table %s: RLS enabled=%v forced=%v policies for bergamot_app=%d; every tenant table needs all three", tbl, enabled, forced, policies)
		}
	}
	var bypass, super bool
	if err := conn.QueryRow(ctx, `SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = 'bergamot_app'`).Scan(&bypass, &super); err != nil {
		t.Fatal(err)
	}
	if bypass || super {
		t.Fatal("bergamot_app must not bypass RLS")
	}
	var owned int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relowner = 'bergamot_app'::regrole`).Scan(&owned); err != nil {
		t.Fatal(err)
	}
	if owned != 0 {
		t.Fatalf("bergamot_app owns %d relations; it must own nothing", owned)
	}
}

// TestTwoSiteIsolation inserts a row for site B into every tenant table (as
// the owner, bypassing nothing but with the site set) and checks that a
// transaction for site A cannot read, update, delete or insert B's rows, and
// one without a site sees nothing.
func TestTwoSiteIsolation(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	store := tenants.NewStore(db.Pool)
	siteA := mustSignUp(t, store, "alpha", "a@example.com")
	siteB := mustSignUp(t, store, "bravo", "b@example.com")

	conn, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tables := tenantTables(t, ctx, conn)

	// Seed one row per table for each site, as the app role inside each site.
	seed(t, ctx, db.Pool, siteA.ID)
	seed(t, ctx, db.Pool, siteB.ID)

	for _, tbl := range tables {
		t.Run(tbl, func(t *testing.T) {
			// Site A sees only its own rows.
			err := tenants.InSite(tenants.WithSite(ctx, siteA.ID), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
				var mine, theirs int
				if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FILTER (WHERE site_id = $1), count(*) FILTER (WHERE site_id <> $1) FROM %s`, tbl), siteA.ID).Scan(&mine, &theirs); err != nil {
					return err
				}
				if mine == 0 {
					t.Errorf("site A cannot see its own %s rows (seed missing?)", tbl)
				}
				if theirs != 0 {
					t.Errorf("site A sees %d rows of other sites in %s", theirs, tbl)
				}
				if appendOnly[tbl] {
					return refusesChanges(t, ctx, tx, tbl)
				}
				tag, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET site_id = site_id WHERE site_id = $1`, tbl), siteB.ID)
				if err != nil {
					return err
				}
				if tag.RowsAffected() != 0 {
					t.Errorf("site A updated %d of B's %s rows", tag.RowsAffected(), tbl)
				}
				tag, err = tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE site_id = $1`, tbl), siteB.ID)
				if err != nil {
					return err
				}
				if tag.RowsAffected() != 0 {
					t.Errorf("site A deleted %d of B's %s rows", tag.RowsAffected(), tbl)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Inserting a row for B while set to A is refused by the policy.
			err = tenants.InSite(tenants.WithSite(ctx, siteA.ID), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SAVEPOINT s"); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET site_id = $1`, tbl), siteB.ID)
				if appendOnly[tbl] && err != nil && strings.Contains(err.Error(), "permission denied") {
					// It cannot update at all; inserting for B is tested instead.
					if _, ierr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s"); ierr != nil {
						return ierr
					}
					_, err = tx.Exec(ctx, `INSERT INTO audit_log (site_id, action, outcome) VALUES ($1, 'x', 'ok')`, siteB.ID)
				}
				if err == nil || !strings.Contains(err.Error(), "row-level security") {
					t.Errorf("moving A's %s rows to B: want a row-level security violation, got %v", tbl, err)
				}
				_, err = tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			// No site: nothing visible.
			var n int
			if err := db.Pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, tbl)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("a transaction without a site sees %d rows of %s", n, tbl)
			}
		})
	}
}

// appendOnly tables may be read and added to by the application, never
// changed: the audit log.
var appendOnly = map[string]bool{"audit_log": true}

// refusesChanges checks that the application role can neither update nor
// delete any row of tbl, its own site's included.
func refusesChanges(t *testing.T, ctx context.Context, tx pgx.Tx, tbl string) error {
	t.Helper()
	for _, q := range []string{`UPDATE %s SET site_id = site_id`, `DELETE FROM %s`, `TRUNCATE %s`} {
		if _, err := tx.Exec(ctx, "SAVEPOINT r"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf(q, tbl))
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s on the append-only %s: want permission denied, got %v", fmt.Sprintf(q, tbl), tbl, err)
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT r"); err != nil {
			return err
		}
	}
	return nil
}

func mustSignUp(t testing.TB, s *tenants.Store, name, email string) *tenants.Site {
	t.Helper()
	site, _, err := s.SignUp(context.Background(), tenants.SignUpInput{SiteName: name, Email: email, Password: "Correct-horse-9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return site
}

// seed writes one row into every tenant table for site.
func seed(t *testing.T, ctx context.Context, pool tenants.Beginner, site uuid.UUID) {
	t.Helper()
	err := tenants.InSite(tenants.WithSite(ctx, site), pool, func(ctx context.Context, tx pgx.Tx) error {
		host, svc, alert, wkey, mexp, page, incident := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
		var user uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT user_id FROM memberships LIMIT 1`).Scan(&user); err != nil {
			return err
		}
		stmts := []string{
			`INSERT INTO api_tokens (id, site_id, user_id, name, token_hash) VALUES (gen_random_uuid(), $1, '` + user.String() + `', 't', gen_random_uuid()::text::bytea)`,
			`INSERT INTO sessions (id, site_id, user_id, token_hash, expires_at) VALUES (gen_random_uuid(), $1, '` + user.String() + `', gen_random_uuid()::text::bytea, now() + interval '1 day')`,
			`INSERT INTO config_objects (site_id, kind, name, source) VALUES ($1, 'host', 'h', '<host name="h"/>')`,
			`INSERT INTO config_revisions (site_id, author) VALUES ($1, 'test')`,
			`INSERT INTO commands (id, site_id, name, engine) VALUES (gen_random_uuid(), $1, 'c', 'dummy')`,
			`INSERT INTO time_periods (id, site_id, name) VALUES (gen_random_uuid(), $1, 'tp')`,
			`INSERT INTO teams (id, site_id, name) VALUES (gen_random_uuid(), $1, 'team')`,
			`INSERT INTO contacts (id, site_id, name) VALUES (gen_random_uuid(), $1, 'contact')`,
			`INSERT INTO groups (id, site_id, name) VALUES (gen_random_uuid(), $1, 'g')`,
			`INSERT INTO locations (id, site_id, name) VALUES (gen_random_uuid(), $1, 'l')`,
			`INSERT INTO credentials (id, site_id, name, sealed) VALUES (gen_random_uuid(), $1, 'cred', '\x00')`,
			`INSERT INTO checks (id, site_id, kind, name) VALUES ('` + host.String() + `', $1, 'host', 'h')`,
			`INSERT INTO checks (id, site_id, kind, name, parent_id) VALUES ('` + svc.String() + `', $1, 'service', 's', '` + host.String() + `')`,
			`INSERT INTO check_state (check_id, site_id) VALUES ('` + host.String() + `', $1)`,
			`INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt) VALUES ($1, '` + host.String() + `', now(), 'OK', 'PENDING', true, true, 1)`,
			`INSERT INTO alerts (id, site_id, check_id, status, opened_at, updated_at) VALUES ('` + alert.String() + `', $1, '` + svc.String() + `', 'CRITICAL', now(), now())`,
			`INSERT INTO comments (id, site_id, check_id, alert_id, author, body) VALUES (gen_random_uuid(), $1, '` + svc.String() + `', '` + alert.String() + `', 'a', 'b')`,
			`INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, comment, author) VALUES (gen_random_uuid(), $1, '` + svc.String() + `', now(), now() + interval '1 hour', 'c', 'a')`,
			`INSERT INTO metrics (site_id, check_id, label, at, value) VALUES ($1, '` + svc.String() + `', 'load1', now(), 0.5)`,
			`INSERT INTO notification_log (site_id, kind, recipient, channel, idempotency, result) VALUES ($1, 'alert', 'x', 'email', 'k', 'sent')`,
			`INSERT INTO notification_deliveries (site_id, idempotency, kind, recipient, channel, payload) VALUES ($1, 'k', 'alert', 'x', 'email', '{}')`,
			`INSERT INTO notification_rates (site_id, recipient, channel, bucket) VALUES ($1, 'x', 'email', 1)`,
			`INSERT INTO ack_tokens_used (site_id, token_hash, alert_id) VALUES ($1, '\x01', '` + alert.String() + `')`,
			`INSERT INTO downtime_outbox (site_id, check_id, started, at, previous, state) VALUES ($1, '` + svc.String() + `', true, now(), '{}', '{}')`,
			`INSERT INTO worker_keys (id, site_id, zone, name, key_hash) VALUES ('` + wkey.String() + `', $1, 'edge', 'k', gen_random_uuid()::text::bytea)`,
			`INSERT INTO worker_connections (id, site_id, key_id, zone, name) VALUES (gen_random_uuid(), $1, '` + wkey.String() + `', 'edge', 'w')`,
			`INSERT INTO passive_freshness (check_id, site_id, silent_since, fired_at) VALUES ('` + svc.String() + `', $1, now(), now())`,
			`INSERT INTO result_quarantine (site_id, check_id, result, error, received_at) VALUES ($1, '` + svc.String() + `', '{}', 'e', now())`,
			`INSERT INTO metrics_5m (site_id, check_id, label, at, min, max, sum, count, last, last_at) VALUES ($1, '` + svc.String() + `', 'load1', now(), 1, 1, 1, 1, 1, now())`,
			`INSERT INTO metrics_1h (site_id, check_id, label, at, min, max, sum, count, last, last_at) VALUES ($1, '` + svc.String() + `', 'load1', now(), 1, 1, 1, 1, 1, now())`,
			`INSERT INTO retention_settings (site_id, raw_days) VALUES ($1, 7)`,
			`INSERT INTO rollup_progress (site_id, resolution, done_until) VALUES ($1, '5m', now())`,
			`INSERT INTO monitoring_gaps (site_id, check_id, from_at, to_at) VALUES ($1, '` + svc.String() + `', now() - interval '1 hour', now())`,
			`INSERT INTO slas (id, site_id, name, group_name, target, period, downtime, blind) VALUES (gen_random_uuid(), $1, 'sla', 'web', 99.9, '30d', 'excluded', 'excluded')`,
			`INSERT INTO metric_exports (id, site_id, name, protocol, url, batch_points, buffer_points) VALUES ('` + mexp.String() + `', $1, 'prom', 'otlp', 'http://example.com/', 10, 100)`,
			`INSERT INTO metric_export_queue (site_id, export_id, check_id, label, at, value) VALUES ($1, '` + mexp.String() + `', '` + svc.String() + `', 'load1', now(), 0.5)`,
			`INSERT INTO result_counts (site_id, lane, processed) VALUES ($1, 3, 7)`,
			`INSERT INTO downtime_occurrences (site_id, check_id, downtime_id, from_at, to_at) VALUES ($1, '` + svc.String() + `', gen_random_uuid(), now() - interval '1 hour', now())`,
			`INSERT INTO status_pages (id, site_id, slug, title) VALUES ('` + page.String() + `', $1, 'public', 'Status')`,
			`INSERT INTO status_components (id, site_id, page_id, name, check_id) VALUES (gen_random_uuid(), $1, '` + page.String() + `', 'Web', '` + svc.String() + `')`,
			`INSERT INTO status_incidents (id, site_id, page_id, kind, title, impact, state) VALUES ('` + incident.String() + `', $1, '` + page.String() + `', 'incident', 'Down', 'major', 'investigating')`,
			`INSERT INTO status_incident_updates (id, site_id, incident_id, state, body) VALUES (gen_random_uuid(), $1, '` + incident.String() + `', 'investigating', 'Looking')`,
			`INSERT INTO domain_grants (site_id, contact, email, domain, permissions) VALUES ($1, 'contact', 'c@example.com', 'web', '{read}')`,
			`INSERT INTO ssh_host_keys (site_id, host, key_type, key, fingerprint) VALUES ($1, 'h:22', 'ssh-ed25519', '\x01', 'SHA256:x')`,
			`INSERT INTO audit_log (site_id, action, outcome) VALUES ($1, 'signIn', 'ok')`,
			`INSERT INTO agent_connections (id, site_id, agent_id, node) VALUES (gen_random_uuid(), $1, 'h', 'n1')`,
			`INSERT INTO agent_enrolments (id, site_id, host, token_hash, expires_at) VALUES (gen_random_uuid(), $1, 'h', gen_random_uuid()::text::bytea, now() + interval '1 hour')`,
			`INSERT INTO agent_certificates (serial, site_id, agent_id, not_after) VALUES ('ab', $1, 'h', now() + interval '1 day')`,
			`INSERT INTO second_factors (id, site_id, user_id, kind, name, confirmed, sealed_secret) VALUES (gen_random_uuid(), $1, '` + user.String() + `', 'totp', 'app', true, '\x00')`,
			`INSERT INTO recovery_codes (site_id, user_id, code_hash) VALUES ($1, '` + user.String() + `', gen_random_uuid()::text::bytea)`,
			`INSERT INTO second_factor_challenges (id, site_id, user_id, purpose, token_hash, expires_at) VALUES (gen_random_uuid(), $1, '` + user.String() + `', 'signin', gen_random_uuid()::text::bytea, now() + interval '5 minutes')`,
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s, site); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
