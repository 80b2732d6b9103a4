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

type namedRow struct {
	name, summary string
	parents       []string
}

func (r *Resolver) treeRows(ctx context.Context, query string, countBy string) ([]namedRow, map[string][]*store.StatusCount, error) {
	var rows []namedRow
	counts := map[string][]*store.StatusCount{}
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		q, err := tx.Query(ctx, query)
		if err != nil {
			return err
		}
		rows, err = pgx.CollectRows(q, func(row pgx.CollectableRow) (namedRow, error) {
			var n namedRow
			err := row.Scan(&n.name, &n.summary, &n.parents)
			return n, err
		})
		if err != nil {
			return err
		}
		cq, err := tx.Query(ctx, countBy)
		if err != nil {
			return err
		}
		defer cq.Close()
		for cq.Next() {
			var name, st string
			var n int
			if err := cq.Scan(&name, &st, &n); err != nil {
				return err
			}
			s, _ := checks.ParseStatus(st)
			counts[name] = append(counts[name], &store.StatusCount{Status: s, Count: n})
		}
		return cq.Err()
	})
	return rows, counts, err
}

func (r *Resolver) groups(ctx context.Context) ([]*model.Group, error) {
	rows, counts, err := r.treeRows(ctx, `SELECT name, summary, parents FROM groups ORDER BY name`,
		`SELECT g, s.status, count(*) FROM checks c JOIN check_state s ON s.check_id = c.id, unnest(c.groups) g GROUP BY g, s.status`)
	if err != nil {
		return nil, err
	}
	byName := map[string]*model.Group{}
	for _, n := range rows {
		byName[n.name] = &model.Group{Name: n.name, Summary: optString(n.summary), Parents: nonNilSlice(n.parents), Children: []*model.Group{}, Counts: nonNilSlice(counts[n.name])}
	}
	var roots []*model.Group
	for _, n := range rows {
		g := byName[n.name]
		placed := false
		for _, p := range n.parents {
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
	rows, counts, err := r.treeRows(ctx, `SELECT name, summary, CASE WHEN parent IS NULL THEN '{}'::text[] ELSE ARRAY[parent] END FROM locations ORDER BY name`,
		`SELECT COALESCE(NULLIF(c.location, ''), h.location), s.status, count(*) FROM checks c JOIN check_state s ON s.check_id = c.id
			LEFT JOIN checks h ON h.id = c.parent_id WHERE COALESCE(NULLIF(c.location, ''), h.location) <> '' GROUP BY 1, 2`)
	if err != nil {
		return nil, err
	}
	byName := map[string]*model.Location{}
	for _, n := range rows {
		l := &model.Location{Name: n.name, Summary: optString(n.summary), Children: []*model.Location{}, Counts: nonNilSlice(counts[n.name])}
		if len(n.parents) > 0 {
			l.Parent = &n.parents[0]
		}
		byName[n.name] = l
	}
	var roots []*model.Location
	for _, n := range rows {
		l := byName[n.name]
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
	var out []*model.Contact
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		q, err := tx.Query(ctx, `SELECT name, summary, email, teams FROM contacts ORDER BY name`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(q, func(row pgx.CollectableRow) (*model.Contact, error) {
			var c model.Contact
			var summary, email string
			err := row.Scan(&c.Name, &summary, &email, &c.Teams)
			c.Summary, c.Email, c.Teams = optString(summary), optString(email), nonNilSlice(c.Teams)
			return &c, err
		})
		return err
	})
	return nonNilSlice(out), err
}

func (r *Resolver) teams(ctx context.Context) ([]*model.Team, error) {
	contacts, err := r.contacts(ctx)
	if err != nil {
		return nil, err
	}
	var out []*model.Team
	err = r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		q, err := tx.Query(ctx, `SELECT name, summary FROM teams ORDER BY name`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(q, func(row pgx.CollectableRow) (*model.Team, error) {
			var t model.Team
			var summary string
			err := row.Scan(&t.Name, &summary)
			t.Summary, t.Contacts = optString(summary), []*model.Contact{}
			return &t, err
		})
		return err
	})
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
	var out []*model.Command
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		q, err := tx.Query(ctx, `SELECT name, summary, engine, executor FROM commands ORDER BY name`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(q, func(row pgx.CollectableRow) (*model.Command, error) {
			var c model.Command
			var summary, executor string
			err := row.Scan(&c.Name, &summary, &c.Engine, &executor)
			c.Summary, c.Executor = optString(summary), optString(executor)
			return &c, err
		})
		return err
	})
	return nonNilSlice(out), err
}

func (r *Resolver) timePeriods(ctx context.Context) ([]*model.TimePeriod, error) {
	var out []*model.TimePeriod
	err := r.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		q, err := tx.Query(ctx, `SELECT name, summary, ranges, excludes FROM time_periods ORDER BY name`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(q, func(row pgx.CollectableRow) (*model.TimePeriod, error) {
			var t model.TimePeriod
			var summary string
			err := row.Scan(&t.Name, &summary, &t.Ranges, &t.Excludes)
			t.Summary = optString(summary)
			return &t, err
		})
		return err
	})
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
