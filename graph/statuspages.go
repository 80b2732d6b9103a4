package graph

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// Status pages (docs/status-pages.md): members read them, editors and
// admins change them; store/statuspages.go holds the rules.

func (r *Resolver) statusPages(ctx context.Context) ([]*store.StatusPage, error) {
	var out []*store.StatusPage
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.StatusPages(ctx, tx)
		return err
	})
	return out, err
}

func (r *Resolver) statusPage(ctx context.Context, id string) (*store.StatusPage, error) {
	var out *store.StatusPage
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.StatusPageByID(ctx, tx, id)
		return err
	})
	return out, err
}

// statusPagePath is the page's public path under the caller's site.
func statusPagePath(ctx context.Context, p *store.StatusPage) (string, error) {
	pr, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return "", err
	}
	return "/status/" + pr.Site.Name + "/" + p.Slug, nil
}

func (r *Resolver) statusComponents(ctx context.Context, p *store.StatusPage) ([]*store.StatusComponent, error) {
	var out []*store.StatusComponent
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.StatusComponents(ctx, tx, p.ID)
		return err
	})
	return out, err
}

func (r *Resolver) statusIncidents(ctx context.Context, p *store.StatusPage, first *int) ([]*store.StatusIncident, error) {
	n := 50
	if first != nil && *first > 0 && *first < 500 {
		n = *first
	}
	var out []*store.StatusIncident
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.StatusIncidents(ctx, tx, p.ID, time.Time{}, n)
		return err
	})
	return out, err
}

// editStatus runs fn for an editor or admin with the caller's site id.
func (r *Resolver) editStatus(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx, site uuid.UUID) error) error {
	return r.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		site, err := tenants.SiteFrom(ctx)
		if err != nil {
			return err
		}
		return fn(ctx, tx, site)
	})
}

func (r *Resolver) saveStatusPage(ctx context.Context, in store.StatusPageInput) (*store.StatusPage, error) {
	var out *store.StatusPage
	err := r.editStatus(ctx, func(ctx context.Context, tx pgx.Tx, site uuid.UUID) error {
		var err error
		out, err = store.SaveStatusPage(ctx, tx, site, in)
		return err
	})
	if err == nil {
		auditTarget(ctx, out.Slug)
	}
	return out, err
}

func (r *Resolver) deleteStatusPage(ctx context.Context, id string) (bool, error) {
	err := r.write(ctx, func(ctx context.Context, tx pgx.Tx) error { return store.DeleteStatusPage(ctx, tx, id) })
	return err == nil, err
}

func (r *Resolver) saveStatusComponent(ctx context.Context, in store.StatusComponentInput) (*store.StatusComponent, error) {
	var out *store.StatusComponent
	err := r.editStatus(ctx, func(ctx context.Context, tx pgx.Tx, site uuid.UUID) error {
		var err error
		out, err = store.SaveStatusComponent(ctx, tx, site, in)
		return err
	})
	return out, err
}

func (r *Resolver) deleteStatusComponent(ctx context.Context, id string) (bool, error) {
	err := r.write(ctx, func(ctx context.Context, tx pgx.Tx) error { return store.DeleteStatusComponent(ctx, tx, id) })
	return err == nil, err
}

func (r *Resolver) createStatusIncident(ctx context.Context, in store.StatusIncidentInput) (*store.StatusIncident, error) {
	var out *store.StatusIncident
	err := r.editStatus(ctx, func(ctx context.Context, tx pgx.Tx, site uuid.UUID) error {
		var err error
		out, err = store.CreateStatusIncident(ctx, tx, site, in, author(ctx))
		return err
	})
	if err == nil {
		auditTarget(ctx, out.Title)
	}
	return out, err
}

func (r *Resolver) updateStatusIncident(ctx context.Context, id, state, body string) (*store.StatusIncident, error) {
	var out *store.StatusIncident
	err := r.editStatus(ctx, func(ctx context.Context, tx pgx.Tx, site uuid.UUID) error {
		var err error
		out, err = store.UpdateStatusIncident(ctx, tx, site, id, state, body, author(ctx))
		return err
	})
	return out, err
}

func (r *Resolver) deleteStatusIncident(ctx context.Context, id string) (bool, error) {
	err := r.write(ctx, func(ctx context.Context, tx pgx.Tx) error { return store.DeleteStatusIncident(ctx, tx, id) })
	return err == nil, err
}
