package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const plugins = "/usr/lib/nagios/plugins"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// bergamotBinary builds cmd/bergamot once per test binary.
func bergamotBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bergamot-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bergamot")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/bergamot").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("building bergamot: %v", binErr)
	}
	return binPath
}

// rig is one serve node in-process (scheduler, processor, watchdog and the
// gateway on a loopback HTTP server) with two sites, A and B, whose
// configurations both name the private zone "edge".
type rig struct {
	t      testing.TB
	ctx    context.Context
	cancel context.CancelFunc
	db     *pgtest.DB
	log    *slog.Logger
	rc     *river.Client[pgx.Tx]
	sealer *store.Sealer
	st     *gateway.Store
	hub    *gateway.Hub
	url    string
	sites  map[string]uuid.UUID
	sink   *countingSink
	wg     sync.WaitGroup
}

// countingSink counts processed results per check and slot.
type countingSink struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingSink) HandleEvents(_ context.Context, _ pgx.Tx, pc *jobs.ProcessedCheck) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[pc.CheckID.String()+"@"+pc.Result.Scheduled.UTC().Format(time.RFC3339Nano)]++
	return nil
}

func (c *countingSink) counts(check uuid.UUID) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		if strings.HasPrefix(k, check.String()+"@") {
			out[k] = v
		}
	}
	return out
}

