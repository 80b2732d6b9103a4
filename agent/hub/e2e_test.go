package hub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/agent/manager"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const hostXML = `<bergamot site="t"><host name="web1" extends="linux-server-agent" agent-id="agent-1" address="127.0.0.1"/></bergamot>`

// bad are the statuses a check of a connected agent must never have: an
// executor missing or failing, or the agent not reached.
func healthy(s checkState) bool {
	switch s.Status {
	case "ERROR", "UNKNOWN", "TIMEOUT", "DISCONNECTED", "PENDING":
		return false
	}
	return true
}

// TestStockLinuxServerAgent: a host built from the stock linux-server-agent
// template in site A reaches real values from this machine on every check
// through a real agent process connected to a real serve process over
// mutual TLS; site B's host with the same agent id stays DISCONNECTED (the
// agent of site A never answers for it). Stopping the agent makes the
// checks DISCONNECTED; starting it again brings them back.
func TestStockLinuxServerAgent(t *testing.T) {
	r := newRig(t, map[string]string{"a": hostXML, "b": hostXML})
	serve, hubURL := r.serve()
	creds := r.cert(r.sites["a"].String(), "agent-1")
	ag := r.agent(creds, hubURL)
	start := time.Now()
	r.due("a")
	r.due("b")
	ss := r.waitStates("a", "web1", start, 90*time.Second, healthy)
	t.Logf("site A, web1 (linux-server-agent):\n%s", formatStates(ss))
	for _, want := range []string{"host", "cpu-usage", "memory", "load", "all-disks", "disk-space-root", "total-processes", "zombie-processes",
		"listener-sshd", "process-sshd", "uptime", "os-info", "agent-info", "agent-memory"} {
		found := false
		for _, s := range ss {
			if s.Name == want {
				found = true
			}
		}
		if !found {
			t.Errorf("check %s missing from web1", want)
		}
	}
	bs := r.waitStates("b", "web1", start, 60*time.Second, func(s checkState) bool { return s.Status == "DISCONNECTED" })
	if !strings.Contains(bs[0].Output, "not connected") {
		t.Errorf("site B output %q does not say the agent is not connected", bs[0].Output)
	}

	// Stop the agent: its checks are DISCONNECTED at their next run.
	_ = ag.cmd.Process.Signal(syscall.SIGTERM)
	_ = ag.cmd.Wait()
	stopped := time.Now()
	time.Sleep(500 * time.Millisecond)
	r.due("a")
	r.waitStates("a", "web1", stopped, 60*time.Second, func(s checkState) bool { return s.Status == "DISCONNECTED" })

	// Start it again: results come back without anything else done.
	r.agent(creds, hubURL)
	again := time.Now()
	r.due("a")
	r.waitStates("a", "web1", again, 90*time.Second, healthy)
	_ = serve
}

// dialHub opens the agent WebSocket with cert (nil: none) and returns the
// HTTP status of the refusal (0 when it was accepted).
func dialHub(t *testing.T, hubURL string, root *x509.Certificate, cert *tls.Certificate) int {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(root)
	conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		conf.Certificates = []tls.Certificate{*cert}
	}
	d := websocket.Dialer{TLSClientConfig: conf, HandshakeTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, resp, err := d.DialContext(ctx, hubURL, nil)
	if err == nil {
		_ = c.Close()
		return 0
	}
	if resp == nil {
		t.Fatalf("dialling the hub: %v", err)
	}
	return resp.StatusCode
}

// signWith makes a client certificate for identity id signed by the CA in
// dir/name.{crt,key}, valid for lifetime.
func signWith(t *testing.T, caCrt, caKey string, id manager.Identity, lifetime time.Duration) tls.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(caCrt, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: bigSerial(t), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(lifetime),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	tmpl.URIs = append(tmpl.URIs, id.URI())
	tmpl.Subject.CommonName = id.Name
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), pair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}
}

func siteCADir(mgrDir, site string) string {
	sum := sha256.Sum256([]byte(site))
	return filepath.Join(mgrDir, "sites", hex.EncodeToString(sum[:12]))
}

