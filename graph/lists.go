package graph

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vikstrous/dataloadgen"

	"github.com/bergamot-monitoring/bergamot/store"
)

// The lists nested in each item of a page (a check's alerts, comments,
// downtimes and history; an alert's comments) would cost a statement per
// item. Their first pages (no after, or an empty one) are read for many
// parents at once instead: one statement per list and argument set
// (store.AlertPages, ...), each parent with the page, order, cursors and
// "more" its own read (store.Alerts, ...) gives.
//
//   - The pages of checks, alerts and hosts read the lists their selection
//     asks of their items in their own transaction (primeLists) and leave
//     them for the items' resolvers, each taken once by its operation.
//   - A host's services and traps and a cluster's resources are not paged;
//     they are read whole the same way, so hosts(first: 1000) { services }
//     is one more statement, not a thousand.
//   - Anywhere else (check(id), a host's services' alerts, the comments of
//     a check's alerts) the resolvers go through the request's lists loader,
//     which reads what arrives within its wait in one transaction.
//
// A page after a cursor is one parent's and is read alone.

// listKind names a nested list.
type listKind uint8

const (
	checkAlerts listKind = iota
	checkComments
	checkDowntimes
	checkHistory
	alertComments
	// A host's services and traps and a cluster's resources: whole lists
	// (first is 0), in name order.
	hostServices
	hostTraps
	clusterResources
)

// childKinds are the check kinds of the child lists.
var childKinds = map[listKind]string{hostServices: "service", hostTraps: "trap", clusterResources: "resource"}

// listArgs is a nested list with one argument set: parents asking for
// equal listArgs are read in one statement.
type listArgs struct {
	list  listKind
	first int
	// flag is the list's optional boolean argument (alerts' open,
	// downtimes' active; see flagOf).
	flag int8
}

// listKey is one parent's first page of a nested list.
type listKey struct {
	listArgs
	parent uuid.UUID
}

// flagOf encodes an optional boolean argument: 0 for none, 1 true, 2
// false.
func flagOf(b *bool) int8 {
	switch {
	case b == nil:
		return 0
	case *b:
		return 1
	}
	return 2
}

// bool decodes flag.
func (a listArgs) bool() *bool {
	if a.flag == 0 {
		return nil
	}
	b := a.flag == 1
	return &b
}

// newListsLoader returns a request's lists loader. It caches nothing: a
// WebSocket connection keeps its loaders for every subscription update,
// and a mutation's answer must show the lists as they are now.
func (r *Resolver) newListsLoader() *dataloadgen.Loader[listKey, any] {
	return dataloadgen.NewLoader(func(ctx context.Context, keys []listKey) ([]any, []error) {
		var order []listArgs
		parents := map[listArgs][]uuid.UUID{}
		for _, k := range keys {
			if _, ok := parents[k.listArgs]; !ok {
				order = append(order, k.listArgs)
			}
			parents[k.listArgs] = append(parents[k.listArgs], k.parent)
		}
		pages := make(map[listArgs]func(uuid.UUID) any, len(order))
		err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
			for _, a := range order {
				page, err := readLists(ctx, tx, a, parents[a])
				if err != nil {
					return err
				}
				pages[a] = page
			}
			return nil
		})
		if err != nil {
			return nil, []error{err}
		}
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = pages[k.listArgs](k.parent)
		}
		return out, nil
	}, dataloadgen.WithWait(500*time.Microsecond), dataloadgen.WithoutCache())
}

// readLists reads the first pages of a's list for parents; the answer
// gives each parent's store.Paged.
func readLists(ctx context.Context, tx pgx.Tx, a listArgs, parents []uuid.UUID) (func(uuid.UUID) any, error) {
	switch a.list {
	case checkAlerts:
		return pagesOf(store.AlertPages(ctx, tx, a.bool(), parents, a.first))
	case checkComments:
		return pagesOf(store.CheckCommentPages(ctx, tx, parents, a.first))
	case checkDowntimes:
		return pagesOf(store.DowntimePages(ctx, tx, parents, a.flag == 1, a.first))
	case checkHistory:
		return pagesOf(store.HistoryPages(ctx, tx, parents, a.first))
	case hostServices, hostTraps, clusterResources:
		return childPages(store.Children(ctx, tx, parents, childKinds[a.list]))
	default:
		return pagesOf(store.AlertCommentPages(ctx, tx, parents, a.first))
	}
}

