package graph

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func userOf(u *tenants.User, role tenants.Role) *model.User {
	return &model.User{ID: u.ID.String(), Email: u.Email, DisplayName: u.DisplayName, Role: model.Role(strings.ToUpper(string(role)))}
}

func memberOf(m *tenants.Member) *model.User {
	u := userOf(&m.User, m.Role)
	u.Disabled, u.MustChangePassword = m.Disabled, m.MustChangePassword
	return u
}

func roleOf(r model.Role) (tenants.Role, error) { return tenants.ParseRole(strings.ToLower(string(r))) }

type cookieSetterKey struct{}

// CookieSetter lets resolvers set the session cookie on the HTTP response.
type CookieSetter func(token string, clear bool)

func setSession(ctx context.Context, token string, clear bool) {
	if f, ok := ctx.Value(cookieSetterKey{}).(CookieSetter); ok {
		f(token, clear)
	}
}

func (r *Resolver) signUp(ctx context.Context, in model.SignUpInput) (*model.AuthPayload, error) {
	if !r.SignupOpen && !r.SignupInvite {
		return nil, errs.E(errs.Forbidden, "signup is closed on this installation; ask its operator for a site")
	}
	site, m, err := r.Tenants.SignUp(ctx, tenants.SignUpInput{SiteName: in.SiteName, Email: in.Email, Password: in.Password, Summary: deref(in.Summary, ""),
		Invite: deref(in.Invite, ""), RequireInvite: r.SignupInvite}, r.SiteInit)
	if err != nil {
		return nil, err
	}
	if site.Pending {
		// The site opens when its admin follows the emailed link.
		return &model.AuthPayload{Site: site, User: userOf(&m.User, m.Role), ConfirmationSentTo: &m.Email}, nil
	}
	return r.login(ctx, site.Name, in.Email, in.Password)
}

func (r *Resolver) login(ctx context.Context, site, email, password string) (*model.AuthPayload, error) {
	token, p, err := r.Tenants.Login(ctx, site, email, password)
	return authAnswer(ctx, token, p, err)
}

func (r *Resolver) logout(ctx context.Context) (bool, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return false, err
	}
	setSession(ctx, "", true)
	return true, r.Tenants.Logout(ctx, p)
}

func (r *Resolver) createToken(ctx context.Context, name string, expiresAt *time.Time) (string, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return "", err
	}
	if !p.Role.CanEdit() {
		return "", errs.E(errs.Forbidden, "viewers cannot create API tokens")
	}
	return r.Tenants.CreateTokenExpiring(ctx, p.User.ID, name, expiresAt)
}

func (r *Resolver) revokeToken(ctx context.Context, id string) (bool, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return false, err
	}
	tid, err := uuid.Parse(id)
	if err != nil {
		return false, errs.E(errs.NotFound, "no token with id %q", id)
	}
	toks, err := r.Tenants.Tokens(ctx, uuid.Nil)
	if err != nil {
		return false, err
	}
	for _, t := range toks {
		if t.ID == tid {
			if t.UserID != p.User.ID && !p.Role.CanManageUsers() {
				return false, errs.E(errs.Forbidden, "only administrators can revoke other users' tokens")
			}
			return true, r.Tenants.RevokeToken(ctx, tid)
		}
	}
	return false, errs.E(errs.NotFound, "no token with id %q", id)
}

// inviteUser mails an invitation link; a password given by the inviter is
// ignored (the invitee chooses their own).
func (r *Resolver) inviteUser(ctx context.Context, email string, _ *string, role model.Role) (*model.User, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	tr, err := roleOf(role)
	if err != nil {
		return nil, err
	}
	m, err := r.Tenants.InviteByLink(ctx, email, tr)
	if err != nil {
		return nil, err
	}
	return userOf(&m.User, m.Role), nil
}

func (r *Resolver) setRole(ctx context.Context, userID string, role model.Role) (bool, error) {
	p, err := admin(ctx)
	if err != nil {
		return false, err
	}
	uid, err := uuid.Parse(userID)
	if err != nil {
		return false, errs.E(errs.NotFound, "no user with id %q", userID)
	}
	if uid == p.User.ID {
		return false, errs.E(errs.Invalid, "you cannot change your own role")
	}
	tr, err := roleOf(role)
	if err != nil {
		return false, err
	}
	return true, r.Tenants.SetRole(ctx, uid, tr)
}

func (r *Resolver) users(ctx context.Context) ([]*model.User, error) {
	if _, err := tenants.PrincipalFrom(ctx); err != nil {
		return nil, err
	}
	ms, err := r.Tenants.Members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*model.User, len(ms))
	for i, m := range ms {
		out[i] = memberOf(m)
	}
	return out, nil
}

func (r *Resolver) apiTokens(ctx context.Context) ([]*model.APIToken, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	who := p.User.ID
	if p.Role.CanManageUsers() {
		who = uuid.Nil
	}
	toks, err := r.Tenants.Tokens(ctx, who)
	if err != nil {
		return nil, err
	}
	out := make([]*model.APIToken, len(toks))
	for i, t := range toks {
		out[i] = &model.APIToken{ID: t.ID.String(), Name: t.Name, UserID: t.UserID.String(), CreatedAt: t.CreatedAt, LastUsed: t.LastUsed, RevokedAt: t.RevokedAt, ExpiresAt: t.ExpiresAt}
	}
	return out, nil
}
