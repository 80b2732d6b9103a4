package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/metrics"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/server"
	"github.com/bergamot-monitoring/bergamot/store"
)

// version is set at build time.
var version = "dev"

type serveOptions struct {
	listen       string
	signupOpen   bool
	signupInvite bool
	startWithin  time.Duration
	// tls is nil (plain HTTP) for `bergamot run`.
	tls            *server.TLS
	trustedProxies []netip.Prefix
	// httpListen is an extra plain-HTTP listener that redirects to HTTPS.
	httpListen string
	agent      agentOptions
	agentHub   *agentHubNode // set by runServe when the agent hub runs
}

// envDuration reads a duration from the environment, def when unset or bad.
func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil && d > 0 {
		return d
	}
	return def
}

// envInt reads a positive integer from the environment, 0 (the default)
// when unset or bad.
func envInt(key string) int {
	n, err := strconv.Atoi(os.Getenv(key))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// httpTimeouts are the listener's timeouts from BERGAMOT_HTTP_* (unset
// means the default of server.DefaultTimeouts).
func httpTimeouts() server.Timeouts {
	d := server.DefaultTimeouts()
	return server.Timeouts{ReadHeader: envDuration("BERGAMOT_HTTP_READ_HEADER_TIMEOUT", d.ReadHeader),
		Read: envDuration("BERGAMOT_HTTP_READ_TIMEOUT", d.Read), Idle: envDuration("BERGAMOT_HTTP_IDLE_TIMEOUT", d.Idle),
		MaxHeaderBytes: envInt("BERGAMOT_HTTP_MAX_HEADER_BYTES")}
}

// runServe runs the serve role on db until ctx ends.
func runServe(ctx context.Context, env *Env, db *DB, o serveOptions, g *errgroup.Group) (string, error) {
	log := env.Logger
	if applied := server.TuneGC(); len(applied) > 0 {
		log.LogAttrs(ctx, slog.LevelDebug, "GC tuned for an API node", applied...)
	}
	rc, err := riverclient.NewInsertClient(db.Pool, log)
	if err != nil {
		return "", err
	}
	sealer, err := env.Sealer()
	if err != nil {
		return "", err
	}
	hub := newHub(ctx, env, db, sealer, g)
	if o.agent.manager != "" {
		if o.agentHub, err = startAgentHub(ctx, env, db, sealer, o.agent, hub.Node, g); err != nil {
			return "", err
		}
	}
	app, err := newApp(ctx, env, db, rc, sealer, o)
	if err != nil {
		return "", err
	}
	metrics.Role(version, "serve")
	handler := server.New(server.Options{Pool: db.Pool, Logger: log, Metrics: &server.Metrics{Pool: db.Pool, Token: os.Getenv("BERGAMOT_METRICS_TOKEN")},
		GraphQL: app.graphql, REST: app.rest, Frontend: app.frontend, Worker: hub, TrustedProxies: o.trustedProxies, CSRF: app.csrf,
		StatusPages: app.statusPages})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		return "", fmt.Errorf("listening on %s: %w (set BERGAMOT_LISTEN or --listen to another address)", o.listen, err)
	}
	g.Go(func() error { return o.tls.Serve(ctx, ln, handler, httpTimeouts()) })
	if o.httpListen != "" {
		_, run, err := listenHTTP(ctx, o.tls, o.httpListen, ln.Addr().String())
		if err != nil {
			return "", err
		}
		g.Go(run)
	}
	for _, loop := range app.loops {
		g.Go(func() error { return loop(ctx) })
	}
	// Every serve node accepts remote workers (/worker): the proxies that
	// internal checks (bergamot-internal-proxies) count.
	pres := nodePresence(env, db, jobs.RoleServe, []string{"worker-gateway"})
	g.Go(func() error { return pres.Run(ctx) })
	return ln.Addr().String(), nil
}

