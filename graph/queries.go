package graph

import (
	"context"
	"encoding/json"
	"slices"
	"sort"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph/model"
	"github.com/bergamot-monitoring/bergamot/store"
)

func (r *Resolver) host(ctx context.Context, id, name *string) (*store.Host, error) {
	var row *store.CheckRow
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		switch {
		case id != nil:
			row, err = store.CheckByID(ctx, tx, *id)
			if err == nil && row.Kind != store.KindHost {
				err = errs.E(errs.NotFound, "no host with id %q", *id)
			}
		case name != nil:
			row, err = store.HostByName(ctx, tx, *name)
		default:
			err = errs.E(errs.Invalid, "give the host's id or name")
		}
		return err
	})
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &store.Host{CheckRow: *row}, nil
}

// hosts lists a page of hosts by name (with the lists nested in its
// selection: primeLists).
func (r *Resolver) hosts(ctx context.Context, search string, first *int, after *string) ([]*store.Host, error) {
	rows, err := listPage(ctx, r, store.HostsPage, first, after, func(ctx context.Context, tx pgx.Tx, first int, after string) ([]*store.CheckRow, bool, error) {
		page, more, err := store.Hosts(ctx, tx, search, first, after)
		if err == nil {
			err = r.primeLists(ctx, tx, "", nil, checkItems(page))
		}
		return page, more, err
	})
	return wrapRows(rows, func(c store.CheckRow) *store.Host { return &store.Host{CheckRow: c} }), err
}

// configRevisions lists a page of configuration revisions, newest first.
func (r *Resolver) configRevisions(ctx context.Context, first *int, after *string) ([]*store.ConfigRevision, error) {
	return listPage(ctx, r, store.RevisionsPage, first, after, store.ConfigRevisions)
}

func (r *Resolver) checks(ctx context.Context, f *store.CheckFilter, first int, after string) (*model.CheckConnection, error) {
	var page *store.Page
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		page, err = store.ListChecks(ctx, tx, f, first, after, wantsField(ctx, "totalCount"))
		if err != nil {
			return err
		}
		parents, deps := wantsNested(ctx, "nodes", "host", "cluster"), wantsNested(ctx, "nodes", "dependsOn")
		if parents || deps {
			if err := r.primeParents(ctx, tx, page.Nodes, parents, deps); err != nil {
				return err
			}
		}
		return r.primeLists(ctx, tx, "nodes", checkConnectionImplementors, checkItems(page.Nodes))
	})
	if err != nil {
		return nil, err
	}
	nodes := make([]store.Checker, len(page.Nodes))
	for i, n := range page.Nodes {
		nodes[i] = store.AsChecker(n)
	}
	return &model.CheckConnection{Nodes: nodes, TotalCount: page.Total, PageInfo: &model.PageInfo{HasNextPage: page.HasNext, EndCursor: &page.EndCursor}}, nil
}

// rollup is the worst status among counts.
func rollup(counts []*store.StatusCount) checks.Status {
	worst := checks.StatusOK
	if len(counts) == 0 {
		return checks.StatusPending
	}
	for _, c := range counts {
		if c.Count > 0 && c.Status.Worse(worst) {
			worst = c.Status
		}
	}
	return worst
}

// treeRows reads a tree of names (groups, locations) and its status counts
// with load (store.GroupTree, store.LocationTree).
func (r *Resolver) treeRows(ctx context.Context, load func(context.Context, pgx.Tx) ([]store.TreeNode, map[string][]*store.StatusCount, error)) ([]store.TreeNode, map[string][]*store.StatusCount, error) {
	var rows []store.TreeNode
	var counts map[string][]*store.StatusCount
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		rows, counts, err = load(ctx, tx)
		return err
	})
	return rows, counts, err
}

func (r *Resolver) groups(ctx context.Context) ([]*model.Group, error) {
	rows, counts, err := r.treeRows(ctx, store.GroupTree)
	if err != nil {
		return nil, err
	}
	byName := map[string]*model.Group{}
	for _, n := range rows {
		byName[n.Name] = &model.Group{Name: n.Name, Summary: optString(n.Summary), Parents: nonNilSlice(n.Parents), Children: []*model.Group{}, Counts: nonNilSlice(counts[n.Name])}
	}
	var roots []*model.Group
	for _, n := range rows {
		g := byName[n.Name]
		placed := false
		for _, p := range n.Parents {
			if pg, ok := byName[p]; ok {
				pg.Children = append(pg.Children, g)
				placed = true
			}
		}
		if !placed {
			roots = append(roots, g)
		}
	}
	var fill func(g *model.Group, depth int) []*store.StatusCount
	fill = func(g *model.Group, depth int) []*store.StatusCount {
		all := append([]*store.StatusCount{}, g.Counts...)
		if depth < 32 {
			for _, c := range g.Children {
				all = append(all, fill(c, depth+1)...)
			}
		}
		g.Status = rollup(all)
		return all
	}
	for _, g := range roots {
		fill(g, 0)
	}
	return nonNilSlice(roots), nil
}

