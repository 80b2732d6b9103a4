// Package ircdtest runs Debian's ngircd for tests: foreground, loopback only,
// optionally with a TLS port, stoppable and restartable (for reconnect tests).
package ircdtest

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

// Server is one ngircd. Addr is its plain-text port; TLSAddr, when it was
// started with a certificate, its TLS port (ngircd's [SSL] section, GnuTLS
// in Debian's build).
type Server struct {
	Addr, TLSAddr string

	t    testing.TB
	bin  string
	conf string
	cmd  *exec.Cmd
}

// Start runs ngircd until the test ends; with cert it also listens with TLS.
// The test is skipped when ngircd is not installed.
func Start(t testing.TB, cert *tls.Certificate) *Server {
	t.Helper()
	bin, err := exec.LookPath("ngircd")
	if err != nil {
		t.Skip("ngircd not installed (apt-get install -y ngircd)")
	}
	dir := t.TempDir()
	port := testnet.FreePort(t)
	s := &Server{t: t, bin: bin, conf: filepath.Join(dir, "ngircd.conf"), Addr: net.JoinHostPort("127.0.0.1", fmt.Sprint(port))}
	ssl := ""
	if cert != nil {
		tlsPort := testnet.FreePort(t)
		s.TLSAddr = net.JoinHostPort("127.0.0.1", fmt.Sprint(tlsPort))
		certFile, keyFile := certtest.WriteKeyPair(t, *cert)
		ssl = fmt.Sprintf("[SSL]\nCertFile = %s\nKeyFile = %s\nPorts = %d\n", certFile, keyFile, tlsPort)
	}
	// Flood limits are lifted for the tests' bursts; the rest is stock.
	text := fmt.Sprintf(`[Global]
Name = irc.bergamot.test
Info = Bergamot test server
AdminInfo1 = test
AdminInfo2 = test
AdminEMail = test@bergamot.test
Listen = 127.0.0.1
Ports = %d
MotdPhrase = hello
ServerUID = 65534
ServerGID = 65534
PidFile = %s
[Limits]
MaxConnectionsIP = 0
[Options]
DNS = no
Ident = no
PAM = no
%s`, port, filepath.Join(dir, "ngircd.pid"), ssl)
	if err := os.WriteFile(s.conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts the daemon and waits until its ports accept.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = exec.CommandContext(s.t.Context(), s.bin, "-n", "-f", s.conf)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	for _, addr := range []string{s.Addr, s.TLSAddr} {
		if addr != "" {
			s.waitListening(addr)
		}
	}
}

func (s *Server) waitListening(addr string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	d := net.Dialer{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if c, err := d.DialContext(s.t.Context(), "tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("ngircd not listening on %s", addr)
}

// Stop kills the daemon (a crash, as far as clients can tell).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}
