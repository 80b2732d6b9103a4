package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// workerReadable are the tenant tables a direct worker reads, under the
// site its job names: what checks to run and with which credentials
// (sealed) and trusted SSH host keys, and the site's connected remote
// workers (the internal engine counts a zone's workers).
var workerReadable = []string{"checks", "credentials", "ssh_host_keys", "worker_connections"}

// TestWorkerRoleSeesOnlyWhatAWorkerNeeds: a direct worker's connections
// (tenants.OpenWorkerPool, role bergamot_worker) cannot read users,
// sessions, tokens, worker keys or any other tenant table but the three it
// needs; those three show only the rows of the site the transaction is set
// to (none without one); and what a worker writes (presence, hand-back,
// River) it may write. Two sites, each seeded with a row in every table.
func TestWorkerRoleSeesOnlyWhatAWorkerNeeds(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	st := tenants.NewStore(db.Pool)
	a := mustSignUp(t, st, "alpha", "a@example.com")
	b := mustSignUp(t, st, "bravo", "b@example.com")
	seed(t, ctx, db.Pool, a.ID)
	seed(t, ctx, db.Pool, b.ID)
	conn, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tables := tenantTables(t, ctx, conn)

	wp, err := tenants.OpenWorkerPool(ctx, db.OwnerURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer wp.Close()
	var role string
	if err := wp.QueryRow(ctx, `SELECT current_user`).Scan(&role); err != nil || role != tenants.WorkerRole {
		t.Fatalf("worker pool runs as %q (%v), want %s", role, err, tenants.WorkerRole)
	}
	denied := func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "42501"
	}
	inA := func(fn func(ctx context.Context, tx pgx.Tx) error) error {
		return tenants.InSite(tenants.WithSite(ctx, a.ID), wp, fn)
	}

	for _, tbl := range append(tables, "users", "memberships", "sites", "shared_zone_keys", "result_inbox", "check_schedule", "sql_roles") {
		err := inA(func(ctx context.Context, tx pgx.Tx) error {
			q := fmt.Sprintf(`SELECT count(*) FROM %s`, tbl)
			if slices.Contains(workerReadable, tbl) {
				q = fmt.Sprintf(`SELECT count(*) FILTER (WHERE site_id = '%s'), count(*) FILTER (WHERE site_id <> '%s') FROM %s`, a.ID, a.ID, tbl)
				var mine, theirs int
				if err := tx.QueryRow(ctx, q).Scan(&mine, &theirs); err != nil {
					return err
				}
				if mine == 0 || theirs != 0 {
					t.Errorf("%s under site A: %d own rows, %d of another site; want some and none", tbl, mine, theirs)
				}
				return nil
			}
			if tbl == "sites" {
				q = `SELECT name FROM sites` // trap ingest may list ids and whether disabled
			}
			if _, err := tx.Exec(ctx, "SAVEPOINT s"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, q); !denied(err) {
				t.Errorf("the worker role reads %s: %v, want permission denied", tbl, err)
			}
			_, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s")
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
	}
	// Without a site, not even those.
	for _, tbl := range workerReadable {
		var n int
		if err := wp.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, tbl)).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s without a site: %d rows (%v), want none", tbl, n, err)
		}
	}
	// It cannot write definitions or credentials, even of its site.
	err = inA(func(ctx context.Context, tx pgx.Tx) error {
		for _, q := range []string{`UPDATE checks SET enabled = false`, `DELETE FROM credentials`, `UPDATE sites SET disabled = true`} {
			if _, err := tx.Exec(ctx, "SAVEPOINT s"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, q); !denied(err) {
				t.Errorf("%s: %v, want permission denied", q, err)
			}
			if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// What it does write.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO workers (id, name, zone, engines, address) VALUES ($1, 'w', 'dc9', '{dummy}', coalesce(host(inet_client_addr()), 'local socket'))`, []any{uuid.New()}},
		{`UPDATE workers SET last_seen = now(), in_flight = 1 WHERE name = 'w'`, nil},
		{`INSERT INTO shared_zones (name) VALUES ('dc9') ON CONFLICT DO NOTHING`, nil},
		{`INSERT INTO result_inbox (site_id, check_id, result) VALUES ($1, $2, '{}')`, []any{a.ID, uuid.New()}},
		{`SELECT count(*) FROM river_job`, nil},
		{`SELECT count(*) FROM nodes`, nil},
		{`SELECT pg_notify('bergamot_results', '')`, nil},
	} {
		if _, err := wp.Exec(ctx, q.sql, q.args...); err != nil {
			t.Errorf("%s: %v", q.sql, err)
		}
	}
	if err := inA(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO ssh_host_keys (site_id, host, key_type, key, fingerprint) VALUES ($1, 'new:22', 'ssh-ed25519', '\x01', 'SHA256:y')`, a.ID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SAVEPOINT s"); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO ssh_host_keys (site_id, host, key_type, key, fingerprint) VALUES ($1, 'other:22', 'ssh-ed25519', '\x01', 'SHA256:z')`, b.ID)
		if err == nil {
			t.Error("the worker role, set to site A, recorded a host key for site B")
		}
		_, err = tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
