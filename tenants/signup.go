package tenants

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// SignUpInput is what a new customer gives.
type SignUpInput struct {
	SiteName string
	Summary  string
	Email    string
	Password string
	// Invite is an operator's signup invitation code; required (and
	// spent) when RequireInvite is set.
	Invite string
	// RequireInvite: signup is invite-only on this installation.
	RequireInvite bool
}

// SiteInitializer adds a new site's default configuration (templates) inside
// the signup transaction, which is already set to the new site.
type SiteInitializer func(ctx context.Context, tx pgx.Tx, site *Site) error

// SignUp creates a site, its first admin, and its default configuration in
// one transaction, and returns a session for the admin.
func (s *Store) SignUp(ctx context.Context, in SignUpInput, init SiteInitializer) (_ *Site, _ *Member, err error) {
	if err = ValidateSiteName(in.SiteName); err != nil {
		return nil, nil, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, nil, err
	}
	if in.RequireInvite && strings.TrimSpace(in.Invite) == "" {
		return nil, nil, errs.E(errs.Forbidden, "signup on this installation is by invitation: give the invitation code the operator sent you")
	}
	// Sign-ups through the API (they carry a client address) are throttled
	// per email and per address; every attempt counts, successful or not,
	// so neither site creation nor the existing-password check below can
	// be driven at will. Operator commands carry no address.
	if addr := ClientAddrFrom(ctx); addr != "" {
		attempt, spent, berr := s.signups.Begin(ctx, Budget{Key: "email:" + email, Max: s.limits.SignupsPerEmail},
			Budget{Key: "address:" + addr, Max: s.limits.SignupsPerAddress})
		if berr != nil {
			return nil, nil, berr
		}
		if spent != nil {
			what := "with this email"
			if strings.HasPrefix(spent.Key, "address:") {
				what = "from your address"
			}
			return nil, nil, errs.E(errs.Forbidden, "too many sign-ups %s (%d an hour at most); try again later", what, spent.Max)
		}
		defer func() {
			if errs.Is(err, errs.Transient) {
				attempt.Cancel(ctx) // busy: nothing was tried
			}
		}()
	}
	// A name held by a sign-up nobody confirmed in time is free again.
	if _, err := s.ReleaseUnconfirmedSignups(ctx, in.SiteName); err != nil {
		return nil, nil, err
	}
	if s.links != nil && ClientAddrFrom(ctx) != "" {
		return s.signUpPending(ctx, in, init, email)
	}
	var site *Site
	var m *Member
	// The password is hashed (or checked) inside: wait for a turn at the gate.
	err = s.gate.Do(ctx, func() error { return s.signUp(ctx, in, init, &site, &m) })
	if err != nil {
		return nil, nil, err
	}
	return site, m, nil
}

func (s *Store) signUp(ctx context.Context, in SignUpInput, init SiteInitializer, site **Site, m **Member) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if *site, err = CreateSite(ctx, tx, in.SiteName, in.Summary); err != nil {
			return err
		}
		if *m, err = AddMember(ctx, tx, (*site).ID, in.Email, in.Password, RoleAdmin, true); err != nil {
			return err
		}
		if in.RequireInvite {
			if err := useSignupInvite(ctx, tx, in.Invite, (*m).Email, (*site).ID); err != nil {
				return err
			}
		}
		id := (*m).ID
		if err := RecordAuditTx(WithSite(ctx, (*site).ID), tx, AuditEntry{Actor: (*m).Email, ActorID: &id, Via: ViaAnonymous, Action: "signUp", Target: (*site).Name}); err != nil {
			return err
		}
		if init != nil {
			if err := init(ctx, tx, *site); err != nil {
				return fmt.Errorf("creating default configuration: %w", err)
			}
		}
		return nil
	})
}
