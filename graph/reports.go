package graph

import (
	"context"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// availability answers Query.availability for one check or one group.
func (r *Resolver) availability(ctx context.Context, checkID, groupID *string, from, to time.Time) (*store.Availability, error) {
	if (checkID == nil) == (groupID == nil) {
		return nil, errs.E(errs.Invalid, "availability: give exactly one of checkId and groupId")
	}
	var out *store.Availability
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if checkID != nil {
			out, err = store.CheckAvailability(ctx, tx, *checkID, from, to)
		} else {
			out, err = store.GroupAvailability(ctx, tx, *groupID, from, to)
		}
		return err
	})
	return out, err
}

// statusShares lists a's statuses (not its other categories), longest first.
func statusShares(a *store.Availability) []*model.StatusShare {
	out := []*model.StatusShare{}
	for _, c := range a.Categories() {
		st, err := checks.ParseStatus(c)
		if err != nil || c == store.CategoryPending {
			continue
		}
		out = append(out, &model.StatusShare{Status: st, Fraction: a.Fraction(c), Seconds: a.Seconds[c]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seconds > out[j].Seconds })
	return out
}

func (r *Resolver) retentionMax() store.Retention {
	if r.RetentionMax == (store.Retention{}) {
		return store.DefaultRetention
	}
	return r.RetentionMax
}

// retention is the site's retention in effect.
func (r *Resolver) retention(ctx context.Context) (*store.Retention, error) {
	var out store.Retention
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.SiteRetention(ctx, tx, r.retentionMax())
		return err
	})
	return &out, err
}

// setRetention changes the site's retention (admins only).
func (r *Resolver) setRetention(ctx context.Context, in store.RetentionInput) (*store.Retention, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	var out store.Retention
	err := r.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		site, err := tenants.SiteFrom(ctx)
		if err != nil {
			return err
		}
		if err := store.SetSiteRetention(ctx, tx, site, in, r.retentionMax()); err != nil {
			return err
		}
		out, err = store.SiteRetention(ctx, tx, r.retentionMax())
		return err
	})
	return &out, err
}

// slas measures the site's agreements now.
func (r *Resolver) slas(ctx context.Context) ([]*store.SLA, error) {
	var out []*store.SLA
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.SLAs(ctx, tx, time.Now(), "")
		return err
	})
	return out, err
}

// slaIncidents lists what consumed an agreement's budget (at most 500).
func (r *Resolver) slaIncidents(ctx context.Context, sla *store.SLA, first *int) ([]*store.Incident, error) {
	n := deref(first, 20)
	if n <= 0 || n > 500 {
		return nil, errs.E(errs.Invalid, "incidents: first must be between 1 and 500")
	}
	var out []*store.Incident
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.SLAIncidents(ctx, tx, sla, sla.MeasuredAt(), n)
		return err
	})
	if out == nil {
		out = []*store.Incident{}
	}
	return out, err
}