// newRigDB creates the database, the sites and their configurations.
func newRigDB(t testing.TB, configs map[string]string) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("runs worker processes")
	}
	db := pgtest.New(t)
	r := &rig{t: t, db: db, log: slog.New(slog.DiscardHandler), sites: map[string]uuid.UUID{}, sink: &countingSink{}}
	if testing.Verbose() {
		r.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() { r.cancel(); r.wg.Wait() })
	var err error
	if r.sealer, err = store.NewSealer(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if r.rc, err = riverclient.NewInsertClient(db.Pool, r.log); err != nil {
		t.Fatal(err)
	}
	for name, xml := range configs {
		err := pgx.BeginFunc(r.ctx, db.Pool, func(tx pgx.Tx) error {
			s, err := tenants.CreateSite(r.ctx, tx, name+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
			if err == nil {
				r.sites[name] = s.ID
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := config.Parse(name+".xml", strings.NewReader(xml))
		if err != nil {
			t.Fatal(err)
		}
		r.inSite(name, func(ctx context.Context, tx pgx.Tx) error {
			res, err := (&store.Configs{Sealer: r.sealer}).Apply(ctx, tx, doc, "test", name+".xml", false)
			if err == nil && !res.OK {
				err = res.Errors
			}
			return err
		})
	}
	r.st = &gateway.Store{Pool: db.Pool}
	return r
}

// newRig is newRigDB with one serve node in this process.
func newRig(t testing.TB, configs map[string]string) *rig {
	t.Helper()
	r := newRigDB(t, configs)
	db := r.db
	serve := jobs.NewServe(r.ctx, jobs.ServeConfig{Pool: db.Pool, River: r.rc, Logger: r.log, Sinks: []jobs.EventSink{r.sink},
		StartWithin: 3 * time.Second, Tick: 20 * time.Millisecond, WatchEvery: 200 * time.Millisecond})
	r.hub = &gateway.Hub{Store: r.st, Pool: db.Pool, Logger: r.log, Node: "test-node", LostGrace: time.Second,
		FetchPollInterval: 50 * time.Millisecond,
		Worker:            &jobs.ExecuteWorker{Pool: db.Pool, Sealer: r.sealer, Logger: r.log}}
	for _, f := range append(serve.Loops(), r.hub.Run) {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); _ = f(r.ctx) }()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /worker", r.hub)
	srv := httptest.NewServer(mux) // 127.0.0.1:0
	t.Cleanup(srv.Close)
	r.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/worker"
	return r
}

func (r *rig) inSite(site string, fn func(ctx context.Context, tx pgx.Tx) error) {
	r.t.Helper()
	if err := tenants.InSite(tenants.WithSite(r.ctx, r.sites[site]), r.db.Pool, fn); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) siteCtx(site string) context.Context { return tenants.WithSite(r.ctx, r.sites[site]) }

// key creates a worker key for site's zone and writes it to a file.
func (r *rig) key(site, zone string) (*gateway.WorkerKey, string) {
	r.t.Helper()
	k, err := r.st.CreateKey(r.siteCtx(site), zone, "w-"+site)
	if err != nil {
		r.t.Fatal(err)
	}
	f := filepath.Join(r.t.TempDir(), "key")
	if err := os.WriteFile(f, []byte(*k.Key+"\n"), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return k, f
}

// worker starts `bergamot worker --hub URL --key-file F` with no database
// in its environment.
func (r *rig) worker(name, keyFile string) *exec.Cmd {
	r.t.Helper()
	return r.workerVia(nil, r.url, name, keyFile)
}

// workerVia is worker dialling url, started through the command prefix
// (such as ip netns exec NS) when one is given.
func (r *rig) workerVia(prefix []string, url, name, keyFile string) *exec.Cmd {
	r.t.Helper()
	argv := append(append([]string{}, prefix...), bergamotBinary(r.t), "--log-format", "json", "worker", "--hub", url, "--key-file", keyFile,
		"--name", name, "--concurrency", "5")
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DATABASE_URL=") && !strings.HasPrefix(e, "PG") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	// The tests' plugins live in 0700 temporary directories, which the
	// confined plugin user (nobody, as the tests run as root) cannot reach.
	cmd.Env = append(cmd.Env, "BERGAMOT_DATA="+r.t.TempDir(), "BERGAMOT_PLUGIN_USER=-")
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

type state struct {
	Status, Output string
	Hard           bool
}

func (r *rig) state(site, service string) state {
	r.t.Helper()
	var s state
	r.inSite(site, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT s.status, s.output, s.hard FROM checks c JOIN check_state s ON s.check_id = c.id
			WHERE c.kind = 'service' AND c.name = $1`, service).Scan(&s.Status, &s.Output, &s.Hard)
	})
	return s
}

func (r *rig) checkID(site, service string) uuid.UUID {
	r.t.Helper()
	var id uuid.UUID
	r.inSite(site, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM checks WHERE kind = 'service' AND name = $1`, service).Scan(&id)
	})
	return id
}

func (r *rig) waitFor(what string, within time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func siteXML(services string) string {
	return `<bergamot site="t">
<command name="plugin" engine="nagios"><parameter name="command_line">#{cmd}</parameter></command>
<service name="fast" template="yes"><check-command command="plugin"/>
	<schedule every="1s" retry-every="1s" changing-every="1s"/><state failed-after="2" recovers-after="1"/></service>
<host name="h" address="127.0.0.1" worker-pool="edge">` + services + `</host></bergamot>`
}

func svc(name, cmd string) string {
	return `<service name="` + name + `" extends="fast"><parameter name="cmd">` + cmd + `</parameter></service>`
}

// TestRemoteWorkerRunsOnlyItsSitesPrivateZone: a remote worker holding site
// A's key for zone "edge" runs A's checks to their hard states; site B's
// checks in its own zone "edge" never reach it (they time out naming the
// zone, with no worker connected) until B's own worker comes.
func TestRemoteWorkerRunsOnlyItsSitesPrivateZone(t *testing.T) {
	r := newRig(t, map[string]string{
		"a": siteXML(svc("ok", plugins+"/check_dummy 0 fine") + svc("crit", plugins+"/check_dummy 2 broken")),
		"b": siteXML(svc("warn", plugins+"/check_dummy 1 from-b")),
	})
	_, keyA := r.key("a", "edge")
	_, keyB := r.key("b", "edge")
	r.worker("worker-a", keyA)
	r.waitFor("A's checks at their hard states", 60*time.Second, func() bool {
		ok, crit := r.state("a", "ok"), r.state("a", "crit")
		return ok.Status == "OK" && ok.Hard && crit.Status == "CRITICAL" && crit.Hard
	})
	if s := r.state("a", "crit"); s.Output != "CRITICAL: broken" {
		t.Errorf("A's crit output %q, want the plugin's", s.Output)
	}
	r.waitFor("B's check timing out", 30*time.Second, func() bool { return r.state("b", "warn").Status == "TIMEOUT" })
	want := "no worker in the site's private zone edge took the check within 3s; no worker of the zone is connected"
	if s := r.state("b", "warn"); s.Output != want {
		t.Errorf("B's check output %q, want %q", s.Output, want)
	}
	r.worker("worker-b", keyB)
	r.waitFor("B's check run by B's worker", 60*time.Second, func() bool {
		s := r.state("b", "warn")
		return s.Status == "WARNING" && s.Output == "WARNING: from-b"
	})
	zones, err := r.st.Zones(r.siteCtx("a"))
	if err != nil {
		t.Fatal(err)
	}
	var edge *gateway.Zone
	for _, z := range zones {
		if z.Name == "edge" {
			edge = z
		}
	}
	if edge == nil || edge.Shared || len(edge.Workers) != 1 || edge.Workers[0].Name != "worker-a" || len(edge.Workers[0].Engines) == 0 {
		t.Fatalf("site A's zones: %+v; want edge with worker-a only", zones)
	}
}

// TestKeyOfOneSiteCannotServeAnother: a key names its site, and a key
// whose site part is changed to another site's is refused.
func TestKeyOfOneSiteCannotServeAnother(t *testing.T) {
	r := newRig(t, map[string]string{"a": siteXML(svc("ok", plugins+"/check_dummy 0")), "b": siteXML(svc("ok", plugins+"/check_dummy 0"))})
	kb, _ := r.key("b", "edge")
	sc, err := r.st.Authenticate(r.ctx, *kb.Key)
	if err != nil || sc.Site != r.sites["b"] || sc.Zone != "edge" || sc.Shared {
		t.Fatalf("B's key: scope %+v, %v", sc, err)
	}
	forged := "bgw_" + strings.ReplaceAll(r.sites["a"].String(), "-", "") + (*kb.Key)[len("bgw_")+32:]
	if _, err := r.st.Authenticate(r.ctx, forged); !errors.Is(err, gateway.ErrBadKey) {
		t.Fatalf("B's key relabelled as A's: %v, want ErrBadKey", err)
	}
	hdr := http.Header{"Authorization": {"Bearer " + forged}}
	_, resp, err := websocket.DefaultDialer.Dial(r.url, hdr)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dialling with the forged key: %v (%v); want 401", err, resp)
	}
	// A shared zone's name is not a site's zone.
	if _, err := r.st.CreateKey(r.siteCtx("a"), "default", "x"); err == nil || !strings.Contains(err.Error(), "operator zone") {
		t.Fatalf("site key for the shared zone default: %v", err)
	}
}

// TestRevokedKeyDisconnectsAndZoneTimesOut: revoking a key closes its
// worker's connection within 5 s; the zone's checks then time out naming
// the zone, and a new key restores them.
func TestRevokedKeyDisconnectsAndZoneTimesOut(t *testing.T) {
	r := newRig(t, map[string]string{"a": siteXML(svc("ok", plugins+"/check_dummy 0 fine"))})
	k, keyFile := r.key("a", "edge")
	w := r.worker("worker-a", keyFile)
	r.waitFor("the check OK", 60*time.Second, func() bool { return r.state("a", "ok").Status == "OK" })
	connected := func() int {
		var n int
		r.inSite("a", func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM worker_connections WHERE closed_at IS NULL`).Scan(&n)
		})
		return n
	}
	if n := connected(); n != 1 {
		t.Fatalf("%d connections before revoking, want 1", n)
	}
	if ok, err := r.st.RevokeKey(r.siteCtx("a"), k.ID); err != nil || !ok {
		t.Fatalf("revoking: %v %v", ok, err)
	}
	revoked := time.Now()
	r.waitFor("the connection closed (NOTIFY, not the 2 s poll)", time.Second, func() bool { return connected() == 0 })
	t.Logf("connection closed %s after the revocation", time.Since(revoked).Round(time.Millisecond))
	// The worker gives up once every hub refuses its key.
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("the revoked worker exited 0; want a failure")
		}
	case <-time.After(60 * time.Second):
		t.Error("the revoked worker still runs after 60s")
	}
	r.waitFor("TIMEOUT naming the zone", 30*time.Second, func() bool { return r.state("a", "ok").Status == "TIMEOUT" })
	if s := r.state("a", "ok"); !strings.Contains(s.Output, "private zone edge") || !strings.Contains(s.Output, "no worker of the zone is connected") {
		t.Errorf("timeout output %q", s.Output)
	}
	_, keyFile2 := r.key("a", "edge")
	r.worker("worker-a2", keyFile2)
	r.waitFor("recovery with a new key", 60*time.Second, func() bool { return r.state("a", "ok").Status == "OK" })
}

// TestKilledRemoteWorkerSlotRunsOnce: kill -9 of the remote worker while a
// check runs; another worker runs the job, and every slot's result is
// applied once. The first slot times out before any worker connects: the
// watchdog's TIMEOUT is that slot's one result, and a result without its
// slot fails the test (the watchdog left it out, which read as a stray
// extra result beside the killed slot's own).
func TestKilledRemoteWorkerSlotRunsOnce(t *testing.T) {
	slow := filepath.Join(t.TempDir(), "check_slow")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 2\necho \"OK: slow\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	xml := strings.Replace(siteXML(svc("slow", slow)), `<schedule every="1s"`, `<schedule every="1h"`, 1)
	xml = strings.Replace(xml, `</parameter></service></host>`, `</parameter><parameter name="timeout">4s</parameter></service></host>`, 1)
	bergamotBinary(t) // built before the scheduler runs, so that the worker comes soon after
	r := newRig(t, map[string]string{"a": xml})
	_, keyFile := r.key("a", "edge")
	// The first slot times out with no worker connected (the watchdog's
	// TIMEOUT for that slot); the worker comes after it.
	r.waitFor("the first slot's TIMEOUT", 60*time.Second, func() bool { return r.state("a", "slow").Status == "TIMEOUT" })
	w := r.worker("worker-a", keyFile)
	var killedSlot time.Time
	running := func() bool {
		var n int
		var slot *time.Time
		if err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*), max((args->>'slot')::timestamptz) FROM river_job WHERE kind = 'check' AND state = 'running'`).Scan(&n, &slot); err != nil {
			t.Fatal(err)
		}
		if n == 1 && slot != nil {
			killedSlot = *slot
		}
		return n == 1
	}
	r.waitFor("the check running on the remote worker", 60*time.Second, running)
	time.Sleep(500 * time.Millisecond) // the plugin has started
	if err := w.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w.Wait()
	r.worker("worker-a2", keyFile)
	r.waitFor("the check OK from the second worker", 60*time.Second, func() bool { return r.state("a", "slow").Status == "OK" })
	time.Sleep(3 * time.Second) // room for a duplicate to show
	counts := r.sink.counts(r.checkID("a", "slow"))
	killed := r.checkID("a", "slow").String() + "@" + killedSlot.UTC().Format(time.RFC3339Nano)
	if counts[killed] != 1 {
		t.Errorf("the killed worker's slot %s applied %d times, want once (results by slot %v)", killedSlot, counts[killed], counts)
	}
	if len(counts) < 2 {
		t.Errorf("results by slot %v; want the timed-out slot and the killed worker's", counts)
	}
	for slot, n := range counts {
		if strings.HasSuffix(slot, "@"+time.Time{}.Format(time.RFC3339Nano)) {
			t.Errorf("%d result(s) applied without their slot (results by slot %v)", n, counts)
		} else if n != 1 {
			t.Errorf("slot %s applied %d times, want once", slot, n)
		}
	}
}

// TestDisabledSitesKeysRefused: a disabled site's keys no longer authenticate.
func TestDisabledSitesKeysRefused(t *testing.T) {
	r := newRig(t, map[string]string{"a": siteXML(svc("ok", plugins+"/check_dummy 0"))})
	k, _ := r.key("a", "edge")
	if _, err := r.st.Authenticate(r.ctx, *k.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE sites SET disabled = true WHERE id = $1`, r.sites["a"]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Authenticate(r.ctx, *k.Key); !errors.Is(err, gateway.ErrBadKey) {
		t.Fatalf("disabled site's key: %v, want ErrBadKey", err)
	}
}
