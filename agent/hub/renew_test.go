package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/agent/manager"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func certFile(t *testing.T, path string) (serial string, notAfter time.Time) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := manager.ParseCertPEM(b)
	if err != nil {
		t.Fatal(err)
	}
	return manager.SerialString(c), c.NotAfter
}

// TestCertificateRenewal: an agent whose certificate lives 3 minutes asks
// for a new one over its connection once less than a third of its life is
// left; the hub has the manager sign it and moves the connection to it.
// The connection outlives the old certificate (the hub closes connections
// whose certificate expired), checks keep running past the old expiry,
// the connection row shows the new certificate, and the agent restarted
// afterwards connects with the renewed files.
func TestCertificateRenewal(t *testing.T) {
	r := newRig(t, map[string]string{"a": hostXML})
	serve, hubURL := r.serve()
	creds := r.cert(r.sites["a"].String(), "agent-1", "--lifetime", "3m")
	oldSerial, oldExpiry := certFile(t, filepath.Join(creds, "agent.crt"))
	ag := r.agent(creds, hubURL)

	deadline := time.Now().Add(2 * time.Minute)
	for ag.logs.find("certificate renewed") == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not renew its certificate (expires %s)", oldExpiry.Format(time.TimeOnly))
		}
		time.Sleep(200 * time.Millisecond)
	}
	newSerial, newExpiry := certFile(t, filepath.Join(creds, "agent.crt"))
	if newSerial == oldSerial || !newExpiry.After(oldExpiry.Add(24*time.Hour)) {
		t.Fatalf("agent.crt after renewal: serial %s (old %s), expires %s: want a new, long-lived certificate", newSerial, oldSerial, newExpiry)
	}
	if serve.logs.find("agent certificate renewed", newSerial, oldSerial) == nil {
		t.Error("the hub did not log the renewal with both serials")
	}
	t.Logf("renewed %s -> %s, %s before the old one expired", oldSerial, newSerial, time.Until(oldExpiry).Round(time.Second))

	// Past the old certificate's expiry (plus the hub's 2 s recheck):
	// the same connection still runs checks.
	time.Sleep(time.Until(oldExpiry) + 6*time.Second)
	after := time.Now()
	r.due("a")
	r.waitStates("a", "web1", after, 90*time.Second, healthy)
	if l := ag.logs.find("hub link down; reconnecting"); l != nil {
		t.Errorf("the agent lost its link: %v", l)
	}
	if l := serve.logs.find("closing agent: its certificate expired"); l != nil {
		t.Errorf("the hub closed the renewed connection: %v", l)
	}
	var rowSerial string
	err := tenants.InSite(tenants.WithSite(r.ctx, r.sites["a"]), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT serial FROM agent_connections WHERE agent_id = 'agent-1' AND closed_at IS NULL`).Scan(&rowSerial)
	})
	if err != nil || rowSerial != newSerial {
		t.Errorf("open connection row: serial %q (%v), want the renewed %s", rowSerial, err, newSerial)
	}

	// A restart uses the renewed files; the old certificate could not connect now.
	_ = ag.cmd.Process.Signal(syscall.SIGTERM)
	_ = ag.cmd.Wait()
	ag = r.agent(creds, hubURL)
	for wait := time.Now().Add(20 * time.Second); serve.logs.find("agent connected", newSerial) == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatal("the restarted agent did not connect with the renewed certificate")
		}
	}
	_ = ag
}
