package irc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// testCA is a private certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

// serverCert is a PEM certificate and key for ngircd's [SSL] section.
type serverCert struct{ certPEM, keyPEM []byte }

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue makes a server certificate for hosts (names or IP addresses).
func (ca *testCA) issue(t *testing.T, hosts ...string) *serverCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &serverCert{certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})}
}

func newTLSNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	cfg.Nick, cfg.Channel, cfg.TLS = "bergamot", "#ops", true
	cfg.ReconnectMin, cfg.ReconnectMax = 50*time.Millisecond, 200*time.Millisecond
	nf, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = nf.Close(ctx)
	})
	return nf
}

// TestTLSPostToChannel: ngircd listens with TLS using a certificate from
// a private CA; the notifier trusts that CA and posts over the TLS port
// (which speaks nothing but TLS), and the watcher sees the message.
func TestTLSPostToChannel(t *testing.T) {
	ca := newCA(t, "Bergamot Test CA")
	srv := startNgircdTLS(t, ca.issue(t, "127.0.0.1", "localhost"))
	w := watch(t, srv.addr, "#ops")
	nf := newTLSNotifier(t, Config{Server: srv.tlsAddr, TLSConfig: &tls.Config{RootCAs: ca.pool}})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := nf.Send(ctx, sample("DISK CRITICAL - 97% used"), notifiers.Recipient{IRCNick: "alice"}); err != nil {
		t.Fatal(err)
	}
	if got, want := w.next(), "bergamot> alice: [acme] Problem: Disk / on web1 is CRITICAL (2m): DISK CRITICAL - 97% used https://b.example/c/1"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestTLSBadCertificate: a certificate the configuration does not trust is
// a prompt, permanent delivery error that says what is wrong, not a wait
// for the send deadline.
func TestTLSBadCertificate(t *testing.T) {
	ca := newCA(t, "Bergamot Test CA")
	srv := startNgircdTLS(t, ca.issue(t, "127.0.0.1", "localhost"))
	other := newCA(t, "Some Other CA")
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"untrusted CA", Config{Server: srv.tlsAddr, TLSConfig: &tls.Config{RootCAs: other.pool}},
			"irc: connecting to " + srv.tlsAddr + " with TLS: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"system roots", Config{Server: srv.tlsAddr},
			"irc: connecting to " + srv.tlsAddr + " with TLS: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"wrong host name", Config{Server: srv.tlsAddr, TLSConfig: &tls.Config{RootCAs: ca.pool, ServerName: "irc.example.com"}},
			"irc: connecting to " + srv.tlsAddr + " with TLS: tls: failed to verify certificate: x509: certificate is valid for localhost, not irc.example.com"},
	} {
		t.Run(c.name, func(t *testing.T) {
			nf := newTLSNotifier(t, c.cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			start := time.Now()
			err := nf.Send(ctx, sample("never shown"), notifiers.Recipient{})
			if err == nil || !strings.HasPrefix(err.Error(), c.want) || !notifiers.IsPermanent(err) {
				t.Fatalf("err = %v (permanent %v)\nwant %q, permanent", err, notifiers.IsPermanent(err), c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v to fail", d)
			}
		})
	}
}

// TestTLSToPlainPort: TLS to a port that speaks plain IRC gets no
// handshake answer; the send ends at its deadline saying so.
func TestTLSToPlainPort(t *testing.T) {
	srv := startNgircd(t)
	nf := newTLSNotifier(t, Config{Server: srv.addr, ConnectTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := nf.Send(ctx, sample("never shown"), notifiers.Recipient{})
	want := "irc: not connected to " + srv.addr + " (last attempt: irc: connecting to " + srv.addr +
		" with TLS: no TLS handshake answer within 300ms (is the port plain-text IRC?)): context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}
