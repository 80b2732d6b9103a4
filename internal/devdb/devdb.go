// Package devdb runs a private PostgreSQL cluster from the system's
// PostgreSQL binaries: the embedded default database behind `bergamot run`
// and the throwaway clusters of the test suite. The cluster listens on a
// Unix socket inside its own directory only, so it never collides with a
// system PostgreSQL.
//
// Other local users get nothing: the socket's directory is reachable only by
// the OS user running Bergamot and the postgres OS user (mode 0700, owned by
// whoever runs PostgreSQL), the superuser "postgres" is reached by peer
// authentication mapped from those two OS users only, and every other role
// (reporting logins) must give its password (scram-sha-256). The
// authentication files are rewritten on every start, so clusters created by
// older versions (initdb --auth=trust, a 0777 socket) are fixed too.
package devdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/hostsetup"
	"github.com/jackc/pgx/v5"
)

// Options configure a cluster.
type Options struct {
	// Dir holds the cluster: Dir/data is PGDATA, Dir/postgres.log its log,
	// and the Unix socket lives in Dir/run.
	Dir string
	// Database is created on start if missing (default "bergamot").
	Database string
	// Install allows `apt-get install postgresql` when no binaries are found
	// and we are root.
	Install bool
	// Settings are extra postgres -c settings.
	Settings map[string]string
	// Logger receives progress messages.
	Logger *slog.Logger
}

// Cluster is a running private PostgreSQL.
type Cluster struct {
	opts    Options
	cmd     *exec.Cmd
	done    chan error
	url     string
	adopted bool
}

// ErrNoPostgres is returned when no PostgreSQL binaries are found and they
// cannot be installed.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

// FindBinaries returns the directory holding initdb and postgres: the newest
// /usr/lib/postgresql/N/bin, else the PATH.
func FindBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start initialises the cluster if Dir has none, starts postgres, and
// creates the database. A cluster already running in Dir (left over from a
// crash) is adopted rather than started twice.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Database == "" {
		opts.Database = "bergamot"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("devdb: %w", err)
	}
	opts.Dir = dir
	c := &Cluster{opts: opts}
	runDir := filepath.Join(dir, "run")
	c.url = (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + opts.Database,
		RawQuery: url.Values{"host": {runDir}, "sslmode": {"disable"}}.Encode()}).String()
	if len(runDir) > 90 {
		return nil, fmt.Errorf("devdb: %s is too long for a Unix socket path; set BERGAMOT_DATA to a shorter directory", runDir)
	}

	bin, err := FindBinaries()
	if errors.Is(err, ErrNoPostgres) && opts.Install && os.Geteuid() == 0 {
		opts.Logger.InfoContext(ctx, "PostgreSQL not found; installing it with apt-get (once)")
		if ierr := hostsetup.AptInstall(ctx, "postgresql"); ierr != nil {
			return nil, fmt.Errorf("devdb: installing postgresql: %w", ierr)
		}
		bin, err = FindBinaries()
	}
	if err != nil {
		return nil, fmt.Errorf("devdb: %w; install them (Debian: apt-get install postgresql) or set DATABASE_URL", err)
	}

	cred, err := c.credential()
	if err != nil {
		return nil, err
	}
	// The cluster's directory and its parents must stay reachable by the
	// postgres OS user: create them 0755 first, so that the 0700 below
	// applies to the socket directory alone.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("devdb: %w", err)
	}
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, fmt.Errorf("devdb: %w", err)
	}
	// Only the owner (PostgreSQL's OS user) may reach the socket; root
	// passes any permission check.
	if err := os.Chmod(runDir, 0o700); err != nil {
		return nil, fmt.Errorf("devdb: %w", err)
	}
	if cred != nil {
		if err := chownTree(dir, cred); err != nil {
			return nil, err
		}
		if err := checkTraversable(dir); err != nil {
			return nil, err
		}
	}
	dataDir := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		opts.Logger.InfoContext(ctx, "creating private PostgreSQL cluster (first run)", slog.String("dir", dataDir))
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", dataDir, "-U", "postgres",
			"--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("devdb: initdb: %w\n%s", err, out)
		}
	}

	if err := writeAuth(dataDir, cred); err != nil {
		return nil, err
	}

	if c.ping(ctx, "postgres") == nil {
		opts.Logger.InfoContext(ctx, "adopting PostgreSQL already running in data directory", slog.String("dir", dataDir))
		c.adopted = true
		// It may have started with an older, trusting pg_hba.conf.
		if err := c.reloadConf(ctx); err != nil {
			return nil, err
		}
	} else if err := c.startPostgres(ctx, bin, dataDir, runDir, cred); err != nil {
		return nil, err
	}
	if err := c.createDatabase(ctx); err != nil {
		c.Stop(context.Background())
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startPostgres(ctx context.Context, bin, dataDir, runDir string, cred *syscall.Credential) error {
	args := []string{"-D", dataDir, "-k", runDir, "-c", "listen_addresses=", "-c", "unix_socket_permissions=0700",
		"-c", "max_connections=300", "-c", "shared_buffers=128MB", "-c", "fsync=on",
		"-c", "synchronous_commit=off", "-c", "log_min_messages=warning",
		// The check pipeline churns a few tables thousands of rows a second:
		// look for vacuum work every few seconds, not every minute.
		"-c", "autovacuum_naptime=5s"}
	keys := make([]string, 0, len(c.opts.Settings))
	for k := range c.opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+c.opts.Settings[k])
	}
	logf, err := os.OpenFile(filepath.Join(c.opts.Dir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	// PostgreSQL outlives ctx (which bounds only the start-up): Stop ends it, in order.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: a Ctrl-C in the terminal reaches us, and we stop
	// PostgreSQL in order, after our own connections are closed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("devdb: starting postgres: %w", err)
	}
	c.cmd = cmd
	c.done = make(chan error, 1)
	go func() { c.done <- cmd.Wait(); logf.Close() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := c.ping(ctx, "postgres"); err == nil {
			return nil
		}
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("devdb: postgres exited during start-up (%w); see %s", err, filepath.Join(c.opts.Dir, "postgres.log"))
		case <-ctx.Done():
			c.Stop(context.Background())
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop(context.Background())
			return fmt.Errorf("devdb: postgres did not accept connections within 60s; see %s", filepath.Join(c.opts.Dir, "postgres.log"))
		}
	}
}

