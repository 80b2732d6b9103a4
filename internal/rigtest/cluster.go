// Package rigtest is the multi-node test rig: real `bin/bergamot`
// processes (serve nodes, direct and remote workers in two zones, a
// notifier) on a PostgreSQL cluster of the rig's own (with a streaming
// standby when asked), all on loopback. A test can kill -9, SIGSTOP,
// restart and cut the link of any of them, and count what happened to
// every scheduled slot (Ledger) and every alert (Alerts).
//
// The chaos suite (chaos_test.go) and the metrics tests use it; see
// docs/operations.md for what they prove.
package rigtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/migrations"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Options shape a Cluster.
type Options struct {
	// Standby adds a streaming replica made with pg_basebackup; the
	// processes then connect through a multi-host connection string
	// (host=primary,standby target_session_attrs=read-write).
	Standby bool
	// Sync makes the standby synchronous (no committed transaction is
	// lost when the primary dies).
	Sync bool
	// Env is added to every process's environment.
	Env []string
	// NoLedger leaves the ledger's triggers out (the soak: its tables
	// would grow with every result).
	NoLedger bool
	// Settings are extra PostgreSQL settings (name=value).
	Settings []string
}

// Cluster is one rig: its database and its processes.
type Cluster struct {
	T       testing.TB
	Ctx     context.Context
	Primary *Postgres
	Standby *Postgres
	// Admin is a superuser pool (through the multi-host string: after a
	// failover it reaches the new primary).
	Admin *pgxpool.Pool
	// Pool is the application role's pool, confined by row-level security.
	Pool  *pgxpool.Pool
	Sites map[string]uuid.UUID

	opts   Options
	sealer *store.Sealer
	mu     sync.Mutex
	procs  []*Proc
}

const dbName = "bergamot"

// secretKey is every process's BERGAMOT_SECRET_KEY (sealed credentials
// must open on every node).
var secretKey = base64.StdEncoding.EncodeToString(make([]byte, 32))

// New starts a rig's database, migrates it and installs the ledger.
func New(t testing.TB, o Options) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("the multi-node rig runs real processes and PostgreSQL clusters")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &Cluster{T: t, Ctx: ctx, opts: o, Sites: map[string]uuid.UUID{}}
	c.Primary = StartPostgres(t, "primary", o.Settings...)
	c.Primary.Exec(ctx, "CREATE DATABASE "+dbName)
	if o.Standby {
		c.Standby = c.Primary.Standby("standby", o.Sync)
	}
	mctx, mcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer mcancel()
	if err := migrations.Up(mctx, c.Primary.URL(dbName), nil); err != nil {
		t.Fatalf("migrating the rig's database: %v", err)
	}
	if o.NoLedger {
		// nothing to install
	} else if err := installLedger(mctx, c.Primary.URL(dbName)); err != nil {
		t.Fatalf("installing the ledger: %v", err)
	}
	var err error
	if c.Admin, err = pgxpool.New(ctx, c.DatabaseURL()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Admin.Close)
	if c.Pool, err = tenants.OpenPool(ctx, c.DatabaseURL(), 10); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Pool.Close)
	if c.sealer, err = store.NewSealer(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	return c
}

// DatabaseURL is what the processes get as DATABASE_URL: the primary, or
// with a standby both hosts and target_session_attrs=read-write.
func (c *Cluster) DatabaseURL() string {
	if c.Standby == nil {
		return c.Primary.URL(dbName)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=15",
		c.Primary.Port, c.Standby.Port, dbName)
}

// Site creates a site and applies its configuration.
func (c *Cluster) Site(name, xml string) uuid.UUID {
	c.T.Helper()
	ctx := c.Ctx
	var id uuid.UUID
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		s, err := tenants.CreateSite(ctx, tx, name, "")
		if err == nil {
			id = s.ID
		}
		return err
	})
	if err != nil {
		c.T.Fatal(err)
	}
	c.Sites[name] = id
	c.Apply(name, xml)
	return id
}

// Apply applies configuration to a site.
func (c *Cluster) Apply(site, xml string) {
	c.T.Helper()
	doc, err := config.Parse(site+".xml", strings.NewReader(xml))
	if err != nil {
		c.T.Fatal(err)
	}
	c.InSite(site, func(ctx context.Context, tx pgx.Tx) error {
		res, err := (&store.Configs{Sealer: c.sealer}).Apply(ctx, tx, doc, "rig", site+".xml", false)
		if err == nil && !res.OK {
			err = res.Errors
		}
		return err
	})
}

// InSite runs fn in a transaction of the site's (under row-level security).
func (c *Cluster) InSite(site string, fn func(ctx context.Context, tx pgx.Tx) error) {
	c.T.Helper()
	if err := tenants.InSite(tenants.WithSite(c.Ctx, c.Sites[site]), c.Pool, fn); err != nil {
		c.T.Fatal(err)
	}
}

