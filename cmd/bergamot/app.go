package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/metrics"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/frontend"
	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/internal/node"
	"github.com/bergamot-monitoring/bergamot/metrics/export"
	"github.com/bergamot-monitoring/bergamot/notifiers/dispatch"
	"github.com/bergamot-monitoring/bergamot/server"
	"github.com/bergamot-monitoring/bergamot/statuspage"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

//go:embed default-site.xml
var defaultSiteXML []byte

// app is the wiring of a serve node's HTTP side and loops: node.New plus
// what only production serves (the dashboard and its acknowledgement
// links).
type app struct {
	graphql  http.Handler
	rest     http.Handler
	frontend http.Handler
	// statusPages serves the public status pages.
	statusPages *statuspage.Handler
	// csrf is the anti-forgery rule of the node's listener.
	csrf  *server.CSRF
	loops []func(ctx context.Context) error
}

func newApp(ctx context.Context, env *Env, db *DB, rc *river.Client[pgx.Tx], sealer *store.Sealer, o serveOptions) (*app, error) {
	vals := validators()
	if env.Policy.Hosted() {
		// Refuse at apply what the hosted policy would refuse at run time.
		reg, err := buildRegistry(env.Logger, "", nil)
		if err != nil {
			return nil, err
		}
		pol := *env.Policy
		pol.SharedZone = (&sharedZones{st: &gateway.Store{Pool: db.Pool}, ttl: 5 * time.Second, log: env.Logger}).Shared
		vals = append(vals, validatePolicy(&pol, reg), dispatch.PolicyChannels(nil, env.Policy.Network()).Validate,
			export.Validator(export.DefaultRegistry(), env.Policy.Network()))
	}
	ts := tenants.NewStoreWithLimits(db.Pool, loginLimits())
	links, err := linkSender(env.Logger)
	if err != nil {
		return nil, err
	}
	ts.SetLinkSender(links)
	ts.SetSiteRows(store.SiteRows{})
	defaults, err := tenants.LimitDefaultsFromEnv(nil)
	if err != nil {
		return nil, err
	}
	// Notifications: processed events queue notification jobs (the notifier
	// role works them); acknowledgement links are served under /ack/.
	nd, err := newDispatcher(env, db, sealer)
	if err != nil {
		return nil, err
	}
	var agents graph.AgentHub // nil unless this node runs the agent hub
	if o.agentHub != nil {
		agents = o.agentHub
	}
	n := node.New(ctx, node.Options{Pool: db.Pool, Logger: env.Logger, River: rc, Sealer: sealer, Validators: vals,
		Tenants: ts, Limits: tenants.NewSiteLimits(db.Pool, defaults), SiteInit: defaultSite,
		SignupOpen: o.signupOpen, SignupInvite: o.signupInvite, StartWithin: o.startWithin, GraphQL: graph.HandlerOptions{Domain: env.Domain, PublicURL: os.Getenv("BERGAMOT_PUBLIC_URL")},
		Notifications: nd, Agents: agents})
	metrics.GaugeFunc("bergamot_live_subscribers", "Live (GraphQL subscription) subscribers on this serve node.", func() float64 { return float64(n.Hub.Total()) })
	// Retention and rollups (docs/data-retention.md): one node sweeps at a time.
	maxR, err := store.ParseRetention(os.Getenv("BERGAMOT_RETENTION_MAX"), store.DefaultRetention)
	if err != nil {
		return nil, fmt.Errorf("BERGAMOT_RETENTION_MAX: %w", err)
	}
	n.Resolver.RetentionMax = maxR
	retention := &jobs.RetentionSweep{Pool: db.Pool, Logger: env.Logger.With(slog.String("component", "retention")),
		Max: maxR, Every: envDuration("BERGAMOT_RETENTION_EVERY", time.Minute)}
	loops := append(n.Loops(), pruneAudit(ts, env.Logger.With(slog.String("component", "audit"))), retention.Run,
		(&jobs.QuarantineSweep{Pool: db.Pool, Logger: env.Logger.With(slog.String("component", "quarantine")),
			Retention: envDuration("BERGAMOT_QUARANTINE_RETENTION", jobs.DefaultQuarantineRetention), Keep: envInt("BERGAMOT_QUARANTINE_KEEP")}).Run)
	return &app{graphql: n.GraphQL, rest: n.REST, statusPages: n.StatusPages, frontend: withAckLinks(nd.AckHandler(), frontend.Handler()), csrf: csrfGuard(ts), loops: loops}, nil
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
		SignupsPerEmail: envInt("BERGAMOT_SIGNUPS_PER_EMAIL"), SignupsPerAddress: envInt("BERGAMOT_SIGNUPS_PER_ADDRESS"),
		SessionIdle: envDuration("BERGAMOT_SESSION_IDLE", 0), SessionMax: envDuration("BERGAMOT_SESSION_MAX", 0)}
}