func pagesOf[T any](pages map[uuid.UUID]store.Paged[T], err error) (func(uuid.UUID) any, error) {
	return func(id uuid.UUID) any { return pages[id] }, err
}

// childPages gives each parent its children among rows (all of them: the
// lists are not paged).
func childPages(rows []*store.CheckRow, err error) (func(uuid.UUID) any, error) {
	by := map[uuid.UUID][]*store.CheckRow{}
	for _, row := range rows {
		if id, ok := parseUUID(row.ParentID); ok {
			by[id] = append(by[id], row)
		}
	}
	return func(id uuid.UUID) any { return store.Paged[*store.CheckRow]{Rows: by[id]} }, err
}

// firstPage takes parent's first page of a nested list from what its
// page primed or loads it through the request's lists loader; batched is
// false when there is no loader (the caller then reads the page alone).
func firstPage[T any](ctx context.Context, size store.PageSize, a listArgs, parent string) (page store.Paged[T], batched bool, err error) {
	v, batched, err := loadList(ctx, a, parent, &size)
	page, _ = v.(store.Paged[T])
	return page, batched, err
}

// loadList takes parent's list a (a store.Paged) from what its page primed
// or loads it through the request's lists loader, after checking a.first
// against size (nil: a whole list, not paged); batched is false when there
// is no loader or parent is malformed (the caller then reads it alone and
// its own read says there is no such parent).
func loadList(ctx context.Context, a listArgs, parent string, size *store.PageSize) (v any, batched bool, err error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	id, valid := parseUUID(parent)
	if !ok || !valid {
		return nil, false, nil
	}
	if size != nil {
		if err := size.Check(a.first); err != nil {
			return nil, true, err
		}
	}
	k := listKey{listArgs: a, parent: id}
	v, primed := l.primed.take(ctx, k)
	if !primed {
		if v, err = l.lists.Load(ctx, k); err != nil {
			return nil, true, err
		}
	}
	return v, true, nil
}

func parseUUID(s string) (uuid.UUID, bool) {
	u, err := uuid.Parse(s)
	return u, err == nil
}

// primedLists holds the pages primeLists read ahead until the resolvers
// they were read for take them. They are the operation's own (a WebSocket
// keeps its loaders for all its operations), and each is taken as many
// times as the operation's selection asks for it, then dropped.
type primedLists struct {
	mu    sync.Mutex
	pages map[primedKey]*primedPage
}

type primedKey struct {
	op *graphql.OperationContext
	listKey
}

type primedPage struct {
	page any
	uses int
}

func (p *primedLists) put(op *graphql.OperationContext, k listKey, page any, uses int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pages == nil {
		p.pages = map[primedKey]*primedPage{}
	}
	pk := primedKey{op, k}
	if e, ok := p.pages[pk]; ok { // two pages of the operation hold the parent
		e.page, e.uses = page, e.uses+uses
		return
	}
	p.pages[pk] = &primedPage{page: page, uses: uses}
}

func (p *primedLists) take(ctx context.Context, k listKey) (any, bool) {
	if !graphql.HasOperationContext(ctx) {
		return nil, false
	}
	pk := primedKey{graphql.GetOperationContext(ctx), k}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.pages[pk]
	if !ok {
		return nil, false
	}
	if e.uses--; e.uses <= 0 {
		delete(p.pages, pk)
	}
	return e.page, true
}

// listItem is an item of a page: its id and the GraphQL types it
// satisfies (the generated ...Implementors), which decide the fragments
// that apply to it.
type listItem struct {
	id         string
	implements []string
}

// checkItems are a page of checks as listItems.
func checkItems(rows []*store.CheckRow) []listItem {
	out := make([]listItem, len(rows))
	for i, r := range rows {
		impl := hostImplementors
		switch r.Kind {
		case store.KindService:
			impl = serviceImplementors
		case store.KindTrap:
			impl = trapImplementors
		case store.KindCluster:
			impl = clusterImplementors
		case store.KindResource:
			impl = resourceImplementors
		}
		out[i] = listItem{id: r.ID, implements: impl}
	}
	return out
}

