package irc

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
	"github.com/bergamot-monitoring/bergamot/internal/ircdtest"
	"github.com/bergamot-monitoring/bergamot/notifiers"
)

// leaf issues ngircd's certificate for localhost (and 127.0.0.1) from ca.
func leaf(t *testing.T, ca *certtest.CA) *tls.Certificate {
	c := certtest.Leaf(t, ca, "localhost", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	return &c
}

func newTLSNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	cfg.TLS = true
	return startNotifier(t, cfg)
}

// TestTLSPostToChannel: ngircd listens with TLS using a certificate from
// a private CA; the notifier trusts that CA and posts over the TLS port
// (which speaks nothing but TLS), and the watcher sees the message.
func TestTLSPostToChannel(t *testing.T) {
	ca := certtest.NewCA(t)
	srv := ircdtest.Start(t, leaf(t, ca))
	w := watch(t, srv.Addr, "#ops")
	nf := newTLSNotifier(t, Config{Server: srv.TLSAddr, TLSConfig: &tls.Config{RootCAs: ca.Pool}})
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := nf.Send(ctx, sample("DISK CRITICAL - 97% used"), notifiers.Recipient{Addresses: map[string]string{"irc": "alice"}}); err != nil {
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
	ca := certtest.NewCA(t)
	srv := ircdtest.Start(t, leaf(t, ca))
	other := certtest.NewCA(t)
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"untrusted CA", Config{Server: srv.TLSAddr, TLSConfig: &tls.Config{RootCAs: other.Pool}},
			"irc: connecting to " + srv.TLSAddr + " with TLS: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"system roots", Config{Server: srv.TLSAddr},
			"irc: connecting to " + srv.TLSAddr + " with TLS: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"wrong host name", Config{Server: srv.TLSAddr, TLSConfig: &tls.Config{RootCAs: ca.Pool, ServerName: "irc.example.com"}},
			"irc: connecting to " + srv.TLSAddr + " with TLS: tls: failed to verify certificate: x509: certificate is valid for localhost, not irc.example.com"},
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
	srv := ircdtest.Start(t, nil)
	nf := newTLSNotifier(t, Config{Server: srv.Addr, ConnectTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := nf.Send(ctx, sample("never shown"), notifiers.Recipient{})
	want := "irc: not connected to " + srv.Addr + " (last attempt: irc: connecting to " + srv.Addr +
		" with TLS: no TLS handshake answer within 300ms (is the port plain-text IRC?)): context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}