// WorkerKey creates a key for a remote worker of site's private zone and
// returns the file holding it.
func (c *Cluster) WorkerKey(site, zone string) string {
	c.T.Helper()
	k, err := (&gateway.Store{Pool: c.Pool}).CreateKey(tenants.WithSite(c.Ctx, c.Sites[site]), zone, "rig-"+zone)
	if err != nil {
		c.T.Fatal(err)
	}
	f := filepath.Join(c.T.TempDir(), "key")
	if err := os.WriteFile(f, []byte(*k.Key+"\n"), 0o600); err != nil {
		c.T.Fatal(err)
	}
	return f
}

func (c *Cluster) env(withDB bool, extra ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DATABASE_URL=") && !strings.HasPrefix(e, "PG") && !strings.HasPrefix(e, "BERGAMOT_") {
			env = append(env, e)
		}
	}
	env = append(env, "BERGAMOT_DATA="+c.T.TempDir(), "BERGAMOT_SECRET_KEY="+secretKey,
		// The tests' plugins live in temporary directories and check
		// loopback: run them as configured (docs/exec-policy.md).
		"BERGAMOT_EXEC_POLICY=trusted", "BERGAMOT_PLUGIN_USER=-")
	if withDB {
		env = append(env, "DATABASE_URL="+c.DatabaseURL())
	}
	env = append(env, c.opts.Env...)
	return append(env, extra...)
}

func (c *Cluster) launch(name, role string, args, env []string) *Proc {
	c.T.Helper()
	p := &Proc{Name: name, Role: role, t: c.T, args: args, env: env}
	p.start()
	c.T.Cleanup(func() {
		p.Cont()
		p.Kill()
	})
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	p.Wait(4 * time.Minute) // generous: at a load of 100 a start took over 90 s
	return p
}

// Serve starts a serve node on a loopback port.
func (c *Cluster) Serve(name string, env ...string) *Proc {
	c.T.Helper()
	return c.launch(name, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--signup", "closed"},
		c.env(true, append([]string{"BERGAMOT_RESCUE_AFTER=10s", "BERGAMOT_START_WITHIN=90s"}, env...)...))
}

// Worker starts a direct worker of zone (its own PostgreSQL connections),
// with /metrics on a loopback port.
func (c *Cluster) Worker(name, zone string, env ...string) *Proc {
	c.T.Helper()
	return c.launch(name, "worker", []string{"worker", "--zone", zone, "--concurrency", "20", "--metrics-listen", "127.0.0.1:0"},
		c.env(true, append([]string{"BERGAMOT_RESCUE_AFTER=10s"}, env...)...))
}

// RemoteWorker starts a remote worker holding keyFile that dials hubs
// (ws://.../worker URLs, through Links when the test cuts them).
func (c *Cluster) RemoteWorker(name, keyFile string, hubs []string, env ...string) *Proc {
	c.T.Helper()
	return c.launch(name, "worker", []string{"worker", "--hub", strings.Join(hubs, ","), "--key-file", keyFile, "--name", name,
		"--concurrency", "20", "--metrics-listen", "127.0.0.1:0"}, c.env(false, env...))
}

// Notifier starts the notifier role.
func (c *Cluster) Notifier(name string, env ...string) *Proc {
	c.T.Helper()
	return c.launch(name, "notifier", []string{"notifier", "--metrics-listen", "127.0.0.1:0"}, c.env(true, env...))
}

// AgentManager initialises an agent manager's directory and starts
// `bergamot agent-manager serve` on loopback ports (its API and /metrics).
// It returns the process and its directory.
func (c *Cluster) AgentManager(name string, env ...string) (*Proc, string) {
	c.T.Helper()
	dir := filepath.Join(c.T.TempDir(), name)
	if out, err := exec.CommandContext(context.Background(), Binary(c.T), "agent-manager", "init", "--dir", dir, "--names", "127.0.0.1,localhost").CombinedOutput(); err != nil {
		c.T.Fatalf("agent-manager init: %v\n%s", err, out)
	}
	return c.launch(name, "agent-manager", []string{"agent-manager", "serve", "--dir", dir, "--listen", "127.0.0.1:0",
		"--metrics-listen", "127.0.0.1:0"}, c.env(false, env...)), dir
}

// HubURL is a serve node's gateway URL, optionally through a link.
func HubURL(addr string) string { return "ws://" + addr + "/worker" }

// WaitFor polls cond every 200 ms until it holds, failing after within.
func (c *Cluster) WaitFor(what string, within time.Duration, cond func() bool) {
	c.T.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			c.T.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