type workerOptions struct {
	zone        string
	engines     string
	concurrency int
	rescueAfter time.Duration
	// traps, when set, is the UDP address SNMP traps are received on.
	traps string
	// metricsListen, when set, is the address /metrics is served on.
	metricsListen string
}

// serveMetrics serves /metrics on addr (--metrics-listen) until ctx ends;
// nothing when addr is empty. The address is logged ("metrics listening").
func serveMetrics(ctx context.Context, log *slog.Logger, addr string) error {
	if addr == "" {
		return nil
	}
	got, errc, err := metrics.Serve(ctx, addr, os.Getenv("BERGAMOT_METRICS_TOKEN"))
	if err != nil {
		return fmt.Errorf("%w (set --metrics-listen or BERGAMOT_METRICS_LISTEN to another address)", err)
	}
	go func() {
		if err := <-errc; err != nil {
			log.ErrorContext(ctx, "metrics listener failed", slog.Any("error", err))
		}
	}()
	log.InfoContext(ctx, "metrics listening", slog.String("addr", got), slog.String("path", "/metrics"))
	return nil
}

// addMetricsFlag adds --metrics-listen (env BERGAMOT_METRICS_LISTEN).
func addMetricsFlag(fs *flag.FlagSet) *string {
	return fs.String("metrics-listen", os.Getenv("BERGAMOT_METRICS_LISTEN"),
		"serve Prometheus metrics on this address at /metrics, e.g. 127.0.0.1:9464 (env BERGAMOT_METRICS_LISTEN; off when empty)")
}

func runWorker(ctx context.Context, env *Env, db *DB, o workerOptions, g *errgroup.Group) error {
	log := env.Logger.With(slog.String("role", "worker"), slog.String("zone", o.zone))
	reg, err := buildRegistry(log, o.engines, &engineEnv{KnownHosts: &store.HostKeys{Pool: db.Pool}, Self: &store.SelfCheck{Pool: db.Pool},
		Queue: &jobs.QueueStats{Pool: db.Pool}})
	if err != nil {
		return err
	}
	reg.SetPolicy(env.Policy)
	sealer, err := env.Sealer()
	if err != nil {
		return err
	}
	metrics.Role(version, "worker")
	metrics.Engines(reg.Names())
	metrics.Pool(db.Pool)
	if err := serveMetrics(ctx, log, o.metricsListen); err != nil {
		return err
	}
	if err := claimSharedZone(ctx, db, o.zone, log); err != nil {
		return err
	}
	host, _ := os.Hostname()
	id := uuid.New()
	w := &jobs.ExecuteWorker{Pool: db.Pool, Engines: reg, Sealer: sealer, WorkerID: fmt.Sprintf("%s/%s", host, id.String()[:8]), Logger: log,
		SpecTTL: time.Minute}
	// Cached check definitions are dropped on every configuration change.
	g.Go(w.FollowConfig(ctx))
	rc, err := jobs.NewWorkerClient(db.Pool, jobs.WorkerConfig{Zone: o.zone, Concurrency: o.concurrency, Worker: w, Logger: log, RescueAfter: o.rescueAfter})
	if err != nil {
		return err
	}
	if err := rc.Start(ctx); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}
	pres := &jobs.Presence{Pool: db.Pool, ID: id, Name: w.WorkerID, Zone: o.zone, Engines: reg.Names(), Version: version, Logger: log, InFlight: w.InFlight}
	g.Go(func() error { return pres.Run(ctx) })
	if o.traps != "" {
		ti := &jobs.TrapIngest{Pool: db.Pool, Sealer: sealer, Logger: log.With(slog.String("component", "traps"))}
		g.Go(func() error { return ti.Run(ctx, o.traps) })
	}
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Finish running checks; anything unfinished is handed back to River.
		return rc.Stop(sctx)
	})
	log.InfoContext(ctx, "worker started", slog.String("engines", strings.Join(reg.Names(), ",")), slog.Int("concurrency", o.concurrency))
	return nil
}

func cmdServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("serve", "bergamot serve [--listen :8080] [--signup open|invite|closed] [--tls auto|acme|files|off] [--tls-cert F --tls-key F] [--tls-names N,...] [--acme-directory URL] [--trusted-proxy CIDR]")
	listen := fs.String("listen", env.Listen, "HTTP listen address")
	signup := fs.String("signup", getenv("BERGAMOT_SIGNUP", "open"), "who may sign up a new site: open (anyone), invite (with a code from `bergamot site invite`) or closed (env BERGAMOT_SIGNUP)")
	tf := addTLSFlags(fs)
	startWithin := fs.Duration("start-within", envDuration("BERGAMOT_START_WITHIN", 60*time.Second),
		"how long a queued check may wait for a worker before it is reported TIMEOUT (env BERGAMOT_START_WITHIN)")
	pf := addPolicyFlags(fs, "")
	ao := addAgentFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *signup != "open" && *signup != "closed" && *signup != "invite" {
		return fmt.Errorf("--signup must be open, invite or closed, not %q", *signup)
	}
	tlsSetup, proxies, err := tf.resolve(env, *listen)
	if err != nil {
		return err
	}
	if *pf.mode == "" {
		*pf.mode = servePolicyDefault(*signup == "open")
	}
	if err := pf.apply(ctx, env); err != nil {
		return err
	}
	db, err := env.OpenDB(ctx, true, 40)
	if err != nil {
		return err
	}
	defer db.Close()
	g, gctx := errgroup.WithContext(ctx)
	addr, err := runServe(gctx, env, db, serveOptions{listen: *listen, signupOpen: *signup == "open", signupInvite: *signup == "invite", startWithin: *startWithin,
		tls: tlsSetup, trustedProxies: proxies, httpListen: *tf.httpListen, agent: ao.options()}, g)
	if err != nil {
		return err
	}
	scheme := "https"
	if tlsSetup.Config == nil {
		scheme = "http"
	}
	env.Logger.InfoContext(ctx, "serving", slog.String("addr", addr), slog.String("tls", tlsSetup.Mode), slog.String("dashboard", scheme+"://"+displayAddr(addr)+"/"))
	return g.Wait()
}

func cmdWorker(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("worker", "bergamot worker [--zone default] [--engines nagios,http,...] [--concurrency 100] [--traps :162] [--metrics-listen ADDR]\n  bergamot worker --hub wss://HOST/worker[,URL...] --key-file FILE [--ca-file FILE] [--engines ...] [--concurrency 100] [--metrics-listen ADDR]")
	zone := fs.String("zone", env.Zone, "the zone whose checks this worker runs")
	engines := fs.String("engines", "", "comma-separated engines to offer (default all: "+strings.Join(allEngines(), ",")+")")
	conc := fs.Int("concurrency", 100, "checks run at once")
	rescue := fs.Duration("rescue-after", envDuration("BERGAMOT_RESCUE_AFTER", 0),
		"how long a check may run before it is handed to another worker as its worker is presumed dead (default 3m; env BERGAMOT_RESCUE_AFTER)")
	traps := fs.String("traps", "", "receive SNMP traps for every site's trap checks on this UDP address (e.g. :162)")
	hubs := fs.String("hub", "", "remote worker: the gateway URL(s) of serve nodes, comma-separated (wss://HOST/worker); no DATABASE_URL needed")
	keyFile := fs.String("key-file", "", "remote worker: file holding the worker key (createWorkerKey, or bergamot zone key create for an operator zone)")
	caFile := fs.String("ca-file", "", "remote worker: PEM CA certificate(s) to trust for wss:// (default the system's)")
	name := fs.String("name", "", "remote worker: the name shown for this worker (default the host name)")
	metricsListen := addMetricsFlag(fs)
	pf := addPolicyFlags(fs, checks.PolicyHosted)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := pf.apply(ctx, env); err != nil {
		return err
	}
	if *hubs != "" || *keyFile != "" {
		if *hubs == "" || *keyFile == "" {
			return errors.New("a remote worker needs both --hub URL and --key-file FILE")
		}
		return runRemoteWorker(ctx, env, remoteOptions{hubs: *hubs, keyFile: *keyFile, caFile: *caFile, engines: *engines, name: *name, concurrency: *conc,
			metricsListen: *metricsListen})
	}
	if env.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required for a direct worker (it reaches the queue in PostgreSQL); a remote worker takes --hub URL --key-file FILE instead")
	}
	db, err := env.OpenWorkerDB(ctx, int32(min(*conc+5, 60)))
	if err != nil {
		return err
	}
	defer db.Close()
	g, gctx := errgroup.WithContext(ctx)
	if err := runWorker(gctx, env, db, workerOptions{zone: *zone, engines: *engines, concurrency: *conc, traps: *traps, rescueAfter: *rescue,
		metricsListen: *metricsListen}, g); err != nil {
		return err
	}
	return g.Wait()
}

