package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"
)

const checkSelect = `SELECT c.id, c.kind, c.name, c.summary, c.description, c.enabled, c.groups, c.location, c.address,
	c.engine, c.command, c.condition, COALESCE(c.parent_id::text, ''), COALESCE(p.name, ''),
	s.status, s.ok, s.hard, s.attempt, s.output, s.long_output, s.perfdata, s.last_check, s.last_state_change,
	s.flapping, s.flap_percent, s.acknowledged, s.in_downtime, s.suppressed, s.encompassed, s.worker, s.runtime_ms,
	c.depends_on::text[], c.security_domains
	FROM checks c JOIN check_state s ON s.check_id = c.id LEFT JOIN checks p ON p.id = c.parent_id`

func scanCheck(row pgx.Row) (*CheckRow, error) {
	var r CheckRow
	st := &CheckState{}
	var kind, status string
	var perf []byte
	var flap float32
	var runtime float32
	if err := row.Scan(&r.ID, &kind, &r.Name, &r.Summary, &r.Description, &r.Enabled, &r.Groups, &r.Location, &r.Address,
		&r.Engine, &r.Command, &r.Condition, &r.ParentID, &r.ParentName,
		&status, &st.OK, &st.Hard, &st.Attempt, &st.Output, &st.LongOutput, &perf, &st.LastCheck, &st.LastStateChange,
		&st.Flapping, &flap, &st.Acknowledged, &st.InDowntime, &st.Suppressed, &st.Encompassed, &st.Worker, &runtime,
		&r.DependsOn, &r.SecurityDomains); err != nil {
		return nil, err
	}
	r.Kind = CheckKind(strings.ToUpper(kind))
	st.Status, _ = checks.ParseStatus(status)
	st.FlapPercent, st.RuntimeMs = float64(flap), float64(runtime)
	_ = json.Unmarshal(perf, &st.Perfdata)
	if st.Perfdata == nil {
		st.Perfdata = []checks.Perfdata{}
	}
	r.State = st
	return &r, nil
}

