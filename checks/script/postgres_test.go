package script

import (
	"context"
	"fmt"
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

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// startPostgres starts a private PostgreSQL cluster on a loopback port, as
// the postgres OS user, with password auth for user postgres.
func startPostgres(t *testing.T, password string) int {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "postgres")); err != nil {
		t.Skipf("PostgreSQL 15 binaries not installed: %v", err)
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("no postgres OS user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	dir, err := os.MkdirTemp("", "bergamot-script-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chown(pw, uid, gid)
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(pgBin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pw, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = cred
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := testnet.FreePort(t)
	pg := exec.Command(filepath.Join(pgBin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "shared_buffers=16MB")
	pg.SysProcAttr = cred
	logf, _ := os.Create(filepath.Join(dir, "log"))
	pg.Stdout, pg.Stderr = logf, logf
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pg.Process.Signal(syscall.SIGINT) // fast shutdown
		_ = pg.Wait()
		logf.Close()
	})
	url := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", password, port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(context.Background(), url)
		if err == nil {
			conn.Close(context.Background())
			return port
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("postgres did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPostgreSQLTemplates(t *testing.T) {
	const password = "s3cret'pw"
	port := startPostgres(t, password)
	e := New(Options{})
	cmds := loadCommands(t, "postgresql/postgresql_overview_commands.xml")
	for k, v := range loadCommands(t, "postgresql/postgresql_bgwriter_commands.xml") {
		cmds[k] = v
	}
	for k, v := range loadCommands(t, "postgresql/postgresql_activity_commands.xml") {
		cmds[k] = v
	}
	conn := map[string]string{"host": "127.0.0.1", "port": strconv.Itoa(port), "database": "postgres", "username": "postgres", "password": password}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range conn {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	t.Run("up", func(t *testing.T) {
		res := execute(t, e, request(cmds["postgresql-up"], conn))
		if res.Status != checks.StatusOK || res.Output != "PostgreSQL Up" {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("version", func(t *testing.T) {
		res := execute(t, e, request(cmds["postgresql-version"], conn))
		if res.Status != checks.StatusInfo || !strings.HasPrefix(res.Output, "PostgreSQL 15.") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("active connections thresholds", func(t *testing.T) {
		res := execute(t, e, request(cmds["postgresql-active-connections"], conn))
		if res.Status != checks.StatusOK || !strings.HasPrefix(res.Output, "Connections: ") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		p := perf(t, res, "connections")
		if p.Value == nil || *p.Value < 1 || p.Warn != "50" || p.Crit != "100" {
			t.Fatalf("perfdata %+v", p)
		}
		// Lower the thresholds below the real count: the state follows.
		res = execute(t, e, request(cmds["postgresql-active-connections"], with(map[string]string{"warning": "0", "critical": "1000"})))
		if res.Status != checks.StatusWarning {
			t.Fatalf("warning=0: got %s %q", res.Status, res.Output)
		}
	})
	t.Run("connections per database", func(t *testing.T) {
		res := execute(t, e, request(cmds["postgresql-connections-per-database"], conn))
		if res.Status != checks.StatusOK {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		perf(t, res, "connections[postgres]")
		perf(t, res, "connections")
	})
	t.Run("checkpoint stats", func(t *testing.T) {
		// A fresh cluster has had no checkpoint: the template's SQL divides by zero.
		res := execute(t, e, request(cmds["postgresql-checkpoint-stats"], conn))
		if res.Status != checks.StatusError || !strings.Contains(res.Output, "division by zero") {
			t.Fatalf("before any checkpoint: got %s %q", res.Status, res.Output)
		}
		pgExec(t, port, password, "CHECKPOINT")
		res = execute(t, e, request(cmds["postgresql-checkpoint-stats"], conn))
		if res.Status != checks.StatusInfo || !strings.HasPrefix(res.Output, "Minutes between checkpoints") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		if p := perf(t, res, "checkpoint-buffers"); p.UOM != "kB" {
			t.Fatalf("perfdata %+v", p)
		}
	})
	t.Run("slow queries", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		url := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable&application_name=sleeper", password, port)
		sleeper, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer sleeper.Close(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _, _ = sleeper.Exec(ctx, "SELECT pg_sleep(5)") }()
		defer func() { cancel(); <-done }()
		time.Sleep(400 * time.Millisecond)
		params := with(map[string]string{"warning": "0.2", "critical": "60"})
		// Upstream's script has an unescaped '' inside a single-quoted JS
		// string: it cannot compile in any engine, and the user is told where.
		res := execute(t, e, request(cmds["bergamot-slow-queries"], params))
		if res.Status != checks.StatusError || !strings.Contains(res.Output, "does not compile") || !strings.Contains(res.Output, "Line 19") {
			t.Fatalf("unmodified: got %s %q", res.Status, res.Output)
		}
		fixed := cmds["bergamot-slow-queries"]
		fixed.Script = strings.NewReplacer("application_name, '')", `application_name, \'\')`,
			"state = 'active'", `state = \'active\'`).Replace(fixed.Script)
		res = execute(t, e, request(fixed, params))
		if res.Status != checks.StatusWarning || !strings.Contains(res.Output, "postgres sleeper") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
		if p := perf(t, res, "Query Duration"); p.UOM != "ms" || p.Max == nil || *p.Max < 200 {
			t.Fatalf("perfdata %+v", p)
		}
	})
	t.Run("wrong password is an error naming the URL", func(t *testing.T) {
		res := execute(t, e, request(cmds["postgresql-up"], with(map[string]string{"password": "nope"})))
		if res.Status != checks.StatusError || !strings.Contains(res.Output, "jdbc:postgresql://127.0.0.1") {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
	t.Run("missing parameter", func(t *testing.T) {
		res := execute(t, e, request(cmds["postgresql-up"], with(map[string]string{"database": ""})))
		if res.Status != checks.StatusError || !strings.Contains(res.Output, `"database"`) {
			t.Fatalf("got %s %q", res.Status, res.Output)
		}
	})
}

// pgExec runs one statement as postgres.
func pgExec(t *testing.T, port int, password, sql string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", password, port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
