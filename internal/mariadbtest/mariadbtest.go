// Package mariadbtest runs Debian's MariaDB server for tests: a private
// mariadbd with its own data directory, on a Unix socket and a loopback
// port, with one password user. The system's own server is never touched.
package mariadbtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

// Paths of the Debian programs (package mariadb-server).
const (
	DaemonPath  = "/usr/sbin/mariadbd"
	InstallPath = "/usr/bin/mariadb-install-db"
	ClientPath  = "/usr/bin/mariadb"
)

// Server is one running mariadbd.
type Server struct {
	Host     string
	Port     int
	Addr     string
	Socket   string
	User     string
	Password string
	Database string

	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs mariadbd until the test ends, with the database "bergamot"
// and a user that may read it; the test is skipped when MariaDB is not
// installed or the test is not root (mariadbd then runs as root with
// --user=root).
func Start(t testing.TB) *Server {
	t.Helper()
	for _, p := range []string{DaemonPath, InstallPath, ClientPath} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("MariaDB not installed (apt-get install -y mariadb-server): %v", err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("mariadbtest runs mariadbd with --user=root and needs root")
	}
	dir, err := os.MkdirTemp("", "mariadbtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	out, err := exec.CommandContext(context.Background(), InstallPath, "--datadir="+data, "--user=root", "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	s := &Server{Host: "127.0.0.1", Port: testnet.FreePort(t), Socket: filepath.Join(dir, "mysqld.sock"),
		User: "bergamot", Password: "check-" + strconv.FormatInt(time.Now().UnixNano(), 36), Database: "bergamot"}
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	s.cmd = exec.CommandContext(context.Background(), DaemonPath, "--no-defaults", "--datadir="+data, "--socket="+s.Socket, "--port="+strconv.Itoa(s.Port),
		"--bind-address=127.0.0.1", "--user=root", "--pid-file="+filepath.Join(dir, "mysqld.pid"),
		"--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--log-error="+filepath.Join(dir, "error.log"))
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting mariadbd: %v", err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := s.root(fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s; CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'; GRANT ALL ON %s.* TO '%s'@'%%';",
			s.Database, s.User, s.Password, s.Database, s.User)); err == nil {
			return s
		} else if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("mariadbd did not come up: %v\n%s", err, log)
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("mariadbd exited at start:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// root runs SQL as root over the socket.
func (s *Server) root(sql string) error {
	cmd := exec.CommandContext(context.Background(), ClientPath, "--no-defaults", "--socket="+s.Socket, "-uroot", "-e", sql)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Exec runs SQL as root over the socket, failing the test on error.
func (s *Server) Exec(t testing.TB, sql string) {
	t.Helper()
	if err := s.root(sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Stop ends mariadbd.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
}

// Count runs a query returning one number as root over the socket.
func (s *Server) Count(sql string) (int, error) {
	out, err := exec.CommandContext(context.Background(), ClientPath, "--no-defaults", "--socket="+s.Socket, "-uroot", "-N", "-B", "-e", sql).Output()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", sql, err)
	}
	return strconv.Atoi(string(bytes.TrimSpace(out)))
}

// PortString is Port as text, for check parameters.
func (s *Server) PortString() string { return strconv.Itoa(s.Port) }
