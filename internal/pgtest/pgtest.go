// Package pgtest gives tests a real, migrated PostgreSQL database of their
// own. One private cluster serves the whole test binary (or the cluster
// TEST_DATABASE_URL points at, with an owner/superuser role); every
// migration is applied once into a template database, and each test gets a
// fresh clone of it (CREATE DATABASE ... TEMPLATE), dropped when it ends.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/internal/devdb"
	"github.com/bergamot-monitoring/bergamot/migrations"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

var (
	mu       sync.Mutex
	adminURL string // owner connection to the cluster's maintenance database
	template string
	counter  atomic.Int64
	cluster  *devdb.Cluster
	setupErr error
)

// Main starts the cluster if needed, runs the tests and stops it.
func Main(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		_ = cluster.Stop(context.Background())
		_ = os.RemoveAll(clusterDir)
	}
	os.Exit(code)
}

var clusterDir string

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		adminURL = u
	} else {
		dir, err := os.MkdirTemp("", "bergamot-pgtest-")
		if err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
		clusterDir = dir
		cluster, err = devdb.Start(ctx, devdb.Options{Dir: dir, Database: "postgres", Install: true,
			Settings: map[string]string{"fsync": "off", "full_page_writes": "off"}})
		if err != nil {
			return err
		}
		adminURL = cluster.URL("postgres")
	}
	template = fmt.Sprintf("bergamot_tpl_%d_%d", os.Getpid(), time.Now().UnixNano()%100000)
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("pgtest: connecting to %s: %w", redact(adminURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+template); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := migrations.Up(ctx, withDB(adminURL, template), nil); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

func withDB(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + db
	return p.String()
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return p.Redacted()
}

// DB is one test's database.
type DB struct {
	// OwnerURL connects as the owner (migrations, superuser checks).
	OwnerURL string
	// Pool connects as the application role, confined by row-level security.
	Pool *pgxpool.Pool
	Name string
}

// New returns a fresh migrated database for t, dropped at the end of the test.
func New(t testing.TB) *DB {
	t.Helper()
	mu.Lock()
	if adminURL == "" && setupErr == nil {
		setupErr = setup()
	}
	err := setupErr
	mu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: no test database: %v (make test installs PostgreSQL)", err)
	}
	ctx := context.Background()
	name := fmt.Sprintf("%s_t%d", template, counter.Add(1))
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("pgtest: cloning template: %v", err)
	}
	db := &DB{OwnerURL: withDB(adminURL, name), Name: name}
	db.Pool, err = tenants.OpenPool(ctx, db.OwnerURL, 10)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		db.Pool.Close()
		c, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return db
}

// OwnerConn returns a connection as the database's owner (what
// migrations run as: no row-level security applies to it), closed at the
// end of the test.
func (db *DB) OwnerConn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db.OwnerURL)
	if err != nil {
		t.Fatalf("pgtest: connecting as the owner: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// ReportingConn creates a reporting login for site (tenants.CreateSQLRole,
// what `bergamot site sql-role` hands a site) and returns a connection made
// with it, closed at the end of the test: the view of the database a
// site's own SQL client gets.
func (db *DB) ReportingConn(t testing.TB, site *tenants.Site) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	role, err := tenants.CreateSQLRole(ctx, db.OwnerConn(t), site)
	if err != nil {
		t.Fatalf("pgtest: creating a reporting login: %v", err)
	}
	cfg, err := pgx.ParseConfig(db.OwnerURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.User, cfg.Password = role.Name, role.Password
	rc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgtest: connecting as the reporting login: %v", err)
	}
	t.Cleanup(func() { rc.Close(context.Background()) })
	return rc
}
