package graph

import (
	"context"

	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// signedIn turns a session opened by a link into the answer (and the
// session cookie).
func (r *Resolver) signedIn(ctx context.Context) func(string, *tenants.Principal, error) (*model.AuthPayload, error) {
	return func(token string, p *tenants.Principal, err error) (*model.AuthPayload, error) {
		return authAnswer(ctx, token, p, err)
	}
}
