package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// countSink counts processed results and, once recording, keeps each
// scheduled result's lateness (started minus due slot).
type countSink struct {
	n         atomic.Int64
	recording atomic.Bool
	mu        sync.Mutex
	late      []float64 // ms
}

func (c *countSink) HandleEvents(_ context.Context, _ pgx.Tx, p *jobs.ProcessedCheck) error {
	c.n.Add(1)
	if c.recording.Load() && p.Result != nil && !p.Result.Scheduled.IsZero() {
		c.mu.Lock()
		c.late = append(c.late, float64(p.Result.Started.Sub(p.Result.Scheduled))/float64(time.Millisecond))
		c.mu.Unlock()
	}
	return nil
}

// lateness returns the p50 and p99 of the recorded lateness in ms.
func (c *countSink) lateness() (p50, p99 float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.late) == 0 {
		return 0, 0
	}
	slices.Sort(c.late)
	at := func(q float64) float64 { return c.late[min(len(c.late)-1, int(q*float64(len(c.late))))] }
	return at(0.5), at(0.99)
}

type benchOptions struct {
	checks      int
	every       time.Duration
	duration    time.Duration
	warmup      time.Duration
	engine      string
	plugin      string
	concurrency int
	cooldown    time.Duration
	peer        *benchPeer
	pgPID       int
	// via is direct (a River worker in this process) or gateway (one
	// remote worker through a serve node's gateway, over loopback).
	via string
}

// benchResult is what one run measured over its window.
type benchResult struct {
	rate, p50, p99 float64
	checks         int64
	cpu            benchCPU // used during the window
	notOK          int64
	example        string
	load           string
}

// plugins are the Nagios plugins --engine nagios can run, by --plugin name;
// %d is the peer's port.
var benchPlugins = map[string]string{
	"dummy": "/usr/lib/nagios/plugins/check_dummy 0 bench",
	"tcp":   "/usr/lib/nagios/plugins/check_tcp -H 127.0.0.1 -p %d",
	"http":  "/usr/lib/nagios/plugins/check_http -H 127.0.0.1 -p %d -u /",
}

// peerKind returns the peer (tcp or http) the run's checks talk to, or "".
func (o benchOptions) peerKind() string {
	switch {
	case o.engine == "tcp" || o.engine == "http":
		return o.engine
	case o.engine == "nagios" && (o.plugin == "tcp" || o.plugin == "http"):
		return o.plugin
	}
	return ""
}

// label names the run: the engine, and the plugin for nagios.
func (o benchOptions) label() string {
	if o.engine == "nagios" {
		return "nagios+check_" + o.plugin
	}
	return o.engine
}

// runBench measures the pipeline end to end (scheduled -> executed -> state
// written) with one serve side and one worker in this process.
func runBench(ctx context.Context, env *Env, args []string) error {
	if isPeerMode(args) {
		return runBenchPeer(ctx, args)
	}
	fs := newFlags("bench", "bergamot bench [--checks 10000] [--every 1s] [--duration 60s] [--engine dummy|tcp|http|nagios [--plugin dummy|tcp|http]] [--via direct|gateway] [--rss-checks 100000]")
	var o benchOptions
	fs.IntVar(&o.checks, "checks", 10000, "checks to schedule")
	fs.DurationVar(&o.every, "every", time.Second, "each check's interval (checks/every is the offered rate)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "measurement window (up to 5m)")
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "time before the window")
	fs.StringVar(&o.engine, "engine", "dummy", "dummy (in-process), tcp or http (native, against a local peer process), or nagios (forks --plugin)")
	fs.StringVar(&o.plugin, "plugin", "dummy", "with --engine nagios: dummy (check_dummy 0), tcp (check_tcp) or http (check_http) against a local peer process")
	fs.IntVar(&o.concurrency, "concurrency", 100, "worker concurrency")
	fs.DurationVar(&o.cooldown, "fetch-cooldown", 0, "least time between two fetches of the worker's queue (default: the worker's)")
	fs.StringVar(&o.via, "via", "direct", "direct (a worker on the database) or gateway (one remote worker through the gateway)")
	rss := fs.Int("rss-checks", 0, "instead: configure this many checks (every 5m) and report the serve RSS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.duration > 5*time.Minute {
		return fmt.Errorf("--duration at most 5m")
	}
	switch o.engine {
	case "dummy", "tcp", "http", "nagios":
	default:
		return fmt.Errorf("--engine %q: want dummy, tcp, http or nagios", o.engine)
	}
	if o.via != "direct" && o.via != "gateway" {
		return fmt.Errorf("--via %q: want direct or gateway", o.via)
	}
	if _, ok := benchPlugins[o.plugin]; !ok {
		return fmt.Errorf("--plugin %q: want dummy, tcp or http", o.plugin)
	}
	env.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := env.OpenDB(ctx, true, 40)
	if err != nil {
		return err
	}
	defer db.Close()
	if *rss > 0 {
		return benchRSS(ctx, env, db, *rss)
	}
	if kind := o.peerKind(); kind != "" {
		if o.peer, err = startBenchPeer(ctx, kind); err != nil {
			return err
		}
		defer o.peer.stop()
	}
	if env.DatabaseURL == "" {
		o.pgPID = postmasterPID(env.Data)
	}
	site, err := benchSite(ctx, env, db, o.checks, o.every, benchCommand(o))
	if err != nil {
		return err
	}
	defer cleanupSite(env, db, site)
	r, err := benchRun(ctx, env, db, o)
	if err != nil {
		return err
	}
	printBench(o, r)
	return nil
}

