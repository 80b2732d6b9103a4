package gateway_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
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
)

// TestRemoteWorkerInNetworkNamespace is issue 18's first acceptance test: a
// remote worker in a network namespace whose only route is to one serve
// port (PostgreSQL and every other port of the operator unreachable from
// it, which the test asserts with the same probe that succeeds outside)
// runs site A's private-zone checks, real plugins against a listener inside
// its namespace, to their hard states. Site B's checks in its zone of the
// same name never reach it: B's own worker, outside, runs them.
func TestRemoteWorkerInNetworkNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs worker processes")
	}
	ns := testnet.NewNamespace(t)
	inner := ns.Listen(t) // 127.0.0.1 inside the namespace: check_tcp's target
	innerPort := inner.Addr().(*net.TCPAddr).Port
	closedPort := testnet.FreePort(t) // nothing listens on it inside the namespace
	a := svc("dummy", plugins+"/check_dummy 0 from-the-namespace") +
		svc("tcp", fmt.Sprintf("%s/check_tcp -H 127.0.0.1 -p %d -t 5", plugins, innerPort)) +
		svc("tcpclosed", fmt.Sprintf("%s/check_tcp -H 127.0.0.1 -p %d -t 5", plugins, closedPort))
	r := newRig(t, map[string]string{"a": siteXML(a), "b": siteXML(svc("b", plugins+"/check_dummy 1 from-b"))})

	// The serve node's gateway on the host's end of the veth pair: the one
	// port the namespace may reach.
	l, err := net.Listen("tcp", net.JoinHostPort(ns.HostIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /worker", r.hub)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	servePort := l.Addr().(*net.TCPAddr).Port
	ns.AllowOnly(t, servePort)

	// The operator's PostgreSQL: its Unix socket, and on the network (a
	// proxy on the host's veth address, where a production database would
	// listen).
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
	if owner.User != nil {
		tcpURL.User = owner.User
	}

	// Inside: a mount namespace of its own too, where the Unix socket's
	// directory is an empty tmpfs (a network namespace does not scope
	// filesystem sockets).
	confine := []string{"ip", "netns", "exec", ns.Name, "unshare", "--mount", "--propagation", "private",
		"sh", "-c", `mount -t tmpfs bergamot-hidden "$0" && exec "$@"`, sockDir}
	probe := func(inside bool, dbURL string) error {
		argv := []string{bergamotBinary(t), "zone", "list"}
		if inside {
			argv = append(append([]string{}, confine...), argv...)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "BERGAMOT_DATA="+t.TempDir())
		ctx, cancel := context.WithTimeout(r.ctx, 60*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { out, err := cmd.CombinedOutput(); done <- fmtErr(err, out) }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return fmt.Errorf("probe still running after 60s")
		}
	}
	for _, u := range []string{r.db.OwnerURL, tcpURL.String()} {
		if err := probe(false, u); err != nil {
			t.Fatalf("outside the namespace, PostgreSQL at %s is not reachable, so the probe proves nothing: %v", redacted(u), err)
		}
		if err := probe(true, u); err == nil {
			t.Errorf("inside the worker's namespace, PostgreSQL at %s is reachable", redacted(u))
		}
	}
	dialCtx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	loopback := strings.TrimPrefix(strings.TrimPrefix(r.url, "ws://"), "http://")
	loopback = strings.TrimSuffix(loopback, "/worker")
	for _, addr := range []string{
		pgAddr,   // PostgreSQL on the network
		loopback, // the serve node's main listener, on the host's loopback
		net.JoinHostPort(ns.HostIP, "22"),
		net.JoinHostPort(ns.HostIP, strconv.Itoa(closedPort)),
	} {
		if c, err := ns.Dial(dialCtx, addr); err == nil {
			_ = c.Close()
			t.Errorf("from inside the namespace %s is reachable; only the serve port %d should be", addr, servePort)
		}
	}
	c, err := ns.Dial(dialCtx, net.JoinHostPort(ns.HostIP, strconv.Itoa(servePort)))
	if err != nil {
		t.Fatalf("the serve port is not reachable from inside the namespace: %v", err)
	}
	_ = c.Close()

	_, keyA := r.key("a", "edge")
	_, keyB := r.key("b", "edge")
	hub := fmt.Sprintf("ws://%s/worker", net.JoinHostPort(ns.HostIP, strconv.Itoa(servePort)))
	r.workerVia(confine, hub, "worker-a-in-namespace", keyA)
	r.worker("worker-b", keyB)
	r.waitFor("A's checks at their hard states", 90*time.Second, func() bool {
		d, tc, cl := r.state("a", "dummy"), r.state("a", "tcp"), r.state("a", "tcpclosed")
		return d.Status == "OK" && d.Hard && tc.Status == "OK" && tc.Hard && cl.Status == "CRITICAL" && cl.Hard
	})
	if s := r.state("a", "dummy"); s.Output != "OK: from-the-namespace" {
		t.Errorf("A's dummy output %q", s.Output)
	}
	if s := r.state("a", "tcp"); !strings.Contains(s.Output, strconv.Itoa(innerPort)) {
		t.Errorf("A's check_tcp output %q does not name the namespace's port %d", s.Output, innerPort)
	}
	r.waitFor("B's check run by B's worker", 60*time.Second, func() bool {
		s := r.state("b", "b")
		return s.Status == "WARNING" && s.Output == "WARNING: from-b"
	})
	// Each site's zones list only its own worker, with the address the node
	// saw: the namespace's for A's.
	for site, want := range map[string][2]string{"a": {"worker-a-in-namespace", ns.IP}, "b": {"worker-b", "127.0.0.1"}} {
		zones, err := r.st.Zones(r.siteCtx(site))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, z := range zones {
			for _, w := range z.Workers {
				got = append(got, z.Name+"/"+w.Name+"@"+w.Address)
			}
		}
		if len(got) != 1 || got[0] != "edge/"+want[0]+"@"+want[1] {
			t.Errorf("site %s's zones list workers %v, want [edge/%s@%s]", site, got, want[0], want[1])
		}
	}
	// A check's state names the worker of its last result.
	workerOf := func(site, service string) (w string) {
		r.t.Helper()
		r.inSite(site, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT s.worker FROM checks c JOIN check_state s ON s.check_id = c.id
				WHERE c.kind = 'service' AND c.name = $1`, service).Scan(&w)
		})
		return w
	}
	if w := workerOf("b", "b"); w != "worker-b" {
		t.Errorf("site B's check was last run by %q, want worker-b", w)
	}
	if w := workerOf("a", "tcp"); w != "worker-a-in-namespace" {
		t.Errorf("site A's check_tcp was last run by %q, want the namespace's worker", w)
	}
}

func fmtErr(err error, out []byte) error {
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	return p.Redacted()
}
