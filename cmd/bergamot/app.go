package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/frontend"
	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/live"
	"github.com/bergamot-monitoring/bergamot/monitor/virtual"
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
}

func newApp(ctx context.Context, env *Env, db *DB, rc *river.Client[pgx.Tx], sealer *store.Sealer, o serveOptions) (*app, error) {
	hub := live.NewHub(db.Pool, env.Logger)
	cfgs := &store.Configs{Sealer: sealer, Validators: validators()}
	res := &graph.Resolver{
		Pool: db.Pool, Tenants: tenants.NewStoreWithLimits(db.Pool, loginLimits()), Configs: cfgs, River: rc, Hub: hub, Logger: env.Logger,
		SignupOpen: o.signupOpen, StartWithin: o.startWithin, SiteInit: defaultSite(cfgs),
	}
	a := &app{
		graphql:    res.NewHandler(graph.HandlerOptions{Domain: env.Domain}),
		rest:       rest.New(res, env.Logger),
		frontend:   frontend.Handler(),
		background: []func(context.Context) error{hub.Run},
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
	})
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

// validators are the checks beyond package config applied to every configuration.
func validators() []store.Validator {
	return []store.Validator{validateConditions, validateCycles, validateFreshness, dispatch.DefaultChannels(nil).Validate}
}

// validateConditions parses every cluster and resource condition and checks
// that the hosts and services it names exist.
func validateConditions(m *config.Model) config.ErrorList {
	var out config.ErrorList
	hosts := map[string]*config.Check{}
	for _, h := range m.Hosts {
		hosts[h.Name] = h
	}
	clusters := map[string]*config.Check{}
	for _, c := range m.Clusters {
		clusters[c.Name] = c
	}
	check := func(c *config.Check, label string) {
		if c.Condition == nil || strings.TrimSpace(c.Condition.Text) == "" {
			out = append(out, &config.Error{File: c.Source.File, Line: c.Source.Line, Object: label, Message: "a " + c.Kind + " needs a <condition>"})
			return
		}
		e, err := virtual.Parse(c.Condition.Text)
		if err != nil {
			out = append(out, &config.Error{File: c.Condition.File, Line: c.Condition.Line, Object: label, Message: "condition: " + err.Error()})
			return
		}
		for _, ref := range e.References() {
			if ref.ID != "" || ref.Pool != "" {
				continue
			}
			var msg string
			switch ref.Kind {
			case virtual.RefHost:
				if hosts[ref.Name] == nil {
					msg = fmt.Sprintf("unknown host %q", ref.Name)
				}
			case virtual.RefService, virtual.RefTrap:
				h := hosts[ref.Host]
				if h == nil && ref.Host != "" {
					msg = fmt.Sprintf("unknown host %q", ref.Host)
				} else if h != nil && !hasChild(h, string(ref.Kind), ref.Name) {
					msg = fmt.Sprintf("host %q has no %s %q", ref.Host, ref.Kind, ref.Name)
				}
			case virtual.RefCluster:
				if clusters[ref.Name] == nil {
					msg = fmt.Sprintf("unknown cluster %q", ref.Name)
				}
			}
			if msg != "" {
				out = append(out, &config.Error{File: c.Condition.File, Line: c.Condition.Line, Object: label, Message: "condition refers to " + msg})
			}
		}
	}
	for _, c := range m.Clusters {
		check(c, fmt.Sprintf("cluster %q", c.Name))
		for _, r := range c.Resources {
			check(r, fmt.Sprintf("resource %q", r.Name))
		}
	}
	return out
}

func hasChild(h *config.Check, kind, name string) bool {
	list := h.Services
	if kind == "trap" {
		list = h.Traps
	}
	for _, c := range list {
		if c.Name == name {
			return true
		}
	}
	return false
}

// loginLimits are the sign-in and password-hashing limits from the
// environment (docs/limits.md); unset values take tenants.DefaultLimits.
func loginLimits() tenants.Limits {
	return tenants.Limits{LoginFailures: envInt("BERGAMOT_LOGIN_FAILURES"), AddressFailures: envInt("BERGAMOT_LOGIN_ADDRESS_FAILURES"),
		PasswordHashes: envInt("BERGAMOT_PASSWORD_HASHES"), PasswordQueue: envInt("BERGAMOT_PASSWORD_QUEUE"),
		SignupsPerEmail: envInt("BERGAMOT_SIGNUPS_PER_EMAIL"), SignupsPerAddress: envInt("BERGAMOT_SIGNUPS_PER_ADDRESS")}
}