// benchCommand is the <command> the run's checks use.
func benchCommand(o benchOptions) string {
	port := 0
	if o.peer != nil {
		port = o.peer.Port
	}
	switch o.engine {
	case "nagios":
		line := benchPlugins[o.plugin]
		if strings.Contains(line, "%d") {
			line = fmt.Sprintf(line, port)
		}
		return fmt.Sprintf(`<command name="c" engine="nagios"><parameter name="command_line">%s</parameter></command>`, line)
	case "tcp":
		return fmt.Sprintf(`<command name="c" engine="tcp"><parameter name="host">127.0.0.1</parameter><parameter name="port">%d</parameter></command>`, port)
	case "http":
		return fmt.Sprintf(`<command name="c" engine="http"><parameter name="host">127.0.0.1</parameter><parameter name="port">%d</parameter><parameter name="path">/</parameter></command>`, port)
	}
	return `<command name="c" engine="dummy"><parameter name="output">bench</parameter></command>`
}

// printBench prints one run's line: throughput, lateness, CPU per 1,000
// checks (bergamot = this process plus its reaped children, the plugins),
// the peer's and PostgreSQL's CPU, and the load average at the end.
func printBench(o benchOptions, r benchResult) {
	per := func(sec float64) float64 {
		if r.checks == 0 {
			return 0
		}
		return sec / float64(r.checks) * 1000
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bench engine=%s via=%s checks=%d every=%s offered=%.0f/s window=%s: throughput %.0f checks/s, lateness p50 %.0f ms p99 %.0f ms",
		o.label(), o.via, o.checks, o.every, float64(o.checks)/o.every.Seconds(), o.duration, r.rate, r.p50, r.p99)
	fmt.Fprintf(&b, ", cpu/1000 checks: bergamot %.3f s (process %.3f + plugins %.3f)",
		per(r.cpu.self+r.cpu.children), per(r.cpu.self), per(r.cpu.children))
	if o.peer != nil {
		fmt.Fprintf(&b, ", peer %.3f s", per(r.cpu.peer))
	}
	if o.pgPID > 0 {
		fmt.Fprintf(&b, ", postgres %.3f s", per(r.cpu.postgres))
	}
	fmt.Fprintf(&b, ", load %s", r.load)
	if r.notOK > 0 {
		fmt.Fprintf(&b, ", NOT OK %d (e.g. %q)", r.notOK, r.example)
	}
	fmt.Println(b.String())
}

// benchSite creates a site with n checks of command (a <command name="c">
// element), each every interval.
func benchSite(ctx context.Context, env *Env, db *DB, n int, every time.Duration, command string) (uuid.UUID, error) {
	var site uuid.UUID
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		s, err := tenants.CreateSite(ctx, tx, "bench"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "benchmark")
		if err == nil {
			site = s.ID
		}
		return err
	})
	if err != nil {
		return site, err
	}
	var b strings.Builder
	b.WriteString(`<bergamot site="bench">`)
	b.WriteString(command)
	fmt.Fprintf(&b, `<service name="s" template="yes"><check-command command="c"/><schedule every="%s" retry-every="%s" changing-every="%s"/></service>`, every, every, every)
	for h := 0; h*10 < n; h++ {
		fmt.Fprintf(&b, `<host name="h%d" address="127.0.0.1">`, h)
		for s := 0; s < 10 && h*10+s < n; s++ {
			fmt.Fprintf(&b, `<service name="s%d" extends="s"/>`, s)
		}
		b.WriteString(`</host>`)
	}
	b.WriteString(`</bergamot>`)
	doc, err := config.Parse("bench.xml", strings.NewReader(b.String()))
	if err != nil {
		return site, err
	}
	sealer, err := env.Sealer()
	if err != nil {
		return site, err
	}
	err = tenants.InSite(tenants.WithSite(ctx, site), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		res, err := (&store.Configs{Sealer: sealer}).Apply(ctx, tx, doc, "bench", "bench", false)
		if err == nil && !res.OK {
			err = res.Errors
		}
		return err
	})
	return site, err
}

