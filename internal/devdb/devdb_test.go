package devdb

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Another local user (nobody) cannot reach the embedded cluster: not as the
// superuser, not at all. Reporting logins need their password. Before, the
// cluster was initdb --auth=trust with a 0777 socket: any local user was a
// PostgreSQL superuser.
func TestOtherLocalUsersCannotConnect(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as nobody")
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("runuser not installed")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql not installed")
	}
	dir, err := os.MkdirTemp("", "bergamot-devdb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Dir: dir, Database: "bergamot", Settings: map[string]string{"fsync": "off"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	runDir := filepath.Join(dir, "run")

	fi, err := os.Stat(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("socket directory mode %v, want 0700", fi.Mode().Perm())
	}

	// A reporting-style login with a password.
	conn, err := pgx.Connect(ctx, c.URL("bergamot"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE ROLE reporter LOGIN PASSWORD 'Reporter-pass-1'`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	asNobody := func(conninfo string) (string, error) {
		cmd := exec.CommandContext(ctx, "runuser", "-u", "nobody", "--", psql, "-X", "-w", "-At", "-c", "SELECT current_user", conninfo)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "PGCONNECT_TIMEOUT=5"}
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	for _, u := range []string{"postgres", "reporter", "nobody"} {
		out, err := asNobody(fmt.Sprintf("host=%s user=%s dbname=bergamot", runDir, u))
		if err == nil {
			t.Errorf("nobody connected as %s: %s", u, out)
		} else {
			t.Logf("nobody as %s refused: %s", u, out)
		}
	}

	// Even with the directory opened up, the superuser needs peer identity
	// and the reporter its password.
	if err := os.Chmod(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(runDir, ".s.PGSQL.5432"), 0o777); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"postgres", "reporter"} {
		out, err := asNobody(fmt.Sprintf("host=%s user=%s dbname=bergamot", runDir, u))
		if err == nil {
			t.Errorf("with the socket open, nobody connected as %s without a password: %s", u, out)
		} else {
			t.Logf("socket open, nobody as %s refused: %s", u, out)
		}
	}
	// The reporter with its password does get in (scram-sha-256).
	rc, err := pgx.Connect(ctx, fmt.Sprintf("host=%s user=reporter password=Reporter-pass-1 dbname=bergamot", runDir))
	if err != nil {
		t.Fatalf("reporter with its password: %v", err)
	}
	rc.Close(ctx)
	if _, err := pgx.Connect(ctx, fmt.Sprintf("host=%s user=reporter password=wrong dbname=bergamot", runDir)); err == nil {
		t.Error("reporter with a wrong password got in")
	}
	hba, _ := os.ReadFile(filepath.Join(dir, "data", "pg_hba.conf"))
	if strings.Contains(string(hba), "trust") {
		t.Errorf("pg_hba.conf trusts someone:\n%s", hba)
	}
}

// TestFreshDataDirectory: a cluster directory whose parents do not exist
// yet (a fresh BERGAMOT_DATA, as `bergamot bench` meets it) is created
// reachable by the postgres OS user; only the socket directory is 0700.
func TestFreshDataDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the cluster runs as the postgres OS user")
	}
	base, err := os.MkdirTemp("", "bergamot-devdb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Dir: filepath.Join(base, "data", "postgres"), Database: "bergamot", Settings: map[string]string{"fsync": "off"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Stop(context.Background())
}
