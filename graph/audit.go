package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Every mutation of a signed-in caller, over HTTP or WebSocket, is written
// to the site's audit log after it ran: its name, its arguments (secrets
// left out, configuration XML as its size and hash), what it acted on and
// whether it worked. Sign-ins are recorded by the tenants store, which
// sees failures that never reach a principal.

type auditKey struct{}

// auditRecord is filled by resolvers that know better than the arguments
// what they acted on (removeMember knows the member's email).
type auditRecord struct{ target string }

// auditTarget names what the running mutation acted on, for its audit entry.
func auditTarget(ctx context.Context, target string) {
	if rec, ok := ctx.Value(auditKey{}).(*auditRecord); ok && target != "" {
		rec.target = target
	}
}

// allowedWhilePasswordMustChange are the root fields a user who must
// change their password may still use.
var allowedWhilePasswordMustChange = map[string]bool{
	"changePassword": true, "logout": true, "me": true, "site": true, "csrfToken": true, "__typename": true, "__schema": true, "__type": true,
}

// aroundRootFields refuses everything but a password change to a user who
// must change theirs, and everything but enrolling a second factor to a
// member of a site that requires one who has none; and audits mutations.
func (r *Resolver) aroundRootFields(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	oc := graphql.GetOperationContext(ctx)
	rf := graphql.GetRootFieldContext(ctx)
	p, perr := tenants.PrincipalFrom(ctx)
	if perr == nil && p.MustChangePassword && rf != nil && !allowedWhilePasswordMustChange[rf.Field.Name] {
		const msg = tenants.MustChangePasswordMessage
		graphql.AddError(ctx, &gqlerror.Error{Message: msg, Path: ast.Path{ast.PathName(rf.Field.Alias)}, Err: errs.E(errs.Forbidden, msg)})
		return graphql.Null
	}
	if perr == nil && p.MustEnrolSecondFactor && rf != nil && !allowedWhileEnrolling[rf.Field.Name] {
		graphql.AddError(ctx, &gqlerror.Error{Message: tenants.MustEnrolMessage, Path: ast.Path{ast.PathName(rf.Field.Alias)}, Err: errs.E(errs.Forbidden, tenants.MustEnrolMessage)})
		return graphql.Null
	}
	if perr != nil || oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Mutation || rf == nil {
		return next(ctx)
	}
	rec := &auditRecord{}
	out := next(context.WithValue(ctx, auditKey{}, rec))
	args := rf.Field.ArgumentMap(oc.Variables)
	e := tenants.AuditEntry{Action: rf.Field.Name, Target: rec.target, Detail: auditArgs(args)}
	if e.Target == "" {
		e.Target = auditTargetOf(args)
	}
	for _, ge := range graphql.GetErrors(ctx) {
		if len(ge.Path) > 0 && ge.Path[0] == ast.PathName(rf.Field.Alias) {
			e.Outcome = tenants.AuditFailed
			if c, _ := ge.Extensions["code"].(string); c == errs.Forbidden.Code() || c == errs.Unauthenticated.Code() {
				e.Outcome = tenants.AuditDenied
			}
			e.Detail["error"] = ge.Message
			break
		}
	}
	if err := r.Tenants.RecordAudit(ctx, e); err != nil {
		r.Logger.ErrorContext(ctx, "writing the audit log failed", slog.String("action", e.Action), slog.Any("error", err))
	}
	return out
}

// auditTargetOf picks the argument that names what a mutation acts on.
func auditTargetOf(args map[string]any) string {
	for _, k := range []string{"userId", "checkId", "id", "name", "zone", "email"} {
		if v, ok := args[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// secretArg reports whether an argument holds a secret.
func secretArg(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"password", "current", "new", "token", "secret", "key", "code"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// auditArgs copies args for the log without secrets; long texts (the
// configuration XML) are kept as their size and SHA-256.
func auditArgs(args map[string]any) map[string]any {
	out := make(map[string]any, len(args))
	for k, v := range args {
		switch {
		case secretArg(k):
			out[k] = "(secret)"
		default:
			out[k] = auditValue(v)
		}
	}
	return out
}

func auditValue(v any) any {
	switch x := v.(type) {
	case string:
		if len(x) > 200 {
			h := sha256.Sum256([]byte(x))
			return map[string]any{"bytes": len(x), "sha256": hex.EncodeToString(h[:])}
		}
		return x
	case map[string]any:
		return auditArgs(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = auditValue(e)
		}
		return out
	default:
		return v
	}
}
