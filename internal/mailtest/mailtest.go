// Package mailtest runs a private Exim (Debian's exim4-daemon-light) on
// loopback for tests: STARTTLS and implicit TLS with a throw-away
// certificate, AUTH PLAIN/LOGIN (user "bergamot", password "s3cret") after
// TLS only, and local domain bergamot.test delivered into one maildir that
// tests read back. It needs root (exim drops to Debian-exim) and skips the
// test otherwise.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Credentials accepted by the server.
const (
	Username = "bergamot"
	Password = "s3cret"
)

// Exim is a running private Exim.
type Exim struct {
	// Port speaks SMTP with STARTTLS; TLSPort implicit TLS.
	Port, TLSPort int
	// Maildir receives every message for @bergamot.test.
	Maildir string
	roots   *x509.CertPool
}

const eximConf = `primary_hostname = mx.bergamot.test
qualify_domain = bergamot.test
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
pid_file_path = DIR/exim.pid
local_interfaces = 127.0.0.1
tls_on_connect_ports = TLSPORT
host_lookup =
rfc1413_hosts =
keep_environment =
tls_advertise_hosts = *
tls_certificate = DIR/cert.pem
tls_privatekey = DIR/key.pem
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept domains = bergamot.test
  deny message = relay not permitted
begin routers
local:
  driver = accept
  domains = bergamot.test
  transport = maildir
begin transports
maildir:
  driver = appendfile
  directory = DIR/mail
  maildir_format
  user = Debian-exim
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{bergamot}}{eq{$auth3}{s3cret}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and{{eq{$auth1}{bergamot}}{eq{$auth2}{s3cret}}}}
  server_set_id = $auth1
`

// Start runs exim in the foreground (-bdf) with a temporary configuration;
// it never reads or touches the system's Exim setup. It is stopped when the
// test ends.
func Start(t testing.TB) *Exim {
	t.Helper()
	bin, err := exec.LookPath("exim")
	if err != nil {
		t.Skip("exim not installed (apt-get install -y exim4-daemon-light)")
	}
	eu, err := user.Lookup("Debian-exim")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and the Debian-exim user for a private exim instance")
	}
	uid, _ := strconv.Atoi(eu.Uid)
	gid, _ := strconv.Atoi(eu.Gid)
	dir, err := os.MkdirTemp("", "bergamot-exim-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	roots := writeCert(t, dir)
	for _, d := range []string{"spool", "log", "mail"} {
		must(t, os.Mkdir(filepath.Join(dir, d), 0o750))
	}
	for _, p := range []string{"spool", "log", "mail", "cert.pem", "key.pem"} {
		must(t, os.Chown(filepath.Join(dir, p), uid, gid))
	}
	e := &Exim{Port: FreePort(t), TLSPort: FreePort(t), Maildir: filepath.Join(dir, "mail"), roots: roots}
	conf := strings.NewReplacer("DIR", dir, "TLSPORT", strconv.Itoa(e.TLSPort)).Replace(eximConf)
	must(t, os.WriteFile(filepath.Join(dir, "exim.conf"), []byte(conf), 0o644))
	cmd := exec.Command(bin, "-bdf", "-odi", "-C", filepath.Join(dir, "exim.conf"), "-oX", fmt.Sprintf("%d:%d", e.Port, e.TLSPort))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	must(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
			t.Logf("exim output: %s\nmainlog:\n%s", out.String(), logs)
		}
	})
	WaitListening(t, e.Port)
	WaitListening(t, e.TLSPort)
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitListening waits (up to 10 s) until something accepts on port.
func WaitListening(t testing.TB, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listening on port %d", port)
}

// writeCert makes a self-signed certificate for 127.0.0.1 and localhost.
func writeCert(t testing.TB, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// TLSConfig trusts the server's certificate.
func (e *Exim) TLSConfig() *tls.Config { return &tls.Config{RootCAs: e.roots} }

// Message is one delivered message, read fully.
type Message struct {
	// File is the maildir file; Header the parsed header; Body the raw body.
	File   string
	Header mail.Header
	Body   string
	// Text is the decoded text/plain part (or the whole body when the
	// message is not multipart).
	Text string
}

// plainText decodes the text/plain part of a (multipart) message.
func plainText(h mail.Header, body string) string {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return body
	}
	r := multipart.NewReader(strings.NewReader(body), params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err != nil {
			return body
		}
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct == "text/plain" {
			b, _ := io.ReadAll(p)
			return string(b)
		}
	}
}

// Messages returns every message delivered so far, oldest file first.
func (e *Exim) Messages(t testing.TB) []*Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.Maildir, "new", "*"))
	// Maildir names are "<seconds>.H<microseconds>P<pid>.<host>" with the
	// microseconds not zero-padded: order by the two numbers, not the text,
	// or two mails in one second come back in the wrong order.
	sort.SliceStable(files, func(i, j int) bool {
		si, ui := deliveredAt(files[i])
		sj, uj := deliveredAt(files[j])
		if si != sj {
			return si < sj
		}
		return ui < uj
	})
	var out []*Message
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		m, err := mail.ReadMessage(strings.NewReader(string(raw)))
		if err != nil {
			continue
		}
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(m))
		out = append(out, &Message{File: f, Header: m.Header, Body: b.String(), Text: plainText(m.Header, b.String())})
	}
	return out
}

var maildirName = regexp.MustCompile(`^(\d+)\.[HM](\d+)`)

// deliveredAt reads the delivery time from a maildir file name.
func deliveredAt(path string) (sec, usec int64) {
	m := maildirName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return 0, 0
	}
	sec, _ = strconv.ParseInt(m[1], 10, 64)
	usec, _ = strconv.ParseInt(m[2], 10, 64)
	return sec, usec
}

func readAll(m *mail.Message) string {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := m.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// WaitMessages polls the maildir until match has selected want messages
// (nil match: every message) or timeout passes, and returns the matches.
// It fails the test on timeout.
func (e *Exim) WaitMessages(t testing.TB, want int, timeout time.Duration, match func(*Message) bool) []*Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got []*Message
	for {
		got = got[:0]
		for _, m := range e.Messages(t) {
			if match == nil || match(m) {
				got = append(got, m)
			}
		}
		if len(got) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) < want {
		t.Fatalf("%d messages delivered to %s, want %d", len(got), e.Maildir, want)
	}
	return got
}
