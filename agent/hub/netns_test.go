package hub_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/testnet"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestAgentInNetworkNamespace: an agent in a network namespace of its own,
// whose only route out is the hub's port (iptables rejects everything
// else, and a mount namespace hides PostgreSQL's Unix socket), connects to
// a real serve process over mutual TLS and runs every check of its stock
// linux-server-agent host; from where it runs PostgreSQL is unreachable,
// by socket and over the network, as is the serve node's main listener.
func TestAgentInNetworkNamespace(t *testing.T) {
	ns := testnet.NewNamespace(t)
	r := newRig(t, map[string]string{"a": hostXML})

	// The hub listens on the host's end of the veth pair only.
	serve, hubURL := r.serve("--agent-listen", net.JoinHostPort(ns.HostIP, "0"), "--agent-names", ns.HostIP)
	u, err := url.Parse(hubURL)
	if err != nil {
		t.Fatal(err)
	}
	hubPort, _ := strconv.Atoi(u.Port())
	ns.AllowOnly(t, hubPort)

	owner, err := url.Parse(r.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	sockDir := owner.Query().Get("host")
	if sockDir == "" {
		sockDir = owner.Hostname()
	}
	if !strings.HasPrefix(sockDir, "/") {
		t.Skipf("the test database is not on a Unix socket (%s); this test needs pgtest's own cluster", owner.Redacted())
	}
	pgPort := owner.Query().Get("port")
	if pgPort == "" {
		pgPort = "5432"
	}
	pgAddr := testnet.Proxy(t, ns.HostIP, filepath.Join(sockDir, ".s.PGSQL."+pgPort))
	tcpURL := *owner
	q := tcpURL.Query()
	q.Del("host")
	q.Del("port")
	q.Set("sslmode", "disable")
	q.Set("connect_timeout", "5")
	tcpURL.RawQuery, tcpURL.Host = q.Encode(), pgAddr

	confine := []string{"ip", "netns", "exec", ns.Name, "unshare", "--mount", "--propagation", "private",
		"sh", "-c", `mount -t tmpfs bergamot-hidden "$0" && exec "$@"`, sockDir}
	probe := func(inside bool, dbURL string) error {
		argv := []string{bergamotBinary(t), "zone", "list"}
		if inside {
			argv = append(append([]string{}, confine...), argv...)
		}
		ctx, cancel := context.WithTimeout(r.ctx, 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "BERGAMOT_DATA="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	for _, dbURL := range []string{r.db.OwnerURL, tcpURL.String()} {
		if err := probe(false, dbURL); err != nil {
			t.Fatalf("outside the namespace PostgreSQL is not reachable, so the probe proves nothing: %v", err)
		}
		if err := probe(true, dbURL); err == nil {
			t.Errorf("inside the agent's namespace PostgreSQL is reachable (%s)", tcpURL.Host)
		}
	}
	dialCtx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	for _, addr := range []string{pgAddr, serve.logs.find("serving")["addr"].(string), net.JoinHostPort(ns.HostIP, "22")} {
		if c, err := ns.Dial(dialCtx, addr); err == nil {
			_ = c.Close()
			t.Errorf("from inside the namespace %s is reachable; only the hub port %d should be", addr, hubPort)
		}
	}

	creds := r.cert(r.sites["a"].String(), "agent-1")
	start := time.Now()
	ag, _ := r.startVia(confine, []string{"BERGAMOT_PLUGIN_USER=-"}, "connected to hub", "", "agent", "--hub", hubURL,
		"--cert", filepath.Join(creds, "agent.crt"), "--key", filepath.Join(creds, "agent.key"), "--ca", filepath.Join(creds, "ca.crt"),
		"--name", "web1-in-namespace")
	r.due("a")
	ss := r.waitStates("a", "web1", start, 120*time.Second, healthy)
	t.Logf("web1 through an agent in namespace %s:\n%s", ns.Name, formatStates(ss))
	if len(ss) < 10 {
		t.Errorf("only %d checks ran", len(ss))
	}
	var remote, host string
	err = tenants.InSite(tenants.WithSite(r.ctx, r.sites["a"]), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT remote, host_name FROM agent_connections WHERE agent_id = 'agent-1' AND closed_at IS NULL`).Scan(&remote, &host)
	})
	if err != nil || !strings.HasPrefix(remote, ns.IP+":") || host != "web1-in-namespace" {
		t.Errorf("connection row: remote %q host %q (%v), want from %s, web1-in-namespace", remote, host, err, ns.IP)
	}
	_ = ag
}