// writeAuth writes pg_hba.conf and pg_ident.conf: the superuser only by peer
// authentication from the OS user running Bergamot (and postgres), every
// other role by password; nothing over TCP (the cluster does not listen).
func writeAuth(dataDir string, cred *syscall.Credential) error {
	me, err := user.Current()
	if err != nil {
		return fmt.Errorf("devdb: who am I: %w", err)
	}
	ident := "# Written by Bergamot on every start: OS users that may be the superuser.\n" +
		"bergamot " + me.Username + " postgres\n"
	if me.Username != "postgres" {
		ident += "bergamot postgres postgres\n"
	}
	hba := "# Written by Bergamot on every start (internal/devdb). The socket directory is\n" +
		"# mode 0700; the superuser by peer authentication, reporting logins by password.\n" +
		"local all postgres peer map=bergamot\n" +
		"local all all scram-sha-256\n"
	for name, body := range map[string]string{"pg_hba.conf": hba, "pg_ident.conf": ident} {
		p := filepath.Join(dataDir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			return fmt.Errorf("devdb: %w", err)
		}
		if cred != nil {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("devdb: %w", err)
			}
		}
	}
	return nil
}

func (c *Cluster) reloadConf(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("devdb: reloading authentication settings: %w", err)
	}
	return nil
}

func (c *Cluster) ping(ctx context.Context, db string) error {
	cfg, err := pgx.ParseConfig(c.URL(db))
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = 2 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func (c *Cluster) createDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", c.opts.Database).Scan(&exists); err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.opts.Database}.Sanitize()); err != nil {
			return fmt.Errorf("devdb: creating database %s: %w", c.opts.Database, err)
		}
	}
	return nil
}

// URL returns a connection URL for database db ("" means the cluster's own database).
func (c *Cluster) URL(db string) string {
	if db == "" {
		return c.url
	}
	u, _ := url.Parse(c.url)
	u.Path = "/" + db
	return u.String()
}

// Stop shuts PostgreSQL down cleanly (fast shutdown) and waits for it. An
// adopted cluster is left running.
func (c *Cluster) Stop(ctx context.Context) error {
	if c == nil || c.cmd == nil || c.adopted {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-c.done:
		c.done <- err
		return nil
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		return errors.New("devdb: postgres did not stop within 30s; killed")
	case <-ctx.Done():
		_ = c.cmd.Process.Kill()
		return ctx.Err()
	}
}

// credential returns the postgres OS user's credential when we are root
// (PostgreSQL refuses to run as root), nil otherwise.
func (c *Cluster) credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("devdb: running as root needs the postgres OS user (created by the postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func chownTree(dir string, cred *syscall.Credential) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("devdb: %w", err)
		}
		return nil
	})
}

// checkTraversable makes sure the postgres user can reach dir: every parent
// must be searchable by others.
func checkTraversable(dir string) error {
	p, mode, err := hostsetup.BlockedParent(dir)
	if err != nil {
		return fmt.Errorf("devdb: %w", err)
	}
	if p != "" {
		return fmt.Errorf("devdb: the postgres OS user cannot reach %s because %s is not searchable by others (mode %v); set BERGAMOT_DATA to a directory outside it, e.g. /var/lib/bergamot", dir, p, mode)
	}
	return nil
}