func cleanupSite(env *Env, db *DB, site uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return
	}
	defer conn.Release()
	_ = store.Unschedule(ctx, db.Pool, site)
	_, _ = conn.Exec(ctx, `DELETE FROM river_job WHERE kind = 'check'`)
	if _, err := conn.Exec(ctx, `DELETE FROM sites WHERE id = $1`, site); err != nil {
		env.Logger.Warn("bench site not removed", slog.Any("error", err))
	}
}

// benchRun runs the pipeline and returns results/s over the window, the
// p50/p99 lateness (job start minus due slot) in ms and the CPU used.
func benchRun(ctx context.Context, env *Env, db *DB, o benchOptions) (r benchResult, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := env.Logger
	rc, err := riverclient.NewInsertClient(db.Pool, log)
	if err != nil {
		return r, err
	}
	sealer, err := env.Sealer()
	if err != nil {
		return r, err
	}
	reg, err := buildRegistry(log, o.engine, nil)
	if err != nil {
		return r, err
	}
	if o.via == "gateway" {
		stop, err := startBenchGateway(ctx, log, db, sealer, reg, o)
		if err != nil {
			return r, err
		}
		defer stop()
	} else {
		w := &jobs.ExecuteWorker{Pool: db.Pool, Engines: reg, Sealer: sealer, WorkerID: "bench", Logger: log, SpecTTL: time.Minute}
		wc, err := jobs.NewWorkerClient(db.Pool, jobs.WorkerConfig{Zone: "default", Concurrency: o.concurrency, Worker: w, Logger: log, FetchCooldown: o.cooldown})
		if err != nil {
			return r, err
		}
		if err := wc.Start(ctx); err != nil {
			return r, err
		}
		defer func() {
			sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
			defer c()
			_ = wc.StopAndCancel(sctx)
		}()
	}
	sink, status := &countSink{}, &statusSink{}
	var wg sync.WaitGroup
	for _, f := range jobs.NewServe(ctx, jobs.ServeConfig{Pool: db.Pool, River: rc, Logger: log, Sinks: []jobs.EventSink{sink, status}}).Loops() {
		wg.Add(1)
		go func() { defer wg.Done(); _ = f(ctx) }()
	}
	defer wg.Wait()
	defer cancel()
	select {
	case <-ctx.Done():
		return r, ctx.Err()
	case <-time.After(o.warmup):
	}
	peerPID := 0
	if o.peer != nil {
		peerPID = o.peer.cmd.Process.Pid
	}
	start, n0, cpu0 := time.Now(), sink.n.Load(), readCPU(peerPID, o.pgPID)
	sink.recording.Store(true)
	status.recording.Store(true)
	select {
	case <-ctx.Done():
		return r, ctx.Err()
	case <-time.After(o.duration):
	}
	cpu1, n1 := readCPU(peerPID, o.pgPID), sink.n.Load()
	r.checks = n1 - n0
	r.rate = float64(r.checks) / time.Since(start).Seconds()
	r.p50, r.p99 = sink.lateness()
	r.cpu = benchCPU{self: cpu1.self - cpu0.self, children: cpu1.children - cpu0.children,
		peer: cpu1.peer - cpu0.peer, postgres: cpu1.postgres - cpu0.postgres}
	r.notOK, r.load = status.notOK.Load(), loadAverage()
	if e := status.example.Load(); e != nil {
		r.example = *e
	}
	return r, nil
}

// benchRSS configures n checks every 5 minutes, then starts a separate
// `bergamot serve` process on the same database (everything a serve node
// runs: API, hub, scheduler, processor, watchdog, sweeps) and reports its
// resident memory after it has run for a while. The configuration is applied
// here, so the apply's own memory is not counted as the server's.
func benchRSS(ctx context.Context, env *Env, db *DB, n int) error {
	site, err := benchSite(ctx, env, db, n, 5*time.Minute, benchCommand(benchOptions{engine: "dummy"}))
	if err != nil {
		return err
	}
	defer cleanupSite(env, db, site)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "serve", "--listen", "127.0.0.1:0")
	// No worker runs here: with a short start-within the watchdog turns the
	// queued checks into TIMEOUT results, so the processor and the hub work
	// through a steady flow of results as they would in production.
	cmd.Env = append(os.Environ(), "DATABASE_URL="+db.OwnerURL, "BERGAMOT_LOG_LEVEL=warn", "BERGAMOT_START_WITHIN=5s")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting bergamot serve: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return fmt.Errorf("bergamot serve ended early: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
			fmt.Printf("bench serve rss checks=%d %s\n", n, strings.Join(strings.Fields(l), " "))
		}
	}
	return nil
}
