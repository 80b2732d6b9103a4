package graph

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// read runs fn in a transaction of the caller's site.
func (r *Resolver) read(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if _, err := tenants.PrincipalFrom(ctx); err != nil {
		return err
	}
	return tenants.InSite(ctx, r.Pool, fn)
}

// write is read for callers allowed to change the site (admins, editors).
func (r *Resolver) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if !p.Role.CanEdit() {
		return errs.E(errs.Forbidden, "your role (%s) cannot change this site; ask an administrator", p.Role)
	}
	return tenants.InSite(ctx, r.Pool, fn)
}

// admin returns the principal if they may manage users.
func admin(ctx context.Context) (*tenants.Principal, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Role.CanManageUsers() {
		return nil, errs.E(errs.Forbidden, "only administrators can manage users and their tokens")
	}
	return p, nil
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