// TestRefusals: a plain TLS client without a certificate, a certificate
// of another manager's CA, one naming site B signed by site A's CA, an
// expired one and a revoked one are all refused, each with a log line
// saying why; revoking a connected agent's certificate drops it within
// seconds.
func TestRefusals(t *testing.T) {
	r := newRig(t, map[string]string{"a": hostXML, "b": hostXML})
	serve, hubURL := r.serve()
	ca, err := manager.Open(r.mgrDir)
	if err != nil {
		t.Fatal(err)
	}
	root := ca.Root()
	siteA, siteB := r.sites["a"].String(), r.sites["b"].String()

	expectRefused := func(what string, cert *tls.Certificate, reason string) {
		t.Helper()
		if code := dialHub(t, hubURL, root, cert); code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", what, code)
		}
		deadline := time.Now().Add(10 * time.Second)
		for serve.logs.find("agent refused", reason) == nil {
			if time.Now().After(deadline) {
				t.Errorf("%s: no log line \"agent refused\" with %q", what, reason)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	expectRefused("no certificate", nil, "no client certificate")

	other := filepath.Join(t.TempDir(), "other")
	if _, err := manager.Init(other, "", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	oca, err := manager.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := manager.NewKey("")
	signed, err := oca.SignAgent(manager.Identity{Kind: manager.KindAgent, Site: siteA, Name: "agent-1"}, key.Public(), 0)
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := manager.KeyPEM(key)
	foreign, err := tls.X509KeyPair(append(signed.Cert, signed.Chain...), kp)
	if err != nil {
		t.Fatal(err)
	}
	expectRefused("another manager's CA", &foreign, "not signed by a site CA of this Bergamot")

	// Site A's CA signing a certificate that claims site B.
	if _, err := ca.SignAgent(manager.Identity{Kind: manager.KindAgent, Site: siteA, Name: "x"}, key.Public(), 0); err != nil {
		t.Fatal(err) // makes site A's CA
	}
	dirA := siteCADir(r.mgrDir, siteA)
	forged := signWith(t, filepath.Join(dirA, "ca.crt"), filepath.Join(dirA, "ca.key"), manager.Identity{Kind: manager.KindAgent, Site: siteB, Name: "agent-1"}, time.Hour)
	expectRefused("site B claimed by site A's CA", &forged, "was not signed by that site's CA")

	expired := signWith(t, filepath.Join(dirA, "ca.crt"), filepath.Join(dirA, "ca.key"), manager.Identity{Kind: manager.KindAgent, Site: siteA, Name: "agent-1"}, -time.Minute)
	expectRefused("expired", &expired, "expired or not yet valid")

	// A connected agent whose certificate is revoked is dropped, and
	// refused when it comes back.
	creds := r.cert(siteA, "agent-1")
	ag := r.agent(creds, hubURL)
	leaf, err := tls.LoadX509KeyPair(filepath.Join(creds, "agent.crt"), filepath.Join(creds, "agent.key"))
	if err != nil {
		t.Fatal(err)
	}
	serial := manager.SerialString(leaf.Leaf)
	revokedAt := time.Now()
	r.run("agent", "revoke", "--dir", r.mgrDir, "--site", siteA, serial)
	for serve.logs.find("closing agent: its certificate was revoked", serial) == nil {
		if time.Since(revokedAt) > 15*time.Second {
			t.Fatal("the revoked agent was not dropped within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("revoked agent dropped %s after the revoke command", time.Since(revokedAt).Round(10*time.Millisecond))
	expectRefused("revoked", &leaf, "is revoked")
	_ = ag
}

// TestNodeKilledAgentMovesOn: two serve nodes; the agent holds its
// connection on the first (checks picked by the second are forwarded to
// it); the first is killed with -9, the agent reconnects to the second and
// its checks continue.
func TestNodeKilledAgentMovesOn(t *testing.T) {
	r := newRig(t, map[string]string{"a": hostXML})
	n1, url1 := r.serve()
	_, url2 := r.serve()
	creds := r.cert(r.sites["a"].String(), "agent-1")
	ag := r.agent(creds, url1+","+url2)
	before := time.Now()
	r.due("a")
	r.waitStates("a", "web1", before, 90*time.Second, healthy)

	_ = n1.cmd.Process.Kill()
	_ = n1.cmd.Wait()
	killed := time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for ag.logs.find("connected to hub", url2) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not reconnect to the second node within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("agent reconnected to node 2 %s after node 1 was killed", time.Since(killed).Round(10*time.Millisecond))
	after := time.Now()
	r.due("a")
	r.waitStates("a", "web1", after, 90*time.Second, healthy)
}

// TestTemplateAutoRegistration: an agent holding site A's template
// certificate for linux-server-agent creates its host once, however often
// it reconnects, and the host's checks then run on it.
func TestTemplateAutoRegistration(t *testing.T) {
	r := newRig(t, map[string]string{"a": `<bergamot site="t"/>`})
	_, hubURL := r.serve()
	creds := r.cert(r.sites["a"].String(), "linux-server-agent", "--template")
	for range 3 {
		ag := r.agent(creds, hubURL, "--name", "auto-1", "--agent-id", "auto-1")
		_ = ag.cmd.Process.Signal(syscall.SIGTERM)
		_ = ag.cmd.Wait()
	}
	ag := r.agent(creds, hubURL, "--name", "auto-1", "--agent-id", "auto-1")
	var hosts, revisions int
	err := tenants.InSite(tenants.WithSite(r.ctx, r.sites["a"]), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM checks WHERE kind = 'host' AND name = 'auto-1' AND agent_id = 'auto-1'),
			(SELECT count(*) FROM config_revisions WHERE source = 'agent-registration')`).Scan(&hosts, &revisions)
	})
	if err != nil {
		t.Fatal(err)
	}
	if hosts != 1 || revisions != 1 {
		t.Fatalf("%d hosts auto-1 and %d registration revisions after 4 connections, want 1 and 1", hosts, revisions)
	}
	start := time.Now()
	r.due("a")
	r.waitStates("a", "auto-1", start, 90*time.Second, healthy)
	_ = ag
	_ = os.Getpid
}

func bigSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}
