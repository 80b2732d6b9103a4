package graph

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/jobs"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// ConfigResultOf converts an apply result for the API (also used by REST).
func ConfigResultOf(res *store.ApplyResult) *model.ConfigResult {
	out := &model.ConfigResult{Ok: res.OK, Errors: []*model.ConfigError{}, Added: res.Added, Changed: res.Changed, Removed: res.Removed}
	for _, e := range res.Errors {
		ce := &model.ConfigError{Message: e.Message, File: optString(e.File), Object: optString(e.Object)}
		if e.Line > 0 {
			ce.Line = ptr(e.Line)
		}
		out.Errors = append(out.Errors, ce)
	}
	if res.Diff != "" {
		out.Diff = &res.Diff
	}
	if res.Revision > 0 {
		out.Revision = ptr(int(res.Revision))
	}
	return out
}

// ApplyXML parses and applies (or dry-runs) XML for the caller's site. Who
// is calling is checked before the XML is read: parsing costs CPU and memory
// that anonymous callers and viewers must not be able to spend.
func (r *Resolver) ApplyXML(ctx context.Context, xml string, dryRun bool) (*store.ApplyResult, error) {
	p, err := tenants.PrincipalFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !dryRun && !p.Role.CanEdit() {
		return nil, errs.E(errs.Forbidden, "your role (%s) cannot change this site; ask an administrator", p.Role)
	}
	doc, err := config.Parse("submitted.xml", strings.NewReader(xml))
	var list config.ErrorList
	if errors.As(err, &list) {
		return &store.ApplyResult{Errors: list}, nil
	}
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "configuration not readable")
	}
	var res *store.ApplyResult
	fn := r.write
	if dryRun {
		fn = r.read
	}
	// An apply replaces checks in every security domain: the role governs it.
	err = fn(tenants.WholeSite(ctx), func(ctx context.Context, tx pgx.Tx) error {
		var err error
		res, err = r.Configs.Apply(ctx, tx, doc, author(ctx), "api", dryRun)
		return err
	})
	return res, err
}

func (r *Resolver) applyConfig(ctx context.Context, xml string, dryRun bool) (*model.ConfigResult, error) {
	res, err := r.ApplyXML(ctx, xml, dryRun)
	if err != nil {
		return nil, err
	}
	return ConfigResultOf(res), nil
}

func (r *Resolver) configXML(ctx context.Context) (string, error) {
	var out []byte
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		doc, err := r.Configs.LoadDocument(ctx, tx)
		if err != nil {
			return err
		}
		out, err = config.Export(doc)
		return err
	})
	return string(out), err
}

func (r *Resolver) executeNow(ctx context.Context, checkID string) (bool, error) {
	id, err := store.ParseID(checkID)
	if err != nil {
		return false, err
	}
	var limit int64
	if p, perr := tenants.PrincipalFrom(ctx); perr == nil {
		limit, _ = r.Limits.Get(ctx, p.Site.ID, tenants.LimitExecuteNowQueued)
	}
	err = r.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		err := jobs.ExecuteNowLimited(ctx, tx, r.River, id, r.StartWithin, limit)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "no active check with id %q (passive and virtual checks cannot be executed)", checkID)
		}
		return err
	})
	return err == nil, err
}
