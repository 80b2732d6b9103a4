package graph

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// The access rule (who reads, who changes, who manages users) is
// tenants' (tenants/access.go), shared with the REST facade.

// read runs fn in a transaction of the caller's site.
func (r *Resolver) read(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return tenants.ReadSite(ctx, r.Pool, fn)
}

// write is read for callers allowed to change the site (admins, editors).
func (r *Resolver) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return tenants.EditSite(ctx, r.Pool, fn)
}

// admin returns the principal if they may manage users.
func admin(ctx context.Context) (*tenants.Principal, error) {
	return tenants.RequireAdmin(ctx)
}

func author(ctx context.Context) string {
	if p, err := tenants.PrincipalFrom(ctx); err == nil {
		return p.User.Email
	}
	return "unknown"
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
