package graph

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Resolvers of issue 22's account API (graph/account.graphqls): sessions,
// the member lifecycle and the audit log. Each checks the caller's role
// and calls the tenants store.

type csrfKey struct{}

// withCSRFToken records the anti-forgery token of the request's session
// cookie, for the csrfToken query.
func withCSRFToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey{}, token)
}

func (r *Resolver) csrfToken(ctx context.Context) (*string, error) {
	if _, err := tenants.PrincipalFrom(ctx); err != nil {
		return nil, err
	}
	if t, ok := ctx.Value(csrfKey{}).(string); ok && t != "" {
		return &t, nil
	}
	return nil, nil
}

func memberID(id string) (uuid.UUID, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, errs.E(errs.NotFound, "no member with id %q", id)
	}
	return uid, nil
}

func (r *Resolver) sessions(ctx context.Context, userID *string, all *bool) ([]*model.Session, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	who := p.User.ID
	switch {
	case all != nil && *all:
		if _, err := admin(ctx); err != nil {
			return nil, err
		}
		who = uuid.Nil
	case userID != nil && *userID != p.User.ID.String():
		if _, err := admin(ctx); err != nil {
			return nil, err
		}
		if who, err = memberID(*userID); err != nil {
			return nil, err
		}
	}
	ss, err := r.Tenants.Sessions(ctx, who)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Session, len(ss))
	for i, s := range ss {
		out[i] = &model.Session{ID: s.ID.String(), UserID: s.UserID.String(), Email: s.Email, CreatedAt: s.CreatedAt, LastSeen: s.LastSeen,
			ExpiresAt: s.ExpiresAt, IdleUntil: s.IdleUntil, Address: s.Address, UserAgent: s.UserAgent, Current: p.Via == "session" && s.ID == p.CredID}
	}
	return out, nil
}

func (r *Resolver) revokeSession(ctx context.Context, id string) (bool, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return false, err
	}
	sid, err := uuid.Parse(id)
	if err != nil {
		return false, errs.E(errs.NotFound, "no session with id %q", id)
	}
	owner := p.User.ID
	if p.Role.CanManageUsers() {
		owner = uuid.Nil
	}
	if err := r.Tenants.RevokeSession(ctx, sid, owner); err != nil {
		return false, err
	}
	if p.Via == "session" && sid == p.CredID {
		setSession(ctx, "", true)
	}
	return true, nil
}

func (r *Resolver) signOutEverywhere(ctx context.Context) (int, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return 0, err
	}
	n, err := r.Tenants.SignOutEverywhere(ctx, p.User.ID)
	if err != nil {
		return 0, err
	}
	setSession(ctx, "", true)
	return n, nil
}

func (r *Resolver) changePassword(ctx context.Context, current, next string) (bool, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return false, err
	}
	return true, r.Tenants.ChangePassword(ctx, p, current, next)
}

func (r *Resolver) removeMember(ctx context.Context, userID string) (bool, error) {
	p, err := admin(ctx)
	if err != nil {
		return false, err
	}
	uid, err := memberID(userID)
	if err != nil {
		return false, err
	}
	email, err := r.Tenants.RemoveMember(ctx, p, uid)
	auditTarget(ctx, email)
	return err == nil, err
}

func (r *Resolver) disableUser(ctx context.Context, userID string, disabled *bool) (bool, error) {
	p, err := admin(ctx)
	if err != nil {
		return false, err
	}
	uid, err := memberID(userID)
	if err != nil {
		return false, err
	}
	email, err := r.Tenants.SetMemberDisabled(ctx, p, uid, disabled == nil || *disabled)
	auditTarget(ctx, email)
	return err == nil, err
}

func (r *Resolver) requirePasswordChange(ctx context.Context, userID string) (bool, error) {
	if _, err := admin(ctx); err != nil {
		return false, err
	}
	uid, err := memberID(userID)
	if err != nil {
		return false, err
	}
	email, err := r.Tenants.RequirePasswordChange(ctx, uid)
	auditTarget(ctx, email)
	return err == nil, err
}

func (r *Resolver) auditLog(ctx context.Context, first *int, after *string) (*model.AuditLogConnection, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	page, err := r.Tenants.AuditLog(ctx, deref(first, 50), deref(after, ""))
	if err != nil {
		return nil, err
	}
	out := &model.AuditLogConnection{Nodes: make([]*model.AuditEntry, len(page.Entries)), PageInfo: &model.PageInfo{HasNextPage: page.HasMore}}
	if page.EndCursor != "" {
		out.PageInfo.EndCursor = &page.EndCursor
	}
	for i, e := range page.Entries {
		detail, _ := json.Marshal(e.Detail)
		n := &model.AuditEntry{ID: strconv.FormatInt(e.ID, 10), At: e.At, Actor: e.Actor, Via: e.Via, Address: e.Address, Action: e.Action,
			Target: e.Target, Outcome: e.Outcome, Detail: string(detail)}
		if e.ActorID != nil {
			s := e.ActorID.String()
			n.ActorID = &s
		}
		out.Nodes[i] = n
	}
	return out, nil
}

func (r *Resolver) auditRetentionDays(ctx context.Context) (int, error) {
	if _, err := admin(ctx); err != nil {
		return 0, err
	}
	return r.Tenants.AuditRetentionDays(ctx)
}

func (r *Resolver) setAuditRetention(ctx context.Context, days int) (bool, error) {
	if _, err := admin(ctx); err != nil {
		return false, err
	}
	return true, r.Tenants.SetAuditRetention(ctx, days)
}
