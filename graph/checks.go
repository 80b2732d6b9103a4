package graph

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/vikstrous/dataloadgen"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/store"
)

// loaders batch per-request lookups so a page of checks costs a bounded
// number of queries (no N+1).
type loaders struct {
	checks *dataloadgen.Loader[string, *store.CheckRow]
	// lists reads the first pages of lists nested in a page's items (see
	// lists.go).
	lists  *dataloadgen.Loader[listKey, any]
	primed primedLists
}

type loadersKey struct{}

func (r *Resolver) withLoaders(ctx context.Context) context.Context {
	l := &loaders{checks: dataloadgen.NewMappedLoader(func(ctx context.Context, keys []string) (map[string]*store.CheckRow, error) {
		ids := parseIDs(keys)
		out := map[string]*store.CheckRow{}
		err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
			rows, err := store.ChecksByID(ctx, tx, ids)
			for _, row := range rows {
				out[row.ID] = row
			}
			return err
		})
		return out, err
	}, dataloadgen.WithWait(500*time.Microsecond)), lists: r.newListsLoader()}
	return context.WithValue(ctx, loadersKey{}, l)
}

// parseIDs returns the distinct check ids among keys, skipping empty and
// malformed ones (they name no check).
func parseIDs(keys []string) []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(keys))
	seen := make(map[uuid.UUID]bool, len(keys))
	for _, k := range keys {
		if u, err := uuid.Parse(k); err == nil && !seen[u] {
			seen[u] = true
			ids = append(ids, u)
		}
	}
	return ids
}

func (r *Resolver) loadCheck(ctx context.Context, id string) (*store.CheckRow, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		var row *store.CheckRow
		err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
			var err error
			row, err = store.CheckByID(ctx, tx, id)
			return err
		})
		return row, err
	}
	row, err := l.checks.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		row, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if row == nil {
		return nil, errs.E(errs.NotFound, "no check with id %q", id)
	}
	return row, nil
}

func (r *Resolver) history(ctx context.Context, c *store.CheckRow, first *int, after *string) (*model.StateChangeConnection, error) {
	n := deref(first, store.HistoryPage.Default)
	if deref(after, "") == "" {
		page, batched, err := firstPage[*store.StateChange](ctx, store.HistoryPage, listArgs{list: checkHistory, first: n}, c.ID)
		if batched && err != nil {
			return nil, err
		}
		if batched {
			return historyConnection(page.Rows, page.More, store.HistoryEndCursor(page.Rows)), nil
		}
	}
	var out *model.StateChangeConnection
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		nodes, more, cursor, err := store.History(ctx, tx, c.ID, n, deref(after, ""))
		out = historyConnection(nodes, more, cursor)
		return err
	})
	return out, err
}

func historyConnection(nodes []*store.StateChange, more bool, cursor string) *model.StateChangeConnection {
	return &model.StateChangeConnection{Nodes: nonNilSlice(nodes), PageInfo: &model.PageInfo{HasNextPage: more, EndCursor: &cursor}}
}

func (r *Resolver) metrics(ctx context.Context, c *store.CheckRow, label *string, from, to *time.Time, points *int) ([]*store.MetricSeries, error) {
	end := deref(to, time.Now())
	start := deref(from, end.Add(-6*time.Hour))
	var out []*store.MetricSeries
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.Metrics(ctx, tx, c.ID, deref(label, ""), start, end, deref(points, 200))
		return err
	})
	if out == nil {
		out = []*store.MetricSeries{}
	}
	return out, err
}

// listPage reads one page of a paged list (store.Alerts, store.Comments,
// ...) in a site transaction; first defaults to the list's default page
// size. The page is never nil.
func listPage[T any](ctx context.Context, r *Resolver, size store.PageSize, first *int, after *string,
	read func(ctx context.Context, tx pgx.Tx, first int, after string) ([]T, bool, error)) ([]T, error) {
	var out []T
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, _, err = read(ctx, tx, deref(first, size.Default), deref(after, ""))
		return err
	})
	return nonNilSlice(out), err
}

// alerts lists alerts (one check's when checkID is set), newest first,
// with the comments its selection asks of each (primeLists).
func (r *Resolver) alerts(ctx context.Context, open *bool, checkID string, first *int, after *string) ([]*store.Alert, error) {
	return listPage(ctx, r, store.AlertsPage, first, after, func(ctx context.Context, tx pgx.Tx, first int, after string) ([]*store.Alert, bool, error) {
		page, more, err := store.Alerts(ctx, tx, open, checkID, first, after)
		if err == nil {
			err = r.primeLists(ctx, tx, "", nil, alertItems(page))
		}
		return page, more, err
	})
}

