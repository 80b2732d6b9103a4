package graph

import (
	"context"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Remote workers' keys and the site's zones: thin calls into gateway.Store.

func (r *Resolver) workerStore() *gateway.Store { return &gateway.Store{Pool: r.Pool} }

func keyAdmin(ctx context.Context) error {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return err
	}
	if !p.Role.CanManageUsers() {
		return errs.E(errs.Forbidden, "only administrators can manage worker keys")
	}
	return nil
}

func (r *Resolver) createWorkerKey(ctx context.Context, zone, name string) (*gateway.WorkerKey, error) {
	if err := keyAdmin(ctx); err != nil {
		return nil, err
	}
	return r.workerStore().CreateKey(ctx, zone, name)
}

func (r *Resolver) revokeWorkerKey(ctx context.Context, id string) (bool, error) {
	if err := keyAdmin(ctx); err != nil {
		return false, err
	}
	kid, err := uuid.Parse(id)
	if err != nil {
		return false, errs.E(errs.NotFound, "no worker key with id %q", id)
	}
	ok, err := r.workerStore().RevokeKey(ctx, kid)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, errs.E(errs.NotFound, "no live worker key with id %q", id)
	}
	return true, nil
}

func (r *Resolver) workerKeys(ctx context.Context) ([]*gateway.WorkerKey, error) {
	if err := keyAdmin(ctx); err != nil {
		return nil, err
	}
	keys, err := r.workerStore().Keys(ctx)
	return nonNilSlice(keys), err
}

func (r *Resolver) zones(ctx context.Context) ([]*gateway.Zone, error) {
	if _, err := tenants.PrincipalFrom(ctx); err != nil {
		return nil, err
	}
	return r.workerStore().Zones(ctx)
}
