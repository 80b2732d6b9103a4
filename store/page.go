package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// Lists are paged with keysets: a page is the first rows after a cursor in
// a fixed total order (each list's sort key, then the row's id), read off
// an index in that order. A cursor is the sort key of the last row of the
// previous page, as base64url JSON (opaque to clients). The lists that stay
// GraphQL lists (hosts, alerts, comments, downtimes, the notification log,
// config revisions) give each row its cursor (a cursor field); checks and
// history are connections with pageInfo.endCursor.

// PageSize is a list's page size when the client names none, and the
// largest it may ask for.
type PageSize struct{ Default, Max int }

// The page sizes of the paged lists (the GraphQL schema repeats the
// defaults; complexity.go and the REST facade use these).
var (
	ChecksPage        = PageSize{Default: 100, Max: 1000}
	HistoryPage       = PageSize{Default: 50, Max: 500}
	HostsPage         = PageSize{Default: 1000, Max: 1000}
	AlertsPage        = PageSize{Default: 100, Max: 1000}
	CommentsPage      = PageSize{Default: 100, Max: 1000}
	DowntimesPage     = PageSize{Default: 100, Max: 1000}
	NotificationsPage = PageSize{Default: 100, Max: 1000}
	RevisionsPage     = PageSize{Default: 20, Max: 200}
)

// Check refuses a page size outside 1..Max.
func (p PageSize) Check(first int) error {
	if first < 1 || first > p.Max {
		return errs.E(errs.Invalid, "first must be between 1 and %d", p.Max)
	}
	return nil
}

// encodeKey renders a keyset position as a cursor.
func encodeKey(k any) string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeKey reads a cursor made by encodeKey into k (a pointer to the
// list's key type); valid tells whether the key names a position at all.
// A cursor of another list's shape is refused. hint says where cursors
// come from.
func decodeKey(s string, k any, valid func() bool, hint string) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(k)
	}
	if err != nil || !valid() {
		return errs.E(errs.Invalid, "after: invalid cursor %q: pass the %s", s, hint)
	}
	return nil
}

// lastRowHint is where the cursors of the plain lists come from.
const lastRowHint = "cursor of the last item of the previous page"

// timeKey is the position in a newest-first list ordered by a time, then
// by id (both descending).
type timeKey[ID comparable] struct {
	At time.Time `json:"t"`
	ID ID        `json:"i"`
}

// decodeTimeKey reads a timeKey cursor.
func decodeTimeKey[ID comparable](s string) (*timeKey[ID], error) {
	var k timeKey[ID]
	var zero ID
	if err := decodeKey(s, &k, func() bool { return !k.At.IsZero() && k.ID != zero }, lastRowHint); err != nil {
		return nil, err
	}
	return &k, nil
}

// conds collects a list query's conditions and their arguments.
type conds struct {
	list []string
	args []any
}

// add appends a condition; each ? in it stands for the next of args.
func (c *conds) add(cond string, args ...any) {
	for _, a := range args {
		c.args = append(c.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(c.args)), 1)
	}
	c.list = append(c.list, cond)
}

// after adds the keyset condition: rows after the cursor's (at, id) in
// newest-first order of columns at and id.
func (c *conds) after(at, id string, k *timeKey[uuid.UUID]) {
	c.add("("+at+", "+id+") < (?::timestamptz, ?::uuid)", k.At, k.ID)
}

// arg appends an argument that is not part of a condition and returns its
// placeholder.
func (c *conds) arg(a any) string {
	c.args = append(c.args, a)
	return "$" + strconv.Itoa(len(c.args))
}

// where renders the conditions (TRUE for none).
func (c *conds) where() string {
	if len(c.list) == 0 {
		return "TRUE"
	}
	return strings.Join(c.list, " AND ")
}

// limit renders the LIMIT of a page of first rows: first+1, the extra row
// telling whether there is a next page (see trimPage).
func (c *conds) limit(first int) string {
	c.args = append(c.args, first+1)
	return "LIMIT $" + strconv.Itoa(len(c.args))
}

// trimPage cuts the extra row off a page read with conds.limit and reports
// whether there was one.
func trimPage[T any](rows []T, first int) ([]T, bool) {
	if len(rows) > first {
		return rows[:first], true
	}
	return rows, false
}

// list is one paged list's statement, shared by the read of one page
// (readPage) and the batched read of many parents' first pages
// (readPages), so both select, filter and order alike.
type list[T any] struct {
	what string // for errors: "alerts"
	// cols is the select list and from the table (with its alias) it
	// reads.
	cols, from string
	// order names the sort key's columns (most significant first, the
	// row's id last), each as in cols and sorted descending.
	order []string
	// scan reads a row of cols after the destinations lead.
	scan func(row pgx.Row, lead ...any) (T, error)
}

// orderBy renders the list's ORDER BY terms; with prefix (an alias plus
// a dot) the columns are named as the output of a subquery read as that
// alias.
func (l *list[T]) orderBy(prefix string) string {
	terms := make([]string, len(l.order))
	for i, col := range l.order {
		if prefix != "" {
			col = prefix + col[strings.LastIndexByte(col, '.')+1:]
		}
		terms[i] = col + " DESC"
	}
	return strings.Join(terms, ", ")
}

// query renders the statement reading one page of first rows matching c.
func (l *list[T]) query(c *conds, first int) string {
	return "SELECT " + l.cols + " FROM " + l.from + " WHERE " + c.where() + " ORDER BY " + l.orderBy("") + " " + c.limit(first)
}

// readPage reads the page of first rows matching c and tells whether
// more follow.
func readPage[T any](ctx context.Context, tx pgx.Tx, l *list[T], c *conds, first int) ([]T, bool, error) {
	rows, err := tx.Query(ctx, l.query(c, first), c.args...)
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", l.what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return l.scan(r) })
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", l.what, err)
	}
	page, more := trimPage(out, first)
	return page, more, nil
}

// Paged is one parent's page in a batched read: its rows and whether more
// follow them.
type Paged[T any] struct {
	Rows []T
	More bool
}

// readPages reads for each of parents (ids in column parent) the page
// readPage would give with c plus "parent = id": one statement for all,
// each parent's rows in the list's order, each page cut at first with its
// own "more". Parents without rows (none, or not of the transaction's
// site) are missing from the answer.
func readPages[T any](ctx context.Context, tx pgx.Tx, l *list[T], c *conds, parent string, parents []uuid.UUID, first int) (map[uuid.UUID]Paged[T], error) {
	parents = distinctIDs(parents)
	ids := c.arg(parents)
	c.add(parent + " = p.id")
	rows, err := tx.Query(ctx, "SELECT p.id, x.* FROM unnest("+ids+"::uuid[]) AS p(id) CROSS JOIN LATERAL ("+l.query(c, first)+") x"+
		" ORDER BY p.id, "+l.orderBy("x."), c.args...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l.what, err)
	}
	defer rows.Close()
	out := make(map[uuid.UUID]Paged[T], len(parents))
	for rows.Next() {
		var p uuid.UUID
		v, err := l.scan(rows, &p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", l.what, err)
		}
		pg := out[p]
		pg.Rows = append(pg.Rows, v)
		out[p] = pg
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", l.what, err)
	}
	for p, pg := range out {
		pg.Rows, pg.More = trimPage(pg.Rows, first)
		out[p] = pg
	}
	return out, nil
}

// distinctIDs returns ids without repeats, in their first order.
func distinctIDs(ids []uuid.UUID) []uuid.UUID {
	seen := make(map[uuid.UUID]bool, len(ids))
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
