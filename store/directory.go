package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// This file holds the GraphQL lists of configured names (graph/queries.go):
// groups and locations with their checks' status counts, contacts, teams,
// commands and time periods, each in name order.

// TreeNode is a group or location with its parents (a location has at
// most one).
type TreeNode struct {
	Name, Summary string
	Parents       []string
}

// GroupTree reads tx's site's groups and, per group, how many of its
// checks have each status.
func GroupTree(ctx context.Context, tx pgx.Tx) ([]TreeNode, map[string][]*StatusCount, error) {
	return treeRows(ctx, tx, `SELECT name, summary, parents FROM groups ORDER BY name`,
		`SELECT g, s.status, count(*) FROM checks c JOIN check_state s ON s.check_id = c.id, unnest(c.groups) g GROUP BY g, s.status`)
}

// LocationTree reads tx's site's locations and, per location, how many of
// the checks there (their own location, else their host's) have each
// status.
func LocationTree(ctx context.Context, tx pgx.Tx) ([]TreeNode, map[string][]*StatusCount, error) {
	return treeRows(ctx, tx, `SELECT name, summary, CASE WHEN parent IS NULL THEN '{}'::text[] ELSE ARRAY[parent] END FROM locations ORDER BY name`,
		`SELECT COALESCE(NULLIF(c.location, ''), h.location), s.status, count(*) FROM checks c JOIN check_state s ON s.check_id = c.id
			LEFT JOIN checks h ON h.id = c.parent_id WHERE COALESCE(NULLIF(c.location, ''), h.location) <> '' GROUP BY 1, 2`)
}

func treeRows(ctx context.Context, tx pgx.Tx, query string, countBy string) ([]TreeNode, map[string][]*StatusCount, error) {
	counts := map[string][]*StatusCount{}
	q, err := tx.Query(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	rows, err := pgx.CollectRows(q, func(row pgx.CollectableRow) (TreeNode, error) {
		var n TreeNode
		err := row.Scan(&n.Name, &n.Summary, &n.Parents)
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	cq, err := tx.Query(ctx, countBy)
	if err != nil {
		return nil, nil, err
	}
	defer cq.Close()
	for cq.Next() {
		var name, st string
		var n int
		if err := cq.Scan(&name, &st, &n); err != nil {
			return nil, nil, err
		}
		s, _ := checks.ParseStatus(st)
		counts[name] = append(counts[name], &StatusCount{Status: s, Count: n})
	}
	return rows, counts, cq.Err()
}

// ContactRow is a configured contact.
type ContactRow struct {
	Name, Summary, Email string
	Teams                []string
}

// Contacts reads tx's site's contacts.
func Contacts(ctx context.Context, tx pgx.Tx) ([]ContactRow, error) {
	q, err := tx.Query(ctx, `SELECT name, summary, email, teams FROM contacts ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(q, func(row pgx.CollectableRow) (ContactRow, error) {
		var c ContactRow
		err := row.Scan(&c.Name, &c.Summary, &c.Email, &c.Teams)
		return c, err
	})
}

// NamedRow is a configured name with its summary.
type NamedRow struct {
	Name, Summary string
}

// Teams reads tx's site's teams.
func Teams(ctx context.Context, tx pgx.Tx) ([]NamedRow, error) {
	q, err := tx.Query(ctx, `SELECT name, summary FROM teams ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(q, func(row pgx.CollectableRow) (NamedRow, error) {
		var t NamedRow
		err := row.Scan(&t.Name, &t.Summary)
		return t, err
	})
}

// CommandRow is a configured command.
type CommandRow struct {
	Name, Summary, Engine, Executor string
}

// Commands reads tx's site's commands.
func Commands(ctx context.Context, tx pgx.Tx) ([]CommandRow, error) {
	q, err := tx.Query(ctx, `SELECT name, summary, engine, executor FROM commands ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(q, func(row pgx.CollectableRow) (CommandRow, error) {
		var c CommandRow
		err := row.Scan(&c.Name, &c.Summary, &c.Engine, &c.Executor)
		return c, err
	})
}

// TimePeriodRow is a configured time period as written: its ranges and
// the periods it excludes.
type TimePeriodRow struct {
	Name, Summary    string
	Ranges, Excludes []string
}

// TimePeriodRows reads tx's site's time periods as written.
func TimePeriodRows(ctx context.Context, tx pgx.Tx) ([]TimePeriodRow, error) {
	q, err := tx.Query(ctx, `SELECT name, summary, ranges, excludes FROM time_periods ORDER BY name`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(q, func(row pgx.CollectableRow) (TimePeriodRow, error) {
		var t TimePeriodRow
		err := row.Scan(&t.Name, &t.Summary, &t.Ranges, &t.Excludes)
		return t, err
	})
}