func (r *Resolver) locations(ctx context.Context) ([]*model.Location, error) {
	rows, counts, err := r.treeRows(ctx, store.LocationTree)
	if err != nil {
		return nil, err
	}
	byName := map[string]*model.Location{}
	for _, n := range rows {
		l := &model.Location{Name: n.Name, Summary: optString(n.Summary), Children: []*model.Location{}, Counts: nonNilSlice(counts[n.Name])}
		if len(n.Parents) > 0 {
			l.Parent = &n.Parents[0]
		}
		byName[n.Name] = l
	}
	var roots []*model.Location
	for _, n := range rows {
		l := byName[n.Name]
		if l.Parent != nil && byName[*l.Parent] != nil {
			byName[*l.Parent].Children = append(byName[*l.Parent].Children, l)
		} else {
			roots = append(roots, l)
		}
	}
	var fill func(l *model.Location, depth int) []*store.StatusCount
	fill = func(l *model.Location, depth int) []*store.StatusCount {
		all := append([]*store.StatusCount{}, l.Counts...)
		if depth < 32 {
			for _, c := range l.Children {
				all = append(all, fill(c, depth+1)...)
			}
		}
		l.Status = rollup(all)
		return all
	}
	for _, l := range roots {
		fill(l, 0)
	}
	return nonNilSlice(roots), nil
}

func (r *Resolver) contacts(ctx context.Context) ([]*model.Contact, error) {
	var rows []store.ContactRow
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		rows, err = store.Contacts(ctx, tx)
		return err
	})
	out := make([]*model.Contact, len(rows))
	for i, c := range rows {
		out[i] = &model.Contact{Name: c.Name, Summary: optString(c.Summary), Email: optString(c.Email), Teams: nonNilSlice(c.Teams)}
	}
	return nonNilSlice(out), err
}

func (r *Resolver) teams(ctx context.Context) ([]*model.Team, error) {
	contacts, err := r.contacts(ctx)
	if err != nil {
		return nil, err
	}
	var rows []store.NamedRow
	err = r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		rows, err = store.Teams(ctx, tx)
		return err
	})
	out := make([]*model.Team, len(rows))
	for i, t := range rows {
		out[i] = &model.Team{Name: t.Name, Summary: optString(t.Summary), Contacts: []*model.Contact{}}
	}
	for _, t := range out {
		for _, c := range contacts {
			for _, tn := range c.Teams {
				if tn == t.Name {
					t.Contacts = append(t.Contacts, c)
				}
			}
		}
	}
	return nonNilSlice(out), err
}

func (r *Resolver) commands(ctx context.Context) ([]*model.Command, error) {
	var rows []store.CommandRow
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		rows, err = store.Commands(ctx, tx)
		return err
	})
	out := make([]*model.Command, len(rows))
	for i, c := range rows {
		out[i] = &model.Command{Name: c.Name, Summary: optString(c.Summary), Engine: c.Engine, Executor: optString(c.Executor)}
	}
	return nonNilSlice(out), err
}

func (r *Resolver) timePeriods(ctx context.Context) ([]*model.TimePeriod, error) {
	var rows []store.TimePeriodRow
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		rows, err = store.TimePeriodRows(ctx, tx)
		return err
	})
	out := make([]*model.TimePeriod, len(rows))
	for i, t := range rows {
		out[i] = &model.TimePeriod{Name: t.Name, Summary: optString(t.Summary), Ranges: t.Ranges, Excludes: t.Excludes}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return nonNilSlice(out), err
}

var _ = json.Marshal

// wantsNested reports whether the current field's selection asks, under
// its child field named under, for any field named one of names (looking
// through fragments).
func wantsNested(ctx context.Context, under string, names ...string) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return false
	}
	for _, sel := range fc.Field.Selections {
		if f, ok := sel.(*ast.Field); ok && f.Name == under && selects(f.SelectionSet, names) {
			return true
		}
	}
	return false
}

func selects(set ast.SelectionSet, names []string) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if slices.Contains(names, s.Name) {
				return true
			}
		case *ast.InlineFragment:
			if selects(s.SelectionSet, names) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && selects(s.Definition.SelectionSet, names) {
				return true
			}
		}
	}
	return false
}

// primeParents loads the hosts and clusters of a page of checks (with
// deps, instead or as well, the checks each depends on) in the page's own
// transaction and hands them to the request's check loader, so a page
// "with its host" costs one more query, not one more transaction.
func (r *Resolver) primeParents(ctx context.Context, tx pgx.Tx, rows []*store.CheckRow, parents, deps bool) error {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		return nil
	}
	want := make([]string, 0, len(rows))
	for _, row := range rows {
		if parents {
			want = append(want, row.ParentID)
		}
		if deps {
			want = append(want, row.DependsOn...)
		}
	}
	ids := parseIDs(want)
	if len(ids) == 0 {
		return nil
	}
	found, err := store.ChecksByID(ctx, tx, ids)
	if err != nil {
		return err
	}
	for _, p := range found {
		l.checks.Prime(p.ID, p)
	}
	for _, id := range ids {
		l.checks.Prime(id.String(), nil) // gone since (a dependency): no check
	}
	return nil
}

// wantsField reports whether the query selected name on the current field,
// so expensive parts (a count over 100,000 checks) run only when asked for.
func wantsField(ctx context.Context, name string) bool {
	for _, f := range graphql.CollectAllFields(ctx) {
		if f == name {
			return true
		}
	}
	return false
}
