package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

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
