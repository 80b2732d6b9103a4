package tenants

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// TestAccessRule: members read, admins and editors change the site, only
// admins manage users; without a principal every call is Unauthenticated;
// a refused EditSite does not run its function.
func TestAccessRule(t *testing.T) {
	as := func(r Role) context.Context {
		return WithPrincipal(context.Background(), &Principal{Site: &Site{ID: uuid.New()}, Role: r})
	}
	// want is the kind of refusal, or -1 for allowed.
	const allowed errs.Kind = -1
	for _, tc := range []struct {
		name         string
		ctx          context.Context
		edit, manage errs.Kind
	}{
		{"anonymous", context.Background(), errs.Unauthenticated, errs.Unauthenticated},
		{"viewer", as(RoleViewer), errs.Forbidden, errs.Forbidden},
		{"editor", as(RoleEditor), allowed, errs.Forbidden},
		{"admin", as(RoleAdmin), allowed, allowed},
	} {
		check := func(what string, err error, want errs.Kind) {
			if want == allowed && err != nil || want != allowed && !errs.Is(err, want) {
				t.Errorf("%s %s: %v, want kind %v", tc.name, what, err, want.Code())
			}
		}
		_, err := RequireEditor(tc.ctx)
		check("RequireEditor", err, tc.edit)
		_, err = RequireAdmin(tc.ctx)
		check("RequireAdmin", err, tc.manage)
		if tc.edit != allowed {
			ran := false
			err = EditSite(tc.ctx, nil, func(context.Context, pgx.Tx) error { ran = true; return nil })
			check("EditSite", err, tc.edit)
			if ran {
				t.Errorf("%s: EditSite ran its function", tc.name)
			}
		}
		if tc.name == "anonymous" {
			check("ReadSite", ReadSite(tc.ctx, nil, func(context.Context, pgx.Tx) error { return nil }), errs.Unauthenticated)
		}
	}
}
