// Package sshdtest runs Debian's OpenSSH server for tests: a private sshd
// on 127.0.0.1 with its own host key and configuration, accepting one test
// user by public key and by password. The system's own sshd is never
// touched.
//
// Password authentication needs a real account: the helper creates the
// system user User (no home, /bin/sh) when it is missing and sets a random
// password for it on every start. That needs root; without it (or without
// sshd) the test is skipped with a message saying what is missing.
package sshdtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

// Paths and names the helper relies on.
const (
	// DaemonPath is Debian's sshd (package openssh-server).
	DaemonPath = "/usr/sbin/sshd"
	// User is the account tests log in as.
	User = "bergamot-sshtest"
)

// Server is one running sshd.
type Server struct {
	// Addr is "127.0.0.1:port"; Host and Port its parts.
	Addr string
	Host string
	Port int
	// Password is User's password for this run.
	Password string
	// PrivateKey is a PEM (OpenSSH format) key that User may log in with.
	PrivateKey string
	// HostKey is the server's public host key.
	HostKey gossh.PublicKey

	t       testing.TB
	dir     string
	conf    string
	cmd     *exec.Cmd
	stopped chan struct{}
}

// Start runs sshd until the test ends. The test is skipped when sshd is
// not installed or the test does not run as root.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(DaemonPath); err != nil {
		t.Skip("sshd not installed (apt-get install -y openssh-server): " + err.Error())
	}
	if os.Geteuid() != 0 {
		t.Skip("sshdtest needs root: it creates the test account " + User + " for password logins")
	}
	pw := ensureUser(t)
	dir := ReadableDir(t) // sshd reads authorized_keys as the user logging in
	s := &Server{t: t, dir: dir, Host: "127.0.0.1", Port: testnet.FreePort(t), Password: pw, conf: filepath.Join(dir, "sshd_config")}
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	s.PrivateKey = writeClientKey(t, dir)
	s.NewHostKey()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // privilege separation directory
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`ListenAddress %s
Port %d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers %s
MaxSessions 10
MaxStartups 100:30:200
Subsystem sftp internal-sftp
LogLevel ERROR
`, s.Host, s.Port, filepath.Join(dir, "host_key"), filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"), User)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// ensureUser creates the test account if missing and gives it a fresh
// random password, which it returns.
func ensureUser(t testing.TB) string {
	t.Helper()
	if err := exec.CommandContext(context.Background(), "id", "-u", User).Run(); err != nil {
		out, err := exec.CommandContext(context.Background(), "useradd", "--system", "--no-create-home", "--home-dir", "/", "--shell", "/bin/sh", User).CombinedOutput()
		if err != nil && exec.CommandContext(context.Background(), "id", "-u", User).Run() != nil {
			t.Skipf("cannot create the test account %s: %v: %s", User, err, out)
		}
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	pw := hex.EncodeToString(b)
	cmd := exec.CommandContext(context.Background(), "chpasswd")
	cmd.Stdin = bytes.NewReader([]byte(User + ":" + pw + "\n"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setting the password of %s: %v: %s", User, err, out)
	}
	return pw
}

// writeClientKey makes the key User logs in with and authorises it.
func writeClientKey(t testing.TB, dir string) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "bergamot test")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), gossh.MarshalAuthorizedKey(sp), 0o644); err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// NewHostKey gives the server a new host key, taking effect at the next
// Start (Restart).
func (s *Server) NewHostKey() {
	s.t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "host_key"), pem.EncodeToMemory(block), 0o600); err != nil {
		s.t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		s.t.Fatal(err)
	}
	s.HostKey = signer.PublicKey()
}

// Start (re)starts sshd and waits until it answers with its banner.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.CommandContext(context.Background(), DaemonPath, "-D", "-e", "-f", s.conf)
	s.cmd.Stderr = &testWriter{t: s.t}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Stop ends the sessions' processes too
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting sshd: %v", err)
	}
	s.stopped = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.stopped)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(context.Background(), "tcp", s.Addr)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 4)
			_, err = c.Read(buf)
			c.Close()
			if err == nil && string(buf) == "SSH-" {
				return
			}
		}
		select {
		case <-s.stopped:
			s.t.Fatalf("sshd exited at start (config %s)", s.conf)
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.t.Fatalf("sshd not answering on %s", s.Addr)
}

// Stop kills sshd and its session processes, as a server going down does.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		// Each connection's sshd runs in its own session (setsid): end
		// those first, then the listener's process group.
		out, _ := exec.CommandContext(context.Background(), "pgrep", "-P", strconv.Itoa(s.cmd.Process.Pid)).Output()
		for _, f := range bytes.Fields(out) {
			if pid, err := strconv.Atoi(string(f)); err == nil {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.stopped
		s.cmd = nil
	}
}

// Restart stops and starts sshd (after NewHostKey: a server that changed
// its key).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// testWriter sends sshd's log to the test log.
type testWriter struct{ t testing.TB }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("sshd: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// PortString is Port as text, for check parameters.
func (s *Server) PortString() string { return strconv.Itoa(s.Port) }

// Sessions counts this server's processes serving User's connections
// (OpenSSH names them "sshd: USER" and "sshd: USER@notty").
func (s *Server) Sessions(t testing.TB) int {
	t.Helper()
	if s.cmd == nil {
		return 0
	}
	n := 0
	out, _ := exec.CommandContext(context.Background(), "pgrep", "-P", strconv.Itoa(s.cmd.Process.Pid)).Output()
	for _, f := range bytes.Fields(out) {
		sess, _ := exec.CommandContext(context.Background(), "pgrep", "-s", string(f), "-f", "sshd: "+User).Output()
		n += len(bytes.Fields(sess))
	}
	return n
}

// ReadableDir is a temporary directory (removed when the test ends) that
// User can read: t.TempDir's are private to root.
func ReadableDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sshdtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
