package nrpe

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

// Paths of the Debian programs the tests run.
const (
	nrpeDaemon = "/usr/sbin/nrpe"
	checkNRPE  = "/usr/lib/nagios/plugins/check_nrpe"
)

// daemonMode is how a test daemon is configured.
type daemonMode string

const (
	modeADH   daemonMode = "adh"   // Debian's default: SSL on, no certificate
	modeCert  daemonMode = "cert"  // server certificate, ADH off
	modePlain daemonMode = "plain" // nrpe -n
	modeMTLS  daemonMode = "mtls"  // server certificate, client certificate required
)

// daemon is a real nrpe running in the foreground for one test.
type daemon struct {
	mode daemonMode
	addr string
	port int
	dir  string
	pki  *testPKI
}

// testCommands are the daemon's command[] lines.
var testCommands = []string{
	"check_users=/usr/lib/nagios/plugins/check_users -w 5 -c 10",
	`check_long=/usr/bin/printf 'OK - first|a=1\nlong1\nlong2|b=2;3;4\n'`,
	"check_warn=/usr/lib/nagios/plugins/check_dummy 1 'disk getting full'",
	"check_crit=/usr/lib/nagios/plugins/check_dummy 2 'bad thing'",
	"check_unknown=/usr/lib/nagios/plugins/check_dummy 3",
	"check_big=/usr/bin/seq -f 'line %g with some padding text to make it long' 1 400",
	"check_exit7=/bin/sh -c 'echo weird exit; exit 7'",
	"check_sleep=/bin/sleep 3",
	"check_semicolon=/bin/echo 'OK; all good | t=1s;2;3'",
}

func requireDebianNRPE(t testing.TB) {
	t.Helper()
	for _, p := range []string{nrpeDaemon, checkNRPE} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing: apt-get install -y nagios-nrpe-server nagios-nrpe-plugin monitoring-plugins-basic", p)
		}
	}
}

// startDaemon runs nrpe -f with a temporary configuration on a free
// loopback port and stops it when the test ends.
func startDaemon(t testing.TB, mode daemonMode) *daemon {
	t.Helper()
	requireDebianNRPE(t)
	if mode == modeADH && !adhAvailable {
		t.Skip("built without cgo: no anonymous-DH TLS")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // the daemon runs as nagios
		t.Fatal(err)
	}
	d := &daemon{mode: mode, dir: dir, port: testnet.FreePort(t)}
	d.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port))
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "pid_file=%s/nrpe.pid\nserver_port=%d\nserver_address=127.0.0.1\n", dir, d.port)
	if os.Geteuid() == 0 {
		cfg.WriteString("nrpe_user=nagios\nnrpe_group=nagios\n")
	}
	fmt.Fprintf(&cfg, "allowed_hosts=127.0.0.1\ndont_blame_nrpe=1\ncommand_timeout=20\nconnection_timeout=30\n"+
		"disable_syslog=1\nlog_file=%s/nrpe.log\ndebug=1\n", dir)
	for _, c := range testCommands {
		fmt.Fprintf(&cfg, "command[%s\n", strings.Replace(c, "=", "]=", 1))
	}
	if mode == modeCert || mode == modeMTLS {
		d.pki = newTestPKI(t, dir)
		fmt.Fprintf(&cfg, "ssl_cert_file=%s\nssl_privatekey_file=%s\nssl_use_adh=0\n", d.pki.serverCert, d.pki.serverKey)
	}
	if mode == modeMTLS {
		fmt.Fprintf(&cfg, "ssl_cacert_file=%s\nssl_client_certs=2\n", d.pki.caCert)
	}
	cfgPath := filepath.Join(dir, "nrpe.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-c", cfgPath, "-f"}
	if mode == modePlain {
		args = append(args, "-n")
	}
	cmd := exec.Command(nrpeDaemon, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		killConnectionChildren(cfgPath)
	})
	d.waitListening(t, exited, &out)
	return d
}

// waitListening waits for the daemon's log to say it listens.
func (d *daemon) waitListening(t testing.TB, exited <-chan error, out *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(d.dir, "nrpe.log"))
			t.Fatalf("nrpe exited early: %v\n%s\n%s", err, out.String(), log)
		default:
		}
		log, _ := os.ReadFile(filepath.Join(d.dir, "nrpe.log"))
		if bytes.Contains(log, []byte("Listening for connections")) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nrpe did not start listening on %s", d.addr)
}

// killConnectionChildren ends the daemon's per-connection children (they
// outlive the daemon while a plugin runs) so the temp dir can be removed.
// They are found by their command line, which names this test's own config.
func killConnectionChildren(cfgPath string) {
	for range 50 {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err == nil && bytes.Contains(cmdline, []byte(cfgPath+"\x00")) {
				found = true
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if !found {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reference runs the real check_nrpe against the daemon and returns its
// stdout (without the final newline) and exit code.
func (d *daemon) reference(t testing.TB, extra ...string) (string, int) {
	t.Helper()
	args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(d.port), "-t", "10"}
	switch d.mode {
	case modePlain:
		args = append(args, "-n")
	case modeMTLS:
		args = append(args, "-C", d.pki.clientCert, "-K", d.pki.clientKey, "-A", d.pki.caCert)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, checkNRPE, append(args, extra...)...).Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("check_nrpe: %v", err)
	}
	return strings.TrimSuffix(string(out), "\n"), code
}

// testPKI is a CA with a server and a client certificate, written as PEM files.
type testPKI struct {
	caCert, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t testing.TB, dir string) *testPKI {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bergamot test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &testPKI{caCert: filepath.Join(dir, "ca.pem")}
	writePEM(t, p.caCert, "CERTIFICATE", caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certPath, keyPath := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, certPath, "CERTIFICATE", der)
		writePEM(t, keyPath, "PRIVATE KEY", keyDER)
		return certPath, keyPath
	}
	p.serverCert, p.serverKey = issue("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = issue("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	// World-readable: the daemon reads its key after dropping to nagios.
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}
