package email

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exim is a private Exim instance on loopback: STARTTLS on port, implicit
// TLS on tlsPort, AUTH PLAIN/LOGIN (user "bergamot", password "s3cret")
// after TLS only, local domain bergamot.test delivered to one maildir.
type exim struct {
	port, tlsPort int
	maildir       string
	roots         *x509.CertPool
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

// startExim runs Debian's exim4 in the foreground (-bdf) with a temporary
// configuration; it never reads or touches the system's Exim setup.
func startExim(t *testing.T) *exim {
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
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	roots := writeCert(t, dir)
	for _, d := range []string{"spool", "log", "mail"} {
		must(t, os.Mkdir(filepath.Join(dir, d), 0o750))
	}
	for _, p := range []string{"spool", "log", "mail", "cert.pem", "key.pem"} {
		must(t, os.Chown(filepath.Join(dir, p), uid, gid))
	}
	e := &exim{port: freePort(t), tlsPort: freePort(t), maildir: filepath.Join(dir, "mail"), roots: roots}
	conf := strings.NewReplacer("DIR", dir, "TLSPORT", strconv.Itoa(e.tlsPort)).Replace(eximConf)
	must(t, os.WriteFile(filepath.Join(dir, "exim.conf"), []byte(conf), 0o644))
	cmd := exec.Command(bin, "-bdf", "-odi", "-C", filepath.Join(dir, "exim.conf"), "-oX", fmt.Sprintf("%d:%d", e.port, e.tlsPort))
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
	waitListening(t, e.port)
	waitListening(t, e.tlsPort)
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(t *testing.T, port int) {
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
func writeCert(t *testing.T, dir string) *x509.CertPool {
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

func (e *exim) tlsConfig() *tls.Config { return &tls.Config{RootCAs: e.roots} }

// waitMessage returns the delivered message whose Message-ID is id.
func (e *exim) waitMessage(t *testing.T, id string) *mail.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(e.maildir, "new", "*"))
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				continue
			}
			m, err := mail.ReadMessage(fh)
			if err == nil && m.Header.Get("Message-ID") == id {
				t.Cleanup(func() { fh.Close() })
				return m
			}
			fh.Close()
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("no message %s delivered to %s", id, e.maildir)
	return nil
}
