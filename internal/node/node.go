// Package node assembles a serve node: the configuration validators, the
// live hub, the GraphQL resolver and handler, the REST facade, the event
// sinks (notifications, virtual checks), the pipeline's serve loops
// (jobs.NewServe) and the sweeps (freshness, downtime, escalation).
// Production (cmd/bergamot runServe) and the API test rig
// (internal/apitest Start) both call New, so tests exercise what
// production runs; the pipeline's own test rigs, inside package jobs, call
// jobs.NewServe, the part of New they can import.
package node

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/internal/lattrace"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/live"
	"github.com/bergamot-monitoring/bergamot/notifiers/dispatch"
	"github.com/bergamot-monitoring/bergamot/rest"
	"github.com/bergamot-monitoring/bergamot/statuspage"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Validators are the checks beyond config.Resolve that every configuration
// apply runs (store.Configs.Validators), each owned by its domain:
// cluster and resource conditions and their cycles, passive checks'
// freshness parameters (config), and contacts' notification channels
// (notifiers/dispatch, with the default channels), and the operator's
// minimum check interval (config.MinInterval; zero means
// config.DefaultMinInterval).
func Validators(minInterval time.Duration) []store.Validator {
	if minInterval <= 0 {
		minInterval = config.DefaultMinInterval
	}
	return []store.Validator{config.ValidateConditions, config.ValidateCycles, config.ValidateFreshness,
		dispatch.DefaultChannels(nil).Validate, config.MinInterval(minInterval)}
}

// Options are a serve node's parts and settings.
type Options struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// River inserts jobs (riverclient.NewInsertClient).
	River  *river.Client[pgx.Tx]
	Sealer *store.Sealer
	// Validators run on every configuration apply (default Validators(0)).
	Validators []store.Validator
	Tenants    *tenants.Store
	// Limits are the per-site limits the API and the scheduler share (nil:
	// the operator defaults).
	Limits *tenants.SiteLimits
	// SiteInit returns what a new site starts with, given the node's
	// configuration store (nil: an empty site).
	SiteInit   func(*store.Configs) tenants.SiteInitializer
	SignupOpen bool
	// SignupInvite opens signup to holders of an operator's invitation code.
	SignupInvite bool
	StartWithin  time.Duration
	// GraphQL are the GraphQL handler's options.
	GraphQL graph.HandlerOptions
	// Notifications, when set, receives the events of processed results
	// (a dispatch.Sink queues its jobs) and sends the APIs' test
	// notifications. Nil: no notifications (the API test rig).
	Notifications *dispatch.Dispatcher
	// ProcessOnly runs the result processor without the scheduler and the
	// watchdog (the API test rig queues results itself).
	ProcessOnly bool
	// NoSweeps leaves out virtual-check evaluation, freshness and the
	// downtime and escalation sweeps (the API test rig).
	NoSweeps bool
	// Agents is the node's agent hub (nil: the node runs none).
	Agents graph.AgentHub
	// Stages is the latency benchmark's tracer (nil in production).
	Stages lattrace.Tracer
	// StatusPages configures the public status pages (TTL, rate limit);
	// DB, Sites and Logger are filled in.
	StatusPages statuspage.Options
}

// Node is an assembled serve node; Loops runs it.
type Node struct {
	Configs  *store.Configs
	Hub      *live.Hub
	Resolver *graph.Resolver
	// GraphQL and REST are the APIs' handlers for server.Options.
	GraphQL, REST http.Handler
	// StatusPages serves the public status pages (server.Options).
	StatusPages *statuspage.Handler
	// Sinks see every processed batch's events.
	Sinks []jobs.EventSink
	// Serve are the pipeline's serve loops.
	Serve *jobs.Serve
	loops []func(context.Context) error
}

// New assembles a serve node. ctx bounds the LISTEN connections the loops
// wake on; nothing runs until the caller runs Loops.
func New(ctx context.Context, o Options) *Node {
	log := o.Logger
	if o.Validators == nil {
		o.Validators = Validators(0)
	}
	n := &Node{Configs: &store.Configs{Sealer: o.Sealer, Validators: o.Validators}, Hub: live.NewHub(o.Pool, log)}
	if o.Sealer != nil && o.Tenants != nil {
		o.Tenants.SetSealer(o.Sealer) // TOTP secrets are sealed like site credentials
	}
	n.Hub.Trace = o.Stages
	n.Resolver = &graph.Resolver{Pool: o.Pool, Tenants: o.Tenants, Limits: o.Limits, Configs: n.Configs, River: o.River, Hub: n.Hub, Logger: log,
		SignupOpen: o.SignupOpen, SignupInvite: o.SignupInvite, StartWithin: o.StartWithin}
	n.Resolver.Agents = o.Agents
	if o.SiteInit != nil {
		n.Resolver.SiteInit = o.SiteInit(n.Configs)
	}
	n.GraphQL = n.Resolver.NewHandler(o.GraphQL)
	n.REST = rest.New(n.Resolver, log)
	sp := o.StatusPages
	sp.DB, sp.Sites, sp.Logger = o.Pool, o.Tenants, log.With(slog.String("component", "statuspage"))
	n.StatusPages = statuspage.New(sp)
	n.loops = []func(context.Context) error{n.Hub.Run}
	// Notifications: processed events queue notification jobs (the
	// notifier role works them).
	if o.Notifications != nil {
		n.Resolver.Tests = o.Notifications
		n.Sinks = append(n.Sinks, &dispatch.Sink{River: o.River})
	}
	if !o.NoSweeps {
		// Virtual checks re-evaluate after each processed batch and forward
		// their events to the sinks registered before them; passive checks
		// go stale; downtimes start and end (docs/downtime.md); alerts
		// escalate.
		vs := &jobs.VirtualSink{Pool: o.Pool, Logger: log.With(slog.String("component", "virtual")), Forward: slices.Clone(n.Sinks)}
		n.Sinks = append(n.Sinks, vs)
		fresh := &jobs.Freshness{Pool: o.Pool, Logger: log.With(slog.String("component", "freshness"))}
		down := &jobs.DowntimeSweep{Pool: o.Pool, Logger: log.With(slog.String("component", "downtime")), Sinks: n.Sinks,
			Wake: jobs.Wakeup(ctx, o.Pool, store.DowntimesChannel, log)}
		esc := &jobs.EscalationSweep{Pool: o.Pool, Logger: log.With(slog.String("component", "escalation")), Sinks: n.Sinks}
		n.loops = append(n.loops, vs.Run, fresh.Run, down.Run, esc.Run)
	}
	n.Serve = jobs.NewServe(ctx, jobs.ServeConfig{Pool: o.Pool, River: o.River, Logger: log, Sinks: n.Sinks,
		StartWithin: o.StartWithin, ProcessOnly: o.ProcessOnly, Trace: o.Stages, Limits: o.Limits})
	return n
}

// Loops are the node's loops (pipeline first, then the hub and the
// sweeps), each to run until its ctx ends.
func (n *Node) Loops() []func(context.Context) error {
	return append(n.Serve.Loops(), n.loops...)
}