// primeLists reads, in tx (the transaction that read the page), the first
// pages of the nested lists the current field's selection asks of each of
// items (the items are the field's value, or its child field under, whose
// type satisfies container), one statement per list and argument set, and
// leaves them for the items' resolvers (firstPage). Lists after a cursor
// or with a bad first are left to the resolvers.
func (r *Resolver) primeLists(ctx context.Context, tx pgx.Tx, under string, container []string, items []listItem) error {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	fc := graphql.GetFieldContext(ctx)
	if !ok || fc == nil || !graphql.HasOperationContext(ctx) || len(items) == 0 {
		return nil
	}
	op := graphql.GetOperationContext(ctx)
	sets := []ast.SelectionSet{fc.Field.Selections}
	if under != "" {
		sets = nil
		for _, f := range graphql.CollectFields(op, fc.Field.Selections, container) {
			if f.Name == under {
				sets = append(sets, f.Selections)
			}
		}
	}
	uses := map[listKey]int{}
	var order []listArgs
	parents := map[listArgs][]uuid.UUID{}
	for _, set := range sets {
		fields := map[string][]listArgs{} // by the items' type
		for _, it := range items {
			id, valid := parseUUID(it.id)
			if !valid {
				continue
			}
			typ := it.implements[0]
			lists, done := fields[typ]
			if !done {
				for _, f := range graphql.CollectFields(op, set, it.implements) {
					if a, ok := nestedList(f, op.Variables, typ == "Alert"); ok {
						lists = append(lists, a)
					}
				}
				fields[typ] = lists
			}
			for _, a := range lists {
				k := listKey{listArgs: a, parent: id}
				if uses[k]++; uses[k] == 1 {
					if _, seen := parents[a]; !seen {
						order = append(order, a)
					}
					parents[a] = append(parents[a], id)
				}
			}
		}
	}
	for _, a := range order {
		pages, err := readLists(ctx, tx, a, parents[a])
		if err != nil {
			return err
		}
		for _, p := range parents[a] {
			k := listKey{listArgs: a, parent: p}
			l.primed.put(op, k, pages(p), uses[k])
		}
	}
	return nil
}

// nestedList tells which first page of a nested list f asks for (alert:
// f is an Alert's field, else a check's); ok is false for other fields,
// pages after a cursor and arguments the resolver will refuse.
func nestedList(f graphql.CollectedField, vars map[string]any, alert bool) (a listArgs, ok bool) {
	var size store.PageSize
	switch {
	case alert && f.Name == "comments":
		a.list, size = alertComments, store.CommentsPage
	case alert:
		return a, false
	case f.Name == "services":
		a.list = hostServices
		return a, true
	case f.Name == "traps":
		a.list = hostTraps
		return a, true
	case f.Name == "resources":
		a.list = clusterResources
		return a, true
	case f.Name == "alerts":
		a.list, size = checkAlerts, store.AlertsPage
	case f.Name == "comments":
		a.list, size = checkComments, store.CommentsPage
	case f.Name == "downtimes":
		a.list, size = checkDowntimes, store.DowntimesPage
	case f.Name == "history":
		a.list, size = checkHistory, store.HistoryPage
	default:
		return a, false
	}
	args := f.ArgumentMap(vars)
	if after, err := graphql.UnmarshalString(args["after"]); args["after"] != nil && (err != nil || after != "") {
		return a, false
	}
	a.first = size.Default
	if args["first"] != nil {
		n, err := graphql.UnmarshalInt(args["first"])
		if err != nil {
			return a, false
		}
		a.first = n
	}
	if size.Check(a.first) != nil {
		return a, false
	}
	var flag *bool
	for _, name := range []string{"open", "active"} {
		if v := args[name]; v != nil {
			b, err := graphql.UnmarshalBoolean(v)
			if err != nil {
				return a, false
			}
			flag = &b
		}
	}
	if a.list == checkDowntimes && flag == nil {
		flag = new(bool) // active: null is false
	}
	a.flag = flagOf(flag)
	return a, true
}
