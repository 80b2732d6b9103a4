package irc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

// ngircd is Debian's ngircd run in the foreground on a loopback port.
type ngircd struct {
	t       *testing.T
	bin     string
	conf    string
	addr    string
	tlsAddr string // set when started with a certificate
	cmd     *exec.Cmd
}

func startNgircd(t *testing.T) *ngircd { return startNgircdTLS(t, nil) }

// startNgircdTLS starts ngircd; with a certificate it also listens with
// TLS (ngircd's [SSL] section, GnuTLS in Debian's build) on tlsAddr.
func startNgircdTLS(t *testing.T, cert *serverCert) *ngircd {
	t.Helper()
	bin, err := exec.LookPath("ngircd")
	if err != nil {
		t.Skip("ngircd not installed (apt-get install -y ngircd)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	sslSection, tlsAddr := "", ""
	if cert != nil {
		tlsPort := testnet.FreePort(t)
		tlsAddr = net.JoinHostPort("127.0.0.1", fmt.Sprint(tlsPort))
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := os.WriteFile(certFile, cert.certPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, cert.keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		sslSection = fmt.Sprintf("[SSL]\nCertFile = %s\nKeyFile = %s\nPorts = %d\n", certFile, keyFile, tlsPort)
	}
	conf := filepath.Join(dir, "ngircd.conf")
	// Flood limits are lifted for the test's bursts; the rest is stock.
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
%s`, port, filepath.Join(dir, "ngircd.pid"), sslSection)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &ngircd{t: t, bin: bin, conf: conf, addr: l.Addr().String(), tlsAddr: tlsAddr}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *ngircd) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "-n", "-f", s.conf)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	for _, addr := range []string{s.addr, s.tlsAddr} {
		if addr != "" {
			s.waitListening(addr)
		}
	}
}

func (s *ngircd) waitListening(addr string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("ngircd not listening on %s", addr)
}

func (s *ngircd) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// watcher is a second, independent IRC client sitting in the channel.
type watcher struct {
	t     *testing.T
	nc    net.Conn
	lines chan string // PRIVMSG texts, "nick> text"
}

func watch(t *testing.T, addr, channel string) *watcher {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	w := &watcher{t: t, nc: nc, lines: make(chan string, 100)}
	fmt.Fprintf(nc, "NICK watcher\r\nUSER watcher 0 * :Watcher\r\n")
	joined := make(chan struct{})
	go func() {
		r := bufio.NewReader(nc)
		for {
			raw, err := r.ReadString('\n')
			if err != nil {
				close(w.lines)
				return
			}
			m := parseLine(raw)
			switch m.command {
			case "PING":
				fmt.Fprintf(nc, "PONG :%s\r\n", m.trailing())
			case "001":
				fmt.Fprintf(nc, "JOIN %s\r\n", channel)
			case "366": // end of NAMES: joined
				close(joined)
			case "PRIVMSG":
				w.lines <- m.nick() + "> " + m.trailing()
			}
		}
	}()
	select {
	case <-joined:
	case <-time.After(10 * time.Second):
		t.Fatal("watcher could not join")
	}
	return w
}

func (w *watcher) next() string {
	w.t.Helper()
	select {
	case l, ok := <-w.lines:
		if !ok {
			w.t.Fatal("watcher disconnected")
		}
		return l
	case <-time.After(10 * time.Second):
		w.t.Fatal("no message arrived")
	}
	return ""
}

func (w *watcher) collect(n int) []string {
	out := make([]string, 0, n)
	for range n {
		out = append(out, w.next())
	}
	return out
}

func hasLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