func cmdNotifier(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("notifier", "bergamot notifier [--metrics-listen ADDR] [--exec-policy hosted|trusted] [--allow-net CIDR]")
	metricsListen := addMetricsFlag(fs)
	pf := addPolicyFlags(fs, checks.PolicyHosted)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := pf.apply(ctx, env); err != nil {
		return err
	}
	db, err := env.OpenDB(ctx, false, 30)
	if err != nil {
		return err
	}
	defer db.Close()
	g, gctx := errgroup.WithContext(ctx)
	metrics.Role(version, "notifier")
	metrics.Pool(db.Pool)
	if err := serveMetrics(gctx, env.Logger.With(slog.String("role", "notifier")), *metricsListen); err != nil {
		return err
	}
	if err := runNotifier(gctx, env, db, g); err != nil {
		return err
	}
	return g.Wait()
}

func cmdRun(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("run", "bergamot run [--listen :8080] [--demo=true]")
	listen := fs.String("listen", env.Listen, "HTTP listen address")
	demo := fs.Bool("demo", true, "create the demo site on first start")
	pf := addPolicyFlags(fs, checks.PolicyTrusted) // one operator; the demo checks localhost
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := pf.apply(ctx, env); err != nil {
		return err
	}
	start := time.Now()
	if env.DatabaseURL == "" {
		env.Logger.InfoContext(ctx, "starting private PostgreSQL", slog.String("data", env.Data))
	}
	db, err := env.OpenDB(ctx, true, 60)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	// A failure while starting stops what already started (the server, the
	// worker, the demo's NRPE daemon) before returning.
	fail := func(err error) error {
		cancel()
		_ = g.Wait()
		return err
	}
	addr, err := runServe(gctx, env, db, serveOptions{listen: *listen, signupOpen: true}, g)
	if err != nil {
		return fail(err)
	}
	if err := runWorker(gctx, env, db, workerOptions{zone: "default", concurrency: 50}, g); err != nil {
		return fail(err)
	}
	if err := runNotifier(gctx, env, db, g); err != nil {
		return fail(err)
	}
	if *demo {
		_, port, _ := net.SplitHostPort(addr)
		if err := ensureDemo(gctx, env, db, port, g); err != nil {
			return fail(fmt.Errorf("creating demo site: %w", err))
		}
	}
	env.Logger.InfoContext(ctx, "Bergamot is running", slog.String("dashboard", "http://"+displayAddr(addr)+"/"), slog.String("startup", time.Since(start).Round(time.Millisecond).String()))
	fmt.Fprintf(os.Stderr, "\n  Dashboard: http://%s/   (Ctrl-C stops Bergamot and its database)\n\n", displayAddr(addr))
	err = g.Wait()
	env.Logger.Info("stopped")
	return err
}

func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
