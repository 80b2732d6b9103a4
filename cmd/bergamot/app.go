package main

import (
	"bytes"
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/frontend"
	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/internal/node"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/live"
	"github.com/bergamot-monitoring/bergamot/notifiers/dispatch"
	"github.com/bergamot-monitoring/bergamot/rest"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

//go:embed default-site.xml
var defaultSiteXML []byte

// app is the wiring of a serve node's HTTP side.
type app struct {
	graphql    http.Handler
	rest       http.Handler
	frontend   http.Handler
	sinks      []jobs.EventSink
	background []func(ctx context.Context) error
	// limits are the per-site limits the scheduler shares with the API.
	limits *tenants.SiteLimits
}

func newApp(ctx context.Context, env *Env, db *DB, rc *river.Client[pgx.Tx], sealer *store.Sealer, o serveOptions) (*app, error) {
	hub := live.NewHub(db.Pool, env.Logger)
	vals := validators()
	if env.Policy.Hosted() {
		// Refuse at apply what the hosted policy would refuse at run time.
		reg, err := buildRegistry(env.Logger, "", nil)
		if err != nil {
			return nil, err
		}
		pol := *env.Policy
		pol.SharedZone = (&sharedZones{st: &gateway.Store{Pool: db.Pool}, ttl: 5 * time.Second, log: env.Logger}).Shared
		vals = append(vals, validatePolicy(&pol, reg), dispatch.PolicyChannels(nil, env.Policy.Network()).Validate)
	}
	cfgs := &store.Configs{Sealer: sealer, Validators: vals}
	ts := tenants.NewStoreWithLimits(db.Pool, loginLimits())
	links, err := linkSender(env.Logger)
	if err != nil {
		return nil, err
	}
	ts.SetLinkSender(links)
	defaults, err := tenants.LimitDefaultsFromEnv(nil)
	if err != nil {
		return nil, err
	}
	res := &graph.Resolver{
		Pool: db.Pool, Tenants: ts, Limits: tenants.NewSiteLimits(db.Pool, defaults), Configs: cfgs, River: rc, Hub: hub, Logger: env.Logger,
		SignupOpen: o.signupOpen, StartWithin: o.startWithin, SiteInit: defaultSite(cfgs),
	}
	a := &app{
		graphql:    res.NewHandler(graph.HandlerOptions{Domain: env.Domain}),
		rest:       rest.New(res, env.Logger),
		frontend:   frontend.Handler(),
		background: []func(context.Context) error{hub.Run},
		limits:     res.Limits,
	}
	// Notifications: processed events queue notification jobs (the notifier
	// role works them); acknowledgement links are served under /ack/.
	nd, err := newDispatcher(env, db, sealer)
	if err != nil {
		return nil, err
	}
	res.Tests = nd
	a.sinks = append(a.sinks, &dispatch.Sink{River: rc})
	a.frontend = withAckLinks(nd.AckHandler(), a.frontend)
	// Virtual checks re-evaluate after each processed batch and forward their
	// events to the sinks registered before them; passive checks go stale.
	vs := &jobs.VirtualSink{Pool: db.Pool, Logger: env.Logger.With(slog.String("component", "virtual")), Forward: slices.Clone(a.sinks)}
	fresh := &jobs.Freshness{Pool: db.Pool, Logger: env.Logger.With(slog.String("component", "freshness"))}
	a.sinks = append(a.sinks, vs)
	a.background = append(a.background, vs.Run, fresh.Run)
	a.background = append(a.background, func(ctx context.Context) error { // downtime starts/ends to a.sinks (docs/downtime.md)
		return (&jobs.DowntimeSweep{Pool: db.Pool, Logger: env.Logger.With(slog.String("component", "downtime")), Sinks: a.sinks,
			Wake: jobs.Wakeup(ctx, db.Pool, store.DowntimesChannel, env.Logger)}).Run(ctx)
	}, (&jobs.EscalationSweep{Pool: db.Pool, Logger: env.Logger.With(slog.String("component", "escalation")), Sinks: a.sinks}).Run,
		(&jobs.QuarantineSweep{Pool: db.Pool, Logger: env.Logger.With(slog.String("component", "quarantine")),
			Retention: envDuration("BERGAMOT_QUARANTINE_RETENTION", jobs.DefaultQuarantineRetention), Keep: envInt("BERGAMOT_QUARANTINE_KEEP")}).Run)
	return a, nil
}

// defaultSite applies the default templates to a new site at signup.
func defaultSite(cfgs *store.Configs) tenants.SiteInitializer {
	return func(ctx context.Context, tx pgx.Tx, s *tenants.Site) error {
		doc, err := config.Parse("default-site.xml", bytes.NewReader(defaultSiteXML))
		if err != nil {
			return err
		}
		doc.Site = s.Name
		res, err := cfgs.Apply(tenants.WithSite(ctx, s.ID), tx, doc, "signup", "default-site.xml", false)
		if err != nil {
			return err
		}
		if !res.OK {
			return res.Errors
		}
		return nil
	}
}

// validators are the checks beyond package config applied to every
// configuration: node.Validators, the same list the API tests use.
func validators() []store.Validator {
	return node.Validators(envDuration("BERGAMOT_MIN_INTERVAL", config.DefaultMinInterval))
}

// loginLimits are the sign-in and password-hashing limits from the
// environment (docs/limits.md); unset values take tenants.DefaultLimits.
func loginLimits() tenants.Limits {
	return tenants.Limits{LoginFailures: envInt("BERGAMOT_LOGIN_FAILURES"), AddressFailures: envInt("BERGAMOT_LOGIN_ADDRESS_FAILURES"),
		PasswordHashes: envInt("BERGAMOT_PASSWORD_HASHES"), PasswordQueue: envInt("BERGAMOT_PASSWORD_QUEUE"),
		SignupsPerEmail: envInt("BERGAMOT_SIGNUPS_PER_EMAIL"), SignupsPerAddress: envInt("BERGAMOT_SIGNUPS_PER_ADDRESS")}
}
