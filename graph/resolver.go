// Package graph is Bergamot's GraphQL API: the gqlgen-generated executor
// (generated.go, model/) and thin resolvers that open a site transaction and
// call the store.
package graph

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/live"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Resolver holds what the resolvers need. It is built once per node.
type Resolver struct {
	Pool       *pgxpool.Pool
	Tenants    *tenants.Store
	Configs    *store.Configs
	River      *river.Client[pgx.Tx]
	Hub        *live.Hub
	Logger     *slog.Logger
	SignupOpen bool
	// SignupInvite: signup needs an operator's invitation code (serve
	// --signup invite); SignupOpen is then false.
	SignupInvite bool
	StartWithin  time.Duration
	// SiteInit adds a new site's default configuration at signup.
	SiteInit tenants.SiteInitializer
	// Tests sends test notifications (nil: not available on this node).
	Tests TestSender
	// Limits are the per-site limits (nil: the built-in defaults).
	Limits *tenants.SiteLimits

	subs siteSubs

	// Agents is this node's agent hub (nil: serve runs without one).
	Agents AgentHub

	// RetentionMax is the operator's maximum retention
	// (BERGAMOT_RETENTION_MAX); zero takes store.DefaultRetention.
	RetentionMax store.Retention
}
