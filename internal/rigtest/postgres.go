package rigtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/devdb"
)

// Postgres is a real PostgreSQL cluster of the rig's own, listening on a
// loopback TCP port (so that connection strings can name several hosts),
// ready for streaming replication. It trusts loopback connections: it is
// a test cluster and never listens elsewhere.
type Postgres struct {
	t    testing.TB
	Name string
	Dir  string // PGDATA
	Port int
	bin  string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan error
	log  string
}

// Settings every rig cluster starts with: replication-ready, a short
// autovacuum nap like devdb's, and crash-safe (fsync on: the chaos tests
// kill -9 the database).
var baseSettings = []string{"listen_addresses=127.0.0.1", "wal_level=replica", "max_wal_senders=8",
	"max_replication_slots=8", "hot_standby=on", "max_connections=300", "shared_buffers=64MB",
	"autovacuum_naptime=5s", "log_min_messages=warning", "wal_keep_size=256MB"}

// FreePort returns a loopback TCP port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tempDir is a directory the postgres OS user can reach (t.TempDir is 0700
// and root's), removed at the end of the test.
func tempDir(t testing.TB, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func pgCredential(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root needs the postgres OS user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func (p *Postgres) chown(path string) {
	if p.cred == nil {
		return
	}
	_ = filepath.Walk(path, func(q string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(q, int(p.cred.Uid), int(p.cred.Gid))
		}
		return err
	})
}

func (p *Postgres) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// StartPostgres creates a fresh cluster and starts it. extra settings
// (name=value) are added to baseSettings.
func StartPostgres(t testing.TB, name string, extra ...string) *Postgres {
	t.Helper()
	p := newPostgres(t, name)
	// Generous: at a load of 40 initdb's post-bootstrap step alone took over 2 minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if err := p.run(ctx, "initdb", "-D", p.Dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	p.writeConf(extra)
	p.Start()
	return p
}

func newPostgres(t testing.TB, name string) *Postgres {
	bin, err := devdb.FindBinaries()
	if err != nil {
		t.Fatalf("rigtest: %v (make test installs PostgreSQL)", err)
	}
	root := tempDir(t, "bergamot-rig-pg-")
	p := &Postgres{t: t, Name: name, Dir: filepath.Join(root, "data"), Port: FreePort(t), bin: bin, cred: pgCredential(t),
		log: filepath.Join(root, "postgres.log")}
	p.chown(root)
	t.Cleanup(func() { p.Kill() })
	return p
}

// writeConf appends the rig's settings and loopback trust to the cluster's
// configuration files.
func (p *Postgres) writeConf(extra []string) {
	var conf strings.Builder
	conf.WriteString("\n# rigtest\n")
	for _, s := range append(append([]string{}, baseSettings...), extra...) {
		k, v, _ := strings.Cut(s, "=")
		fmt.Fprintf(&conf, "%s = '%s'\n", k, v)
	}
	fmt.Fprintf(&conf, "port = %d\nunix_socket_directories = ''\n", p.Port)
	appendFile(p.t, filepath.Join(p.Dir, "postgresql.auto.conf"), conf.String())
	if err := os.WriteFile(filepath.Join(p.Dir, "pg_hba.conf"), []byte("host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"), 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.chown(p.Dir)
}

func appendFile(t testing.TB, path, s string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// Start starts the cluster (again) and waits until it accepts connections
// (a standby: until it accepts read-only ones).
func (p *Postgres) Start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), filepath.Join(p.bin, "postgres"), "-D", p.Dir) // Kill ends it
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = "/"
	// Pdeathsig: a test binary that dies (a -timeout panic) takes its
	// clusters with it instead of leaving them running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting postgres %s: %v", p.Name, err)
	}
	p.cmd, p.done = cmd, make(chan error, 1)
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := pgx.Connect(ctx, p.URL("postgres"))
		cancel()
		if err == nil {
			_ = c.Close(context.Background())
			return
		}
		select {
		case err := <-p.done:
			p.done <- err
			out, _ := os.ReadFile(p.log)
			p.t.Fatalf("postgres %s exited while starting (%v):\n%s", p.Name, err, out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("postgres %s did not accept connections within 3m: %v", p.Name, err)
		}
	}
}

// Kill is kill -9 of the whole cluster (postmaster and backends): a crash.
func (p *Postgres) Kill() {
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	err := <-p.done
	p.done <- err
	p.cmd = nil
}

// Restart is a crash and a start: kill -9, then PostgreSQL's crash recovery.
func (p *Postgres) Restart() {
	p.t.Helper()
	p.Kill()
	p.Start()
}

// URL is a superuser connection URL to database db on this cluster alone.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// Standby makes a streaming replica of p with pg_basebackup (-R: it
// follows p) and starts it. With sync, p waits for the standby to confirm
// every commit (synchronous_standby_names), the documented zero-loss setup.
func (p *Postgres) Standby(name string, sync bool) *Postgres {
	p.t.Helper()
	s := newPostgres(p.t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if err := s.run(ctx, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", "postgres", "-D", s.Dir,
		"-R", "-X", "stream", "--no-sync", "-d", fmt.Sprintf("application_name=%s", name)); err != nil {
		p.t.Fatal(err)
	}
	s.writeConf(nil)
	s.Start()
	if sync {
		p.Exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = '"+name+"'")
		p.Exec(ctx, "SELECT pg_reload_conf()")
	}
	// Wait until the standby streams.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		c, err := pgx.Connect(ctx, p.URL("postgres"))
		if err == nil {
			err = c.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", name).Scan(&n)
			_ = c.Close(ctx)
		}
		if err == nil && n == 1 {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("standby %s not streaming within 60s (%v)", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Promote makes a standby the primary and waits for it.
func (p *Postgres) Promote() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var ok bool
	c, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		p.t.Fatalf("promoting %s: %v", p.Name, err)
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, "SELECT pg_promote(true, 60)").Scan(&ok); err != nil || !ok {
		p.t.Fatalf("promoting %s: %v (%v)", p.Name, ok, err)
	}
}

// Exec runs one statement as the superuser on this cluster's postgres database.
func (p *Postgres) Exec(ctx context.Context, sql string) {
	p.t.Helper()
	if err := p.ExecDB(ctx, "postgres", sql); err != nil {
		p.t.Fatal(err)
	}
}

// ExecDB runs one statement as the superuser in database db.
func (p *Postgres) ExecDB(ctx context.Context, db, sql string) error {
	c, err := pgx.Connect(ctx, p.URL(db))
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// ErrNotRunning is returned by operations on a stopped cluster.
var ErrNotRunning = errors.New("rigtest: postgres is not running")
