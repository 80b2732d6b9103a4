package tenants

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// The access rule every API (GraphQL and REST) applies: any signed-in
// member reads their site; admins and editors change it; admins manage
// users and tokens. The APIs call these, so a role means the same
// everywhere and refusals read the same.

// What both APIs answer a principal who must do something first
// (Principal.MustChangePassword, Principal.MustEnrolSecondFactor) when they
// ask for anything else: the same words over GraphQL (FORBIDDEN) and REST
// (403).
const (
	MustChangePasswordMessage = "you must change your password first (GraphQL changePassword, or sign in to the dashboard): an administrator asked for it"
	MustEnrolMessage          = "this site requires a second factor for every member: enrol an authenticator app (beginTotpEnrolment) or a passkey (beginPasskeyRegistration) first, in the dashboard's Account security page or over GraphQL"
)

// ReadSite runs fn in a transaction of the signed-in caller's site
// (Unauthenticated without a principal).
func ReadSite(ctx context.Context, db Beginner, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if _, err := PrincipalFrom(ctx); err != nil {
		return err
	}
	return InSite(ctx, db, fn)
}

// EditSite is ReadSite for callers whose role may change the site (admins,
// editors); others get Forbidden and fn does not run.
func EditSite(ctx context.Context, db Beginner, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if _, err := RequireEditor(ctx); err != nil {
		return err
	}
	return InSite(ctx, db, fn)
}

// RequireEditor returns the principal if their role may change the site.
func RequireEditor(ctx context.Context) (*Principal, error) {
	p, err := PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Role.CanEdit() {
		return nil, errs.E(errs.Forbidden, "your role (%s) cannot change this site; ask an administrator", p.Role)
	}
	return p, nil
}

// RequireAdmin returns the principal if they may manage users and tokens.
func RequireAdmin(ctx context.Context) (*Principal, error) {
	p, err := PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Role.CanManageUsers() {
		return nil, errs.E(errs.Forbidden, "only administrators can manage users and their tokens")
	}
	return p, nil
}