// alertItems are a page of alerts as listItems.
func alertItems(alerts []*store.Alert) []listItem {
	out := make([]listItem, len(alerts))
	for i, a := range alerts {
		out[i] = listItem{id: a.ID, implements: alertImplementors}
	}
	return out
}

// alertsOf lists a check's alerts; a first page is batched (lists.go).
func (r *Resolver) alertsOf(ctx context.Context, c *store.CheckRow, open *bool, first *int, after *string) ([]*store.Alert, error) {
	if deref(after, "") == "" {
		a := listArgs{list: checkAlerts, first: deref(first, store.AlertsPage.Default), flag: flagOf(open)}
		if page, batched, err := firstPage[*store.Alert](ctx, store.AlertsPage, a, c.ID); batched {
			return nonNilSlice(page.Rows), err
		}
	}
	return r.alerts(ctx, open, c.ID, first, after)
}

// downtimesOf lists a check's downtimes; a first page is batched
// (lists.go).
func (r *Resolver) downtimesOf(ctx context.Context, c *store.CheckRow, active *bool, first *int, after *string) ([]*store.Downtime, error) {
	act := deref(active, false)
	if deref(after, "") == "" {
		a := listArgs{list: checkDowntimes, first: deref(first, store.DowntimesPage.Default), flag: flagOf(&act)}
		if page, batched, err := firstPage[*store.Downtime](ctx, store.DowntimesPage, a, c.ID); batched {
			return nonNilSlice(page.Rows), err
		}
	}
	return listPage(ctx, r, store.DowntimesPage, first, after, func(ctx context.Context, tx pgx.Tx, first int, after string) ([]*store.Downtime, bool, error) {
		return store.Downtimes(ctx, tx, c.ID, act, first, after)
	})
}

// commentsOf lists the comments on a check (with those on its alerts) or,
// when checkID is empty, on an alert; a first page is batched (lists.go).
func (r *Resolver) commentsOf(ctx context.Context, checkID, alertID string, first *int, after *string) ([]*store.Comment, error) {
	if deref(after, "") == "" {
		a, parent := listArgs{list: checkComments, first: deref(first, store.CommentsPage.Default)}, checkID
		if checkID == "" {
			a.list, parent = alertComments, alertID
		}
		if page, batched, err := firstPage[*store.Comment](ctx, store.CommentsPage, a, parent); batched {
			return nonNilSlice(page.Rows), err
		}
	}
	return listPage(ctx, r, store.CommentsPage, first, after, func(ctx context.Context, tx pgx.Tx, first int, after string) ([]*store.Comment, bool, error) {
		return store.Comments(ctx, tx, checkID, alertID, first, after)
	})
}

// children lists a host's services or traps or a cluster's resources
// (list: hostServices, hostTraps, clusterResources), in name order; within
// a request they are batched (lists.go).
func (r *Resolver) children(ctx context.Context, parentID string, list listKind) ([]*store.CheckRow, error) {
	if v, batched, err := loadList(ctx, listArgs{list: list}, parentID, nil); batched {
		page, _ := v.(store.Paged[*store.CheckRow])
		return nonNilSlice(page.Rows), err
	}
	id, err := uuid.Parse(parentID)
	if err != nil {
		return nil, err
	}
	var out []*store.CheckRow
	err = r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		out, err = store.Children(ctx, tx, []uuid.UUID{id}, childKinds[list])
		return err
	})
	return out, err
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func wrapRows[T any](rows []*store.CheckRow, wrap func(store.CheckRow) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = wrap(*r)
	}
	return out
}

// dependsOn loads the checks c names in <depends>, in their configured
// order, skipping any removed since.
func (r *Resolver) dependsOn(ctx context.Context, c *store.CheckRow) ([]store.Checker, error) {
	rows, err := r.loadChecks(ctx, c.DependsOn)
	out := make([]store.Checker, 0, len(rows))
	for _, row := range rows {
		out = append(out, store.AsChecker(row))
	}
	return out, err
}

// loadChecks loads the checks of ids (in one batch through the request's
// check loader) in the order given, leaving out those that do not exist.
func (r *Resolver) loadChecks(ctx context.Context, ids []string) ([]*store.CheckRow, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		var out []*store.CheckRow
		for _, id := range ids {
			row, err := r.loadCheck(ctx, id)
			if errs.Is(err, errs.NotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, row)
		}
		return out, nil
	}
	thunks := make([]func() (*store.CheckRow, error), len(ids))
	for i, id := range ids {
		thunks[i] = l.checks.LoadThunk(ctx, id)
	}
	out := make([]*store.CheckRow, 0, len(ids))
	for _, th := range thunks {
		row, err := th()
		if errors.Is(err, dataloadgen.ErrNotFound) || err == nil && row == nil {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, nil
}
