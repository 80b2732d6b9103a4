package migrations

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// lockKey serialises migrations when several nodes start at once.
const lockKey = 0x62657267616d6f74 // "bergamot"

// Latest returns the newest migration version embedded in the binary.
func Latest() uint {
	var latest uint
	entries, _ := fs.ReadDir(FS, ".")
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(n, 10, 32)
		if err == nil && uint(v) > latest {
			latest = uint(v)
		}
	}
	return latest
}

// Up applies Bergamot's and River's migrations with the owner connection
// url, holding an advisory lock so concurrent starts are safe, then grants
// the application role what it needs on River's tables.
func Up(ctx context.Context, url string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connecting: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(lockKey)); err != nil {
		return fmt.Errorf("migrate: taking lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(lockKey)) //nolint:errcheck // released with the connection anyway

	src, err := iofs.New(FS, ".")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	drv, err := pgxmigrate.WithInstance(db, &pgxmigrate.Config{})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate: applying schema: %w", err)
	}
	v, _, _ := m.Version()
	log.InfoContext(ctx, "schema migrated", slog.Uint64("version", uint64(v)))

	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate: river: %w", err)
	}
	if len(res.Versions) > 0 {
		log.InfoContext(ctx, "river queue schema migrated", slog.Int("steps", len(res.Versions)))
	}
	if _, err := conn.Exec(ctx, grantRiver); err != nil {
		return fmt.Errorf("migrate: granting river tables: %w", err)
	}
	if _, err := conn.Exec(ctx, tuneRiver); err != nil {
		return fmt.Errorf("migrate: tuning river tables: %w", err)
	}
	if _, err := conn.Exec(ctx, dropRiverArgsIndex); err != nil {
		return fmt.Errorf("migrate: dropping river's args index: %w", err)
	}
	return nil
}

// dropRiverArgsIndex drops River's GIN index on river_job.args. Every
// check job's arguments hold values no other job has (its slot and
// deadline), and a GIN index keeps an entry for every value it ever
// indexed: vacuum empties the entries but never removes them, so the
// index grew by about 1.75 MB a minute at 252 checks a second (the
// one-hour soak, make soak), without bound, on a table of a few hundred
// live rows. River's nightly reindex, which would have rebuilt it, cannot
// run as bergamot_app (riverclient.NoReindex). Nothing needs the index:
// River itself never searches by args, and executeNow's count of a
// site's queued ad hoc jobs reads the few in-flight rows
// (TestCheckJobChurnKeepsRiverIndexesBounded).
const dropRiverArgsIndex = `DROP INDEX IF EXISTS river_job_args_index`

// tuneRiver vacuums River's job table after a fixed number of dead rows,
// unthrottled: every check inserts, updates and deletes a row there, and
// with the default settings dead rows pile up faster than autovacuum cleans
// them, so every fetch of the queue slows down the longer Bergamot runs
// (see 000010_autovacuum.up.sql for our own hot tables).
const tuneRiver = `ALTER TABLE river_job SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
	autovacuum_vacuum_cost_delay = 0, autovacuum_analyze_scale_factor = 0.05)`

// grantRiver gives the application and direct workers (bergamot_worker,
// migration 000028) River's tables, which River's own migrations create.
const grantRiver = `DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relname LIKE 'river%' AND c.relkind IN ('r', 'p', 'S', 'u')
    LOOP
        IF (SELECT relkind FROM pg_class WHERE relname = t AND relnamespace = current_schema()::regnamespace) = 'S' THEN
            EXECUTE format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE %I TO bergamot_app, bergamot_worker', t);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bergamot_app, bergamot_worker', t);
        END IF;
    END LOOP;
    GRANT SELECT ON schema_migrations TO bergamot_app;
    -- The internal engine on a direct worker counts serve and notifier
    -- nodes (migration 000039, later than the role's 000028).
    IF to_regclass('nodes') IS NOT NULL AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bergamot_worker') THEN
        GRANT SELECT ON nodes TO bergamot_worker;
    END IF;
END $$`

// Status reports the applied version and whether the schema is current.
func Status(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (version uint, current bool, err error) {
	var v int64
	var dirty bool
	if err := q.QueryRow(ctx, "SELECT version, dirty FROM schema_migrations").Scan(&v, &dirty); err != nil {
		return 0, false, fmt.Errorf("reading schema version: %w", err)
	}
	return uint(v), !dirty && uint(v) == Latest(), nil
}

// Versions lists the embedded migration versions in order.
func Versions() []uint {
	var out []uint
	entries, _ := fs.ReadDir(FS, ".")
	for _, e := range entries {
		if n, _, ok := strings.Cut(e.Name(), "_"); ok && strings.HasSuffix(e.Name(), ".up.sql") {
			if v, err := strconv.ParseUint(n, 10, 32); err == nil {
				out = append(out, uint(v))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