func collectChecks(rows pgx.Rows) ([]*CheckRow, error) {
	defer rows.Close()
	var out []*CheckRow
	for rows.Next() {
		r, err := scanCheck(rows)
		if err != nil {
			return nil, fmt.Errorf("reading checks: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ParseID parses an API id; a malformed id is NotFound (it names nothing).
func ParseID(id string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, errs.E(errs.NotFound, "no check with id %q", id)
	}
	return u, nil
}

// ChecksByID loads checks by id, in no particular order.
func ChecksByID(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) ([]*CheckRow, error) {
	rows, err := tx.Query(ctx, checkSelect+` WHERE c.id = ANY ($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading checks: %w", err)
	}
	return collectChecks(rows)
}

// QueueChecksAndParents queues on b the read of the checks ids together
// with their hosts and clusters (in no particular order, each once); they
// are appended to *into when the batch runs.
func QueueChecksAndParents(b *pgx.Batch, ids []uuid.UUID, into *[]*CheckRow) {
	// ARRAY(...) is computed once, so the lookup stays an index scan.
	b.Queue(checkSelect+` WHERE c.id = ANY ($1::uuid[] || ARRAY(SELECT parent_id FROM checks WHERE id = ANY ($1) AND parent_id IS NOT NULL))`, ids).
		Query(func(rows pgx.Rows) error {
			out, err := collectChecks(rows)
			*into = append(*into, out...)
			return err
		})
}

// CheckByID loads one check or returns NotFound.
func CheckByID(ctx context.Context, tx pgx.Tx, id string) (*CheckRow, error) {
	u, err := ParseID(id)
	if err != nil {
		return nil, err
	}
	rows, err := ChecksByID(ctx, tx, []uuid.UUID{u})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errs.E(errs.NotFound, "no check with id %q", id)
	}
	return rows[0], nil
}

// CheckFilter selects checks.
type CheckFilter struct {
	IDs          []string `json:"ids"`
	Kind         *CheckKind
	Host         *string
	Group        *string
	Location     *string
	Status       []checks.Status
	Problems     *bool
	Hard         *bool
	Acknowledged *bool
	InDowntime   *bool
	Search       *string
	// Changed keeps, for a checkUpdated subscription, only the updates
	// that change what a status view shows (SummaryChanged). It is about
	// an update, not a check: Match ignores it and lists refuse it
	// (conditions).
	Changed *bool
}

// searchHits is what check_search_ids found for a filter's search: the ids
// of every matching check when known (at most searchIDsCap), else nothing
// but the fact that matches are plentiful.
type searchHits struct {
	ids   []uuid.UUID
	known bool
}

// searchIDsCap is the most matches a search looks up by id. A search with
// more is common enough that a page comes sooner off the list order's
// index, testing each check in turn, than from sorting all its matches.
const searchIDsCap = 2000

// findSearch looks up the checks matching search (see check_search_ids in
// migrations/000012): the trigram indexes cannot serve ILIKE for
// bergamot_app under row-level security, the function can.
func findSearch(ctx context.Context, tx pgx.Tx, search string) (searchHits, error) {
	rows, err := tx.Query(ctx, `SELECT check_search_ids($1, $2)`, likePattern(search), searchIDsCap+1)
	if err != nil {
		return searchHits{}, fmt.Errorf("searching checks: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return searchHits{}, fmt.Errorf("searching checks: %w", err)
	}
	if len(ids) > searchIDsCap {
		return searchHits{}, nil
	}
	if ids == nil {
		ids = []uuid.UUID{}
	}
	return searchHits{ids: ids, known: true}, nil
}

// likePattern is the ILIKE pattern matching search anywhere.
func likePattern(search string) string { return "%" + escapeLike(search) + "%" }

// conditions renders f as SQL conditions with arguments from $1 (see
// where), looking its search up through check_search_ids first.
func (f *CheckFilter) conditions(ctx context.Context, tx pgx.Tx) (string, []any, error) {
	if f != nil && f.Changed != nil {
		return "", nil, errs.E(errs.Invalid, "filter.changed: only checkUpdated subscriptions take it (it selects updates, not checks); leave it out of checks queries")
	}
	var hits searchHits
	if f != nil && f.Search != nil && *f.Search != "" {
		var err error
		if hits, err = findSearch(ctx, tx, *f.Search); err != nil {
			return "", nil, err
		}
	}
	where, args := f.where(nil, hits)
	return where, args, nil
}

// Where renders the filter as SQL conditions with arguments starting at $n;
// hits is what findSearch found for f.Search.
func (f *CheckFilter) where(args []any, hits searchHits) (string, []any) {
	var conds []string
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f == nil {
		return "TRUE", args
	}
	if len(f.IDs) > 0 {
		var ids []uuid.UUID
		for _, s := range f.IDs {
			if u, err := uuid.Parse(s); err == nil {
				ids = append(ids, u)
			}
		}
		add("c.id = ANY (?)", ids)
	}
	if f.Kind != nil {
		add("c.kind = ?", strings.ToLower(string(*f.Kind)))
	}
	if f.Host != nil {
		add("(c.kind = 'host' AND c.name = ? OR c.parent_id IN (SELECT id FROM checks WHERE kind = 'host' AND name = ?))", *f.Host)
		conds[len(conds)-1] = strings.ReplaceAll(conds[len(conds)-1], "name = ?)", "name = $"+strconv.Itoa(len(args))+")")
	}
	if f.Group != nil {
		add("? = ANY (c.groups)", *f.Group)
	}
	if f.Location != nil {
		add("(c.location = ? OR c.parent_id IN (SELECT id FROM checks WHERE kind = 'host' AND location = $"+strconv.Itoa(len(args)+1)+"))", *f.Location)
	}
	if len(f.Status) > 0 {
		names := make([]string, len(f.Status))
		for i, s := range f.Status {
			names[i] = s.String()
		}
		add("s.status = ANY (?)", names)
	}
	if f.Problems != nil {
		add("s.ok = NOT ?", *f.Problems)
	}
	if f.Hard != nil {
		add("s.hard = ?", *f.Hard)
	}
	if f.Acknowledged != nil {
		add("s.acknowledged = ?", *f.Acknowledged)
	}
	if f.InDowntime != nil {
		add("s.in_downtime = ?", *f.InDowntime)
	}
	if f.Search != nil && *f.Search != "" {
		if hits.known {
			// Few matches: fetched by id, then sorted.
			add("c.id = ANY (?)", hits.ids)
		}
		match := "(c.name ILIKE ? OR c.summary ILIKE $" + strconv.Itoa(len(args)+1) + ")"
		if !hits.known {
			// Many matches: the planner, which guesses an ILIKE's
			// matches far too low (320 for 10,000), would read and test
			// every check of the site and sort. Wrapped, the condition
			// gets a neutral estimate (one row in two), so the page is
			// read in list order off check_state_order_idx and the scan
			// stops at the page's end.
			match = "COALESCE(" + match + ", false)"
		}
		add(match, likePattern(*f.Search))
	}
	if len(conds) == 0 {
		return "TRUE", args
	}
	return strings.Join(conds, " AND "), args
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// Page is one page of checks.
type Page struct {
	Nodes     []*CheckRow
	Total     int
	HasNext   bool
	EndCursor string
}

// checkOrder is the list order: problems first, by severity, longest-lasting
// first; check_state_order_idx matches it so pages come off the index.
const checkOrder = `s.ok, s.severity, COALESCE(s.last_state_change, '9999-12-31 00:00:00+00'::timestamptz), s.check_id`

// cursor is a keyset position in checkOrder.
type cursor struct {
	OK       bool      `json:"o"`
	Severity int       `json:"s"`
	Changed  time.Time `json:"t"`
	ID       uuid.UUID `json:"i"`
}

func severityOf(st checks.Status) int {
	switch st {
	case checks.StatusCritical, checks.StatusError, checks.StatusDisconnected:
		return 0
	case checks.StatusTimeout:
		return 1
	case checks.StatusUnknown:
		return 2
	case checks.StatusWarning:
		return 3
	}
	return 4
}

func encodeCursor(r *CheckRow) string {
	c := cursor{OK: r.State.OK, Severity: severityOf(r.State.Status), Changed: infinity, ID: uuid.MustParse(r.ID)}
	if r.State.LastStateChange != nil {
		c.Changed = *r.State.LastStateChange
	}
	return encodeKey(c)
}

// infinity stands for a NULL last_state_change ('infinity' in SQL).
var infinity = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

func decodeCursor(s string) (*cursor, error) {
	var c cursor
	if err := decodeKey(s, &c, func() bool { return c.ID != uuid.Nil }, "endCursor of the previous page"); err != nil {
		return nil, err
	}
	return &c, nil
}

// ListChecks returns checks matching f, problems first (by severity, then
// duration); after is the endCursor of the previous page. The total is
// counted only when wantTotal is set.
func ListChecks(ctx context.Context, tx pgx.Tx, f *CheckFilter, first int, after string, wantTotal ...bool) (*Page, error) {
	if err := ChecksPage.Check(first); err != nil {
		return nil, err
	}
	where, args, err := f.conditions(ctx, tx)
	if err != nil {
		return nil, err
	}
	p := &Page{Total: -1}
	if len(wantTotal) == 0 || wantTotal[0] {
		from := `check_state s`
		if strings.Contains(where, "c.") {
			from = `checks c JOIN check_state s ON s.check_id = c.id`
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+from+` WHERE `+where, args...).Scan(&p.Total); err != nil {
			return nil, fmt.Errorf("counting checks: %w", err)
		}
	}
	if after != "" {
		c, err := decodeCursor(after)
		if err != nil {
			return nil, err
		}
		n := len(args)
		args = append(args, c.OK, c.Severity, c.Changed, c.ID)
		where += fmt.Sprintf(` AND (%s) > ($%d, $%d, $%d::timestamptz, $%d)`, checkOrder, n+1, n+2, n+3, n+4)
	}
	args = append(args, first+1)
	rows, err := tx.Query(ctx, checkSelect+` WHERE `+where+` ORDER BY `+checkOrder+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("listing checks: %w", err)
	}
	nodes, err := collectChecks(rows)
	if err != nil {
		return nil, err
	}
	if len(nodes) > first {
		nodes, p.HasNext = nodes[:first], true
	}
	p.Nodes = nodes
	if len(nodes) > 0 {
		p.EndCursor = encodeCursor(nodes[len(nodes)-1])
	} else {
		p.EndCursor = after
	}
	return p, nil
}

// hostKey is a position in the hosts' order: by name, then id.
type hostKey struct {
	Name string    `json:"n"`
	ID   uuid.UUID `json:"i"`
}

// Cursor is the host's position in Hosts' order, for after.
func (h *Host) Cursor() string {
	id, _ := uuid.Parse(h.ID)
	return encodeKey(hostKey{Name: h.Name, ID: id})
}

// Hosts lists a page of first hosts by name (then id) after the cursor
// after (a Host.Cursor; "" for the first page), optionally matching search
// (name or summary, case insensitive) with the same conditions as
// ListChecks' kind and search; more tells whether hosts follow.
func Hosts(ctx context.Context, tx pgx.Tx, search string, first int, after string) (page []*CheckRow, more bool, err error) {
	if err := HostsPage.Check(first); err != nil {
		return nil, false, err
	}
	var k hostKey
	if after != "" {
		if err := decodeKey(after, &k, func() bool { return k.ID != uuid.Nil }, lastRowHint); err != nil {
			return nil, false, err
		}
	}
	kind := KindHost
	where, args, err := (&CheckFilter{Kind: &kind, Search: &search}).conditions(ctx, tx)
	if err != nil {
		return nil, false, err
	}
	if after != "" {
		args = append(args, k.Name, k.ID)
		where += fmt.Sprintf(` AND (c.name, c.id) > ($%d, $%d)`, len(args)-1, len(args))
	}
	args = append(args, first+1)
	rows, err := tx.Query(ctx, checkSelect+` WHERE `+where+` ORDER BY c.name, c.id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, fmt.Errorf("listing hosts: %w", err)
	}
	out, err := collectChecks(rows)
	if err != nil {
		return nil, false, err
	}
	page, more = trimPage(out, first)
	return page, more, nil
}

// HostByName finds a host.
func HostByName(ctx context.Context, tx pgx.Tx, name string) (*CheckRow, error) {
	rows, err := tx.Query(ctx, checkSelect+` WHERE c.kind = 'host' AND c.name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("reading host: %w", err)
	}
	out, err := collectChecks(rows)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errs.E(errs.NotFound, "no host named %q", name)
	}
	return out[0], nil
}

// Children lists a host's services or traps, or a cluster's resources.
func Children(ctx context.Context, tx pgx.Tx, parentIDs []uuid.UUID, kind string) ([]*CheckRow, error) {
	rows, err := tx.Query(ctx, checkSelect+` WHERE c.parent_id = ANY ($1) AND c.kind = $2 ORDER BY c.name`, parentIDs, kind)
	if err != nil {
		return nil, fmt.Errorf("listing %ss: %w", kind, err)
	}
	return collectChecks(rows)
}

// historyList is the state history's list: newest first (by id, the
// order changes were recorded in).
var historyList = &list[*StateChange]{what: "history", cols: "id, at, status, previous, hard, attempt, output", from: "state_history",
	order: []string{"id"}, scan: func(row pgx.Row, lead ...any) (*StateChange, error) {
		var sc StateChange
		var st, prev string
		if err := row.Scan(append(lead, &sc.seq, &sc.At, &st, &prev, &sc.Hard, &sc.Attempt, &sc.Output)...); err != nil {
			return nil, err
		}
		sc.Status, _ = checks.ParseStatus(st)
		sc.Previous, _ = checks.ParseStatus(prev)
		return &sc, nil
	}}

// HistoryEndCursor is the endCursor of a page of history: after it, the
// next page begins after the page's last change ("0", after which nothing
// follows, for an empty page).
func HistoryEndCursor(page []*StateChange) string {
	if len(page) == 0 {
		return "0"
	}
	return strconv.FormatInt(page[len(page)-1].seq, 10)
}

// History returns a page of first state changes of a check, newest first,
// after the cursor after (the previous page's HistoryEndCursor; "" for the
// first page), whether more follow, and the page's end cursor.
func History(ctx context.Context, tx pgx.Tx, checkID string, first int, after string) ([]*StateChange, bool, string, error) {
	id, err := ParseID(checkID)
	if err != nil {
		return nil, false, "", err
	}
	if err := HistoryPage.Check(first); err != nil {
		return nil, false, "", err
	}
	var c conds
	c.add("check_id = ?", id)
	if after != "" {
		before, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return nil, false, "", errs.E(errs.Invalid, "after: invalid cursor %q: pass the endCursor of the previous page", after)
		}
		c.add("id < ?", before)
	}
	page, more, err := readPage(ctx, tx, historyList, &c, first)
	if err != nil {
		return nil, false, "", err
	}
	return page, more, HistoryEndCursor(page), nil
}

// HistoryPages reads, in one statement, each check's first page of state
// changes: for each id of checkIDs the page and more of History(ctx, tx,
// id, first, ""), whose end cursor is HistoryEndCursor of the page.
// Checks without history are missing from the answer.
func HistoryPages(ctx context.Context, tx pgx.Tx, checkIDs []uuid.UUID, first int) (map[uuid.UUID]Paged[*StateChange], error) {
	if err := HistoryPage.Check(first); err != nil {
		return nil, err
	}
	return readPages(ctx, tx, historyList, &conds{}, "check_id", checkIDs, first)
}

// Metrics returns perfdata series for a check between from and to,
// downsampled to at most points buckets per label, from the resolution
// MetricsAt chooses.
func Metrics(ctx context.Context, tx pgx.Tx, checkID, label string, from, to time.Time, points int) ([]*MetricSeries, error) {
	out, _, err := MetricsAt(ctx, tx, checkID, label, from, to, points)
	return out, err
}

// chartResolution is the coarsest stored resolution that still gives a
// chart of span in points buckets one value per bucket, and no finer than
// what the site still keeps at from.
func chartResolution(bucket time.Duration, from, now time.Time, keep Retention) Resolution {
	age := now.Sub(from)
	switch {
	case bucket >= time.Hour || age > time.Duration(keep.Rollup5m)*24*time.Hour:
		return Resolution1h
	case bucket >= 5*time.Minute || age > time.Duration(keep.Raw)*24*time.Hour:
		return Resolution5m
	}
	return ResolutionRaw
}

// metricsSQL reads a chart from one rollup table ($6 is how far it is
// rolled up) and raw points after that, averaged by count.
const metricsSQL = `WITH pts AS (
		SELECT label, uom, at, min, max, sum, count FROM %s
			WHERE check_id = $1 AND ($2 = '' OR label = $2) AND at >= $3 AND at < LEAST($4::timestamptz, $6::timestamptz)
		UNION ALL
		SELECT label, uom, at, value, value, value, 1 FROM metrics
			WHERE check_id = $1 AND ($2 = '' OR label = $2) AND at >= GREATEST($3::timestamptz, $6::timestamptz) AND at < $4::timestamptz)
	SELECT label, max(uom), date_bin($5::interval, at, $3::timestamptz) AS b, sum(sum) / sum(count), min(min), max(max)
	FROM pts GROUP BY label, b ORDER BY label, b`

// chart is the statement MetricsAt runs and the resolution it reads.
type chart struct {
	sql  string
	args []any
	res  Resolution
}

// chartQuery chooses a chart's resolution and builds its statement (the
// scale benchmark EXPLAINs it: store/retention_scale_bench_test.go).
func chartQuery(ctx context.Context, tx pgx.Tx, checkID, label string, from, to time.Time, points int) (chart, error) {
	id, err := ParseID(checkID)
	if err != nil {
		return chart{}, err
	}
	if points <= 0 || points > 2000 {
		return chart{}, errs.E(errs.Invalid, "points must be between 1 and 2000")
	}
	if !to.After(from) {
		return chart{}, errs.E(errs.Invalid, "the time range is empty: from must be before to")
	}
	bucket := to.Sub(from) / time.Duration(points)
	if bucket < time.Second {
		bucket = time.Second
	}
	keep, err := SiteRetention(ctx, tx, Retention{Raw: maxRetentionDays, Rollup5m: maxRetentionDays, Rollup1h: maxRetentionDays,
		History: maxRetentionDays, Alerts: maxRetentionDays, Notifications: maxRetentionDays})
	if err != nil {
		return chart{}, err
	}
	res := chartResolution(bucket, from, time.Now(), keep)
	table, rolled := "metrics_5m", from
	if res != ResolutionRaw {
		if res == Resolution1h {
			table = "metrics_1h"
		}
		if bucket < res.Step() {
			bucket = res.Step()
		}
		if rolled, err = RolledUntil(ctx, tx, res); err != nil {
			return chart{}, err
		}
	}
	return chart{sql: fmt.Sprintf(metricsSQL, table), args: []any{id, label, from, to, bucket.String(), rolled}, res: res}, nil
}

// MetricsAt is Metrics that also says which resolution it read: raw
// points for short ranges, 5-minute or hourly rollups (plus the raw
// points not rolled up yet) when a bucket spans that much or the range
// reaches back past what the finer resolution keeps.
func MetricsAt(ctx context.Context, tx pgx.Tx, checkID, label string, from, to time.Time, points int) ([]*MetricSeries, Resolution, error) {
	q, err := chartQuery(ctx, tx, checkID, label, from, to, points)
	if err != nil {
		return nil, "", err
	}
	res := q.res
	rows, err := tx.Query(ctx, q.sql, q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("reading metrics: %w", err)
	}
	defer rows.Close()
	var out []*MetricSeries
	for rows.Next() {
		var l, uom string
		var p MetricPoint
		if err := rows.Scan(&l, &uom, &p.At, &p.Value, &p.Min, &p.Max); err != nil {
			return nil, "", fmt.Errorf("reading metrics: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Label != l {
			out = append(out, &MetricSeries{Label: l, UOM: uom})
		}
		out[len(out)-1].Points = append(out[len(out)-1].Points, p)
	}
	return out, res, rows.Err()
}

const alertColumns = `id, check_id, status, output, opened_at, updated_at, recovered_at, acknowledged_at, acknowledged_by, escalation_level`

const alertSelect = `SELECT ` + alertColumns + ` FROM alerts`

// scanAlert reads a row of alertColumns after the destinations lead.
func scanAlert(row pgx.Row, lead ...any) (*Alert, error) {
	var a Alert
	var st string
	if err := row.Scan(append(lead, &a.ID, &a.CheckID, &st, &a.Output, &a.OpenedAt, &a.UpdatedAt, &a.RecoveredAt, &a.AcknowledgedAt,
		&a.AcknowledgedBy, &a.EscalationLevel)...); err != nil {
		return nil, err
	}
	a.Status, _ = checks.ParseStatus(st)
	return &a, nil
}

func collectAlerts(rows pgx.Rows, err error) ([]*Alert, error) {
	if err != nil {
		return nil, fmt.Errorf("reading alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Alert, error) { return scanAlert(r) })
	if err != nil {
		return nil, fmt.Errorf("reading alerts: %w", err)
	}
	return out, nil
}

// Cursor is the alert's position in Alerts' order, for after.
func (a *Alert) Cursor() string {
	id, _ := uuid.Parse(a.ID)
	return encodeKey(timeKey[uuid.UUID]{At: a.OpenedAt, ID: id})
}

// alertList is the alerts' list: newest first (by opened_at, then id).
var alertList = &list[*Alert]{what: "alerts", cols: alertColumns, from: "alerts", order: []string{"opened_at", "id"}, scan: scanAlert}

// alertConds are the conditions of the alerts list: open only, recovered
// only, or all when open is nil.
func alertConds(open *bool) *conds {
	var c conds
	if open != nil && *open {
		c.add("recovered_at IS NULL")
	} else if open != nil {
		c.add("recovered_at IS NOT NULL")
	}
	return &c
}

// Alerts lists a page of first alerts (open only, recovered only, or all
// when open is nil; one check's when checkID is set), newest first (by
// opened_at, then id), after the cursor after (an Alert.Cursor; "" for the
// first page); more tells whether alerts follow.
func Alerts(ctx context.Context, tx pgx.Tx, open *bool, checkID string, first int, after string) (page []*Alert, more bool, err error) {
	if err := AlertsPage.Check(first); err != nil {
		return nil, false, err
	}
	c := alertConds(open)
	if checkID != "" {
		u, err := ParseID(checkID)
		if err != nil {
			return nil, false, err
		}
		c.add("check_id = ?", u)
	}
	if after != "" {
		k, err := decodeTimeKey[uuid.UUID](after)
		if err != nil {
			return nil, false, err
		}
		c.after("opened_at", "id", k)
	}
	return readPage(ctx, tx, alertList, c, first)
}

// AlertPages reads, in one statement, each check's first page of alerts:
// for each id of checkIDs what Alerts(ctx, tx, open, id, first, "")
// gives. Checks without alerts are missing from the answer.
func AlertPages(ctx context.Context, tx pgx.Tx, open *bool, checkIDs []uuid.UUID, first int) (map[uuid.UUID]Paged[*Alert], error) {
	if err := AlertsPage.Check(first); err != nil {
		return nil, err
	}
	return readPages(ctx, tx, alertList, alertConds(open), "check_id", checkIDs, first)
}

// AlertByID loads one alert.
func AlertByID(ctx context.Context, tx pgx.Tx, id string) (*Alert, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.E(errs.NotFound, "no alert with id %q", id)
	}
	out, err := collectAlerts(tx.Query(ctx, alertSelect+` WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errs.E(errs.NotFound, "no alert with id %q", id)
	}
	return out[0], nil
}

// Cursor is the comment's position in Comments' order, for after.
func (c *Comment) Cursor() string {
	id, _ := uuid.Parse(c.ID)
	return encodeKey(timeKey[uuid.UUID]{At: c.CreatedAt, ID: id})
}

// commentList is the comments' list: newest first (by created_at, then
// id).
var commentList = &list[*Comment]{what: "comments", cols: "id, author, body, created_at", from: "comments",
	order: []string{"created_at", "id"}, scan: func(row pgx.Row, lead ...any) (*Comment, error) {
		var c Comment
		err := row.Scan(append(lead, &c.ID, &c.Author, &c.Body, &c.CreatedAt)...)
		return &c, err
	}}

// Comments lists a page of first comments on a check (with those on its
// alerts) or on one alert, newest first (by created_at, then id), after the
// cursor after (a Comment.Cursor; "" for the first page); more tells
// whether comments follow.
func Comments(ctx context.Context, tx pgx.Tx, checkID, alertID string, first int, after string) (page []*Comment, more bool, err error) {
	if err := CommentsPage.Check(first); err != nil {
		return nil, false, err
	}
	var c conds
	if checkID != "" {
		u, err := ParseID(checkID)
		if err != nil {
			return nil, false, err
		}
		c.add("check_id = ?", u)
	}
	if alertID != "" {
		u, err := uuid.Parse(alertID)
		if err != nil {
			return nil, false, errs.E(errs.NotFound, "no alert with id %q", alertID)
		}
		c.add("alert_id = ?", u)
	}
	if after != "" {
		k, err := decodeTimeKey[uuid.UUID](after)
		if err != nil {
			return nil, false, err
		}
		c.after("created_at", "id", k)
	}
	return readPage(ctx, tx, commentList, &c, first)
}

// CheckCommentPages reads, in one statement, each check's first page of
// comments (with those on its alerts): for each id of checkIDs what
// Comments(ctx, tx, id, "", first, "") gives. Checks without comments are
// missing from the answer.
func CheckCommentPages(ctx context.Context, tx pgx.Tx, checkIDs []uuid.UUID, first int) (map[uuid.UUID]Paged[*Comment], error) {
	return commentPages(ctx, tx, "check_id", checkIDs, first)
}

// AlertCommentPages is CheckCommentPages for alerts: for each id of
// alertIDs what Comments(ctx, tx, "", id, first, "") gives.
func AlertCommentPages(ctx context.Context, tx pgx.Tx, alertIDs []uuid.UUID, first int) (map[uuid.UUID]Paged[*Comment], error) {
	return commentPages(ctx, tx, "alert_id", alertIDs, first)
}

func commentPages(ctx context.Context, tx pgx.Tx, parent string, ids []uuid.UUID, first int) (map[uuid.UUID]Paged[*Comment], error) {
	if err := CommentsPage.Check(first); err != nil {
		return nil, err
	}
	return readPages(ctx, tx, commentList, &conds{}, parent, ids, first)
}

// Downtimes lists a page of first of a check's downtimes (all of the
// site's for an empty checkID; only those not cancelled that are in effect
// or may still begin when active), newest first (by start, then id), after
// the cursor after (a Downtime.Cursor; "" for the first page); more tells
// whether downtimes follow.
func Downtimes(ctx context.Context, tx pgx.Tx, checkID string, active bool, first int, after string) (page []*Downtime, more bool, err error) {
	return listDowntimes(ctx, tx, checkID, active, first, after)
}

// StatusCounts counts the site's checks by status.
func StatusCounts(ctx context.Context, tx pgx.Tx, group, location string) ([]*StatusCount, error) {
	rows, err := tx.Query(ctx, `SELECT s.status, count(*) FROM check_state s JOIN checks c ON c.id = s.check_id
		WHERE ($1 = '' OR $1 = ANY (c.groups)) AND ($2 = '' OR c.location = $2) GROUP BY s.status`, group, location)
	if err != nil {
		return nil, fmt.Errorf("counting: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*StatusCount, error) {
		var sc StatusCount
		var st string
		err := r.Scan(&st, &sc.Count)
		sc.Status, _ = checks.ParseStatus(st)
		return &sc, err
	})
}

// revisionKey is a position in the revisions' order (newest first).
type revisionKey struct {
	ID int `json:"i"`
}

// Cursor is the revision's position in ConfigRevisions' order, for after.
func (c *ConfigRevision) Cursor() string { return encodeKey(revisionKey{ID: c.ID}) }

// ConfigRevisions lists a page of first revisions, newest first, after the
// cursor after (a ConfigRevision.Cursor; "" for the first page); more
// tells whether older revisions follow.
func ConfigRevisions(ctx context.Context, tx pgx.Tx, first int, after string) (page []*ConfigRevision, more bool, err error) {
	if err := RevisionsPage.Check(first); err != nil {
		return nil, false, err
	}
	var c conds
	if after != "" {
		var k revisionKey
		if err := decodeKey(after, &k, func() bool { return k.ID > 0 }, lastRowHint); err != nil {
			return nil, false, err
		}
		c.add("id < ?", k.ID)
	}
	rows, err := tx.Query(ctx, `SELECT id, author, summary, added, changed, removed, diff, created_at FROM config_revisions
		WHERE `+c.where()+` ORDER BY id DESC `+c.limit(first), c.args...)
	if err != nil {
		return nil, false, fmt.Errorf("reading revisions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*ConfigRevision, error) {
		var c ConfigRevision
		err := r.Scan(&c.ID, &c.Author, &c.Summary, &c.Added, &c.Changed, &c.Removed, &c.Diff, &c.CreatedAt)
		return &c, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("reading revisions: %w", err)
	}
	page, more = trimPage(out, first)
	return page, more, nil
}

// Workers lists the workers seen in the last day that serve the
// transaction's site: those of the default zone (shared by every site) and
// of the zones its checks run in. Other sites' private workers (their names
// are host names) are not shown.
func Workers(ctx context.Context, tx pgx.Tx) ([]*Worker, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, zone, engines, started_at, last_seen,
		stopped_at IS NULL AND last_seen > now() - interval '30 seconds' FROM workers
		WHERE last_seen > now() - interval '1 day'
		AND (zone = 'default' OR zone IN (SELECT DISTINCT zone FROM check_schedule
			WHERE site_id = bergamot_site()))
		ORDER BY zone, name`)
	if err != nil {
		return nil, fmt.Errorf("reading workers: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Worker, error) {
		var w Worker
		err := r.Scan(&w.ID, &w.Name, &w.Zone, &w.Engines, &w.StartedAt, &w.LastSeen, &w.Alive)
		return &w, err
	})
}

// ErrNotFoundIfNoRows maps pgx.ErrNoRows to a NotFound error.
func ErrNotFoundIfNoRows(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.NotFound, "no such %s", what)
	}
	return err
}

// QueueAlertsForChecks queues on b the read of the open and recently
// changed alerts of checks; they are appended to *into when the batch
// runs.
func QueueAlertsForChecks(b *pgx.Batch, ids []uuid.UUID, into *[]*Alert) {
	b.Queue(alertSelect+` WHERE check_id = ANY ($1) AND (recovered_at IS NULL OR updated_at > now() - interval '1 minute')`, ids).Query(func(rows pgx.Rows) error {
		out, err := collectAlerts(rows, nil)
		*into = append(*into, out...)
		return err
	})
}
