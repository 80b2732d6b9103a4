package hub_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/agent/hub"
	"github.com/bergamot-monitoring/bergamot/agent/manager"
	"github.com/bergamot-monitoring/bergamot/agent/wire"
	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// BenchmarkAgentConnections: one hub holds BENCH_AGENTS (default 10,000)
// agent connections made by a separate process (this test binary, as
// TestAgentSwarm) from 200 loopback source addresses, each with its own
// certificate of the site's CA, over mutual TLS. It reports the hub
// process's memory per connection (heap and stacks, after GC), and the
// round trip of a check (hub -> agent -> reading) at p50 and p99 over 2,000
// checks to random agents, 50 at a time.
func BenchmarkAgentConnections(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("BENCH_AGENTS")); err == nil && v > 0 {
		n = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := pgtest.New(b)
	var site uuid.UUID
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		s, err := tenants.CreateSite(ctx, tx, "bench"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		if err == nil {
			site = s.ID
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "m")
	ca, err := manager.Init(dir, "", []string{"127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	key, _ := manager.NewKey("")
	if _, err := ca.SignAgent(manager.Identity{Kind: manager.KindAgent, Site: site.String(), Name: "first"}, key.Public(), 0); err != nil {
		b.Fatal(err)
	}
	hubKey, _ := manager.NewKey("")
	hs, err := ca.SignHub(hubKey.Public(), []string{"127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	kp, _ := manager.KeyPEM(hubKey)
	cert, err := tls.X509KeyPair(hs.Cert, kp)
	if err != nil {
		b.Fatal(err)
	}
	h := &hub.Hub{Pool: db.Pool, Logger: slog.New(slog.DiscardHandler), Node: "bench", Verify: &hub.Verifier{Root: ca.Root()},
		Sites: func(context.Context, string) (uuid.UUID, error) { return site, nil }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = h.Serve(ctx, ln, cert) }()

	measure := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	for b.Loop() {
		mem0, g0 := measure(), runtime.NumGoroutine()
		swarm := exec.Command(os.Args[0], "-test.run", "^TestAgentSwarm$", "-test.count", "1")
		siteDir := siteCADir(dir, site.String())
		swarm.Env = append(os.Environ(), "BERGAMOT_AGENT_SWARM="+strconv.Itoa(n), "SWARM_HUB="+ln.Addr().String(),
			"SWARM_ROOT="+filepath.Join(dir, "root.crt"), "SWARM_CA="+siteDir, "SWARM_SITE="+site.String())
		stdin, _ := swarm.StdinPipe()
		stdout, _ := swarm.StdoutPipe()
		swarm.Stderr = os.Stderr
		start := time.Now()
		if err := swarm.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "swarm ready") {
				ready = true
				break
			}
		}
		if !ready {
			_ = swarm.Wait()
			b.Fatal("the agent swarm did not connect")
		}
		for h.Connected() < n {
			time.Sleep(50 * time.Millisecond)
		}
		connectTime := time.Since(start)
		time.Sleep(time.Second)
		mem1, g1 := measure(), runtime.NumGoroutine()

		const checksN, parallel = 2000, 50
		lat := make([]time.Duration, checksN)
		var wg sync.WaitGroup
		next := make(chan int)
		for range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					id := fmt.Sprintf("bench-%d", (i*7919)%n)
					t0 := time.Now()
					res, ok := h.RunCheck(ctx, site, id, &checks.Request{Executor: "presence", Timeout: 10 * time.Second})
					lat[i] = time.Since(t0)
					if !ok || res.Status != checks.StatusOK {
						b.Errorf("check on %s: %v %+v", id, ok, res)
					}
				}
			}()
		}
		for i := range checksN {
			next <- i
		}
		close(next)
		wg.Wait()
		slices.Sort(lat)
		_ = stdin.Close()
		_ = swarm.Wait()
		b.ReportMetric(float64(mem1-mem0)/float64(n), "bytes/conn")
		b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/conn")
		b.ReportMetric(float64(lat[checksN/2].Microseconds())/1000, "ms-p50")
		b.ReportMetric(float64(lat[checksN*99/100].Microseconds())/1000, "ms-p99")
		b.ReportMetric(connectTime.Seconds(), "s-connect-all")
		b.Logf("%d agents connected in %s; %d B/conn; check round trip p50 %s p99 %s (load %s)", n, connectTime.Round(time.Millisecond),
			(mem1-mem0)/uint64(n), lat[checksN/2], lat[checksN*99/100], loadavg())
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// TestAgentSwarm is the benchmark's other process: with
// BERGAMOT_AGENT_SWARM=N it opens N agent connections to SWARM_HUB from
// 127.0.0.1-200, each with its own certificate from the site CA in
// SWARM_CA, answers every check at once, prints "swarm ready" and holds
// them until its standard input closes. Without it, it is skipped.
func TestAgentSwarm(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("BERGAMOT_AGENT_SWARM"))
	if err != nil || n <= 0 {
		t.Skip("the agent benchmark's helper process")
	}
	rootPEM, err := os.ReadFile(os.Getenv("SWARM_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := manager.ParseCertPEM(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	caDir, site := os.Getenv("SWARM_CA"), os.Getenv("SWARM_SITE")
	hello, _ := wire.Encode(&wire.Message{Type: wire.TypeHello, Hello: &wire.Hello{Host: "bench", Version: "bench", Protocol: wire.Version, Capabilities: []string{"presence"}}})
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	conns := make([]*websocket.Conn, n)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cert := signWith(t, filepath.Join(caDir, "ca.crt"), filepath.Join(caDir, "ca.key"),
				manager.Identity{Kind: manager.KindAgent, Site: site, Name: fmt.Sprintf("bench-%d", i)}, time.Hour)
			pool := newPool(root)
			src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%200))}
			d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
				NetDialContext: (&net.Dialer{LocalAddr: src}).DialContext, ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: 60 * time.Second}
			c, _, err := d.Dial("wss://"+os.Getenv("SWARM_HUB")+"/agent", nil)
			if err != nil {
				errs <- err
				return
			}
			if err := c.WriteMessage(websocket.TextMessage, hello); err != nil {
				errs <- err
				return
			}
			if _, _, err := c.ReadMessage(); err != nil {
				errs <- err
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, c := range conns {
		go func() {
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				m, err := wire.Decode(data)
				if err != nil || m.Type != wire.TypeCheck {
					continue
				}
				out, _ := wire.Encode(&wire.Message{Type: wire.TypeReading, Reading: &wire.Reading{ID: m.Check.ID,
					Result: &checks.Result{Status: checks.StatusOK, Output: "here"}}})
				_ = c.WriteMessage(websocket.TextMessage, out)
			}
		}()
	}
	fmt.Println("swarm ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func newPool(root *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(root)
	return p
}
