package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

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
	listen      string
	signupOpen  bool
	startWithin time.Duration
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
	app, err := newApp(ctx, env, db, rc, sealer, o)
	if err != nil {
		return "", err
	}
	hub := newHub(ctx, env, db, sealer, g)
	handler := server.New(server.Options{Pool: db.Pool, Logger: log, Metrics: &server.Metrics{Pool: db.Pool, Token: os.Getenv("BERGAMOT_METRICS_TOKEN")},
		GraphQL: app.graphql, REST: app.rest, Frontend: app.frontend, Worker: hub})
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.listen)
	if err != nil {
		return "", fmt.Errorf("listening on %s: %w (set BERGAMOT_LISTEN or --listen to another address)", o.listen, err)
	}
	srv := server.HTTPServer(ctx, handler, httpTimeouts())
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
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
}

func runWorker(ctx context.Context, env *Env, db *DB, o workerOptions, g *errgroup.Group) error {
	log := env.Logger.With(slog.String("role", "worker"), slog.String("zone", o.zone))
	reg, err := buildRegistry(log, o.engines, &engineEnv{KnownHosts: &store.HostKeys{Pool: db.Pool}, Self: &store.SelfCheck{Pool: db.Pool}})
	if err != nil {
		return err
	}
	reg.SetPolicy(env.Policy)
	sealer, err := env.Sealer()
	if err != nil {
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
	fs := newFlags("serve", "bergamot serve [--listen :8080] [--signup open|closed]")
	listen := fs.String("listen", env.Listen, "HTTP listen address")
	signup := fs.String("signup", "open", "whether anyone may sign up a new site: open or closed")
	startWithin := fs.Duration("start-within", envDuration("BERGAMOT_START_WITHIN", 60*time.Second),
		"how long a queued check may wait for a worker before it is reported TIMEOUT (env BERGAMOT_START_WITHIN)")
	pf := addPolicyFlags(fs, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *signup != "open" && *signup != "closed" {
		return fmt.Errorf("--signup must be open or closed, not %q", *signup)
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
	addr, err := runServe(gctx, env, db, serveOptions{listen: *listen, signupOpen: *signup == "open", startWithin: *startWithin}, g)
	if err != nil {
		return err
	}
	env.Logger.InfoContext(ctx, "serving", slog.String("addr", addr))
	return g.Wait()
}

func cmdWorker(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("worker", "bergamot worker [--zone default] [--engines nagios,http,...] [--concurrency 100] [--traps :162]\n  bergamot worker --hub wss://HOST/worker[,URL...] --key-file FILE [--ca-file FILE] [--engines ...] [--concurrency 100]")
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
		return runRemoteWorker(ctx, env, remoteOptions{hubs: *hubs, keyFile: *keyFile, caFile: *caFile, engines: *engines, name: *name, concurrency: *conc})
	}
	if env.DatabaseURL == "" {
		return errors.New("DATABASE_URL is required for a direct worker (it reaches the queue in PostgreSQL); a remote worker takes --hub URL --key-file FILE instead")
	}
	db, err := env.OpenDB(ctx, false, int32(min(*conc+5, 60)))
	if err != nil {
		return err
	}
	defer db.Close()
	g, gctx := errgroup.WithContext(ctx)
	if err := runWorker(gctx, env, db, workerOptions{zone: *zone, engines: *engines, concurrency: *conc, traps: *traps, rescueAfter: *rescue}, g); err != nil {
		return err
	}
	return g.Wait()
}

func cmdNotifier(ctx context.Context, env *Env, args []string) error {
	fs := newFlags("notifier", "bergamot notifier [--exec-policy hosted|trusted] [--allow-net CIDR]")
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
