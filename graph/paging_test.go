package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// pagingSiteXML has seven hosts p01..p07 and one host the search "p0"
// does not match.
func pagingSiteXML(site string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<bergamot site=%q>`, site)
	for i := 1; i <= 7; i++ {
		fmt.Fprintf(&b, `<host name="p%02d"><check-command command="dummy-ok"/><schedule every="1h"/></host>`, i)
	}
	b.WriteString(`<host name="other"><check-command command="dummy-ok"/><schedule every="1h"/></host></bergamot>`)
	return b.String()
}

// seedLists gives a site seven alerts, comments and downtimes on host p01
// and seven delivery log entries (four of them p01's, five failed), each
// in groups of three with the same time so that the id tie-break decides
// their order; an open alert on p02..p04; four of p01's comments on its
// open alert; and seven more config revisions. Every site gets the same
// times, so the sites' rows interleave.
func seedLists(t *testing.T, e *apitest.Env, site string, ids map[string]string, at time.Time) {
	t.Helper()
	p01 := ids["p01"]
	e.Exec(t, `INSERT INTO alerts (id, site_id, check_id, status, output, opened_at, updated_at, recovered_at)
		SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'CRITICAL', 'seeded ' || i, $3::timestamptz - (i / 3) * interval '1 minute', $3::timestamptz,
			CASE WHEN i > 0 THEN $3::timestamptz END
		FROM generate_series(0, 6) i`, site, p01, at)
	for _, h := range []string{"p02", "p03", "p04"} {
		e.Exec(t, `INSERT INTO alerts (id, site_id, check_id, status, output, opened_at, updated_at)
			VALUES (gen_random_uuid(), $1::uuid, $2::uuid, 'WARNING', 'seeded', $3::timestamptz, $3::timestamptz)`, site, ids[h], at)
	}
	e.Exec(t, `INSERT INTO comments (id, site_id, check_id, alert_id, author, body, created_at)
		SELECT gen_random_uuid(), $1::uuid, $2::uuid,
			CASE WHEN i < 4 THEN (SELECT id FROM alerts WHERE check_id = $2::uuid AND recovered_at IS NULL) END,
			'seed', 'comment ' || i, $3::timestamptz - (i / 3) * interval '1 minute'
		FROM generate_series(0, 6) i`, site, p01, at)
	e.Exec(t, `INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, comment, author)
		SELECT gen_random_uuid(), $1::uuid, $2::uuid, $3::timestamptz - (i / 3) * interval '1 day',
			$3::timestamptz - (i / 3) * interval '1 day' + interval '1 hour', 'window ' || i, 'seed'
		FROM generate_series(0, 6) i`, site, p01, at)
	e.Exec(t, `INSERT INTO notification_log (site_id, check_id, kind, recipient, channel, idempotency, result, at)
		SELECT $1::uuid, CASE WHEN i % 2 = 0 THEN $2::uuid END, 'alert', 'alice', 'email', 'seed-' || i,
			CASE WHEN i % 3 = 1 THEN 'sent' ELSE 'failed' END, $3::timestamptz - (i / 3) * interval '1 minute'
		FROM generate_series(0, 6) i`, site, p01, at)
	e.Exec(t, `INSERT INTO config_revisions (site_id, author, summary) SELECT $1::uuid, 'seed', 'revision ' || i FROM generate_series(0, 6) i`, site)
}

// ownerIDs returns the ids a query (run as the owner, without row-level
// security) selects, in the order the query gives them.
func ownerIDs(t *testing.T, e *apitest.Env, query string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	return ownerRows(t, conn, query, args...)
}

// byKeyDesc sorts rows of (id, time) newest first, then by id descending
// (uuids compare as their text; numeric ids as numbers), the order the
// lists promise.
func byKeyDesc(t *testing.T, e *apitest.Env, query string, args ...any) []string {
	t.Helper()
	type row struct {
		id string
		at time.Time
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q, err := conn.Query(ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pgx.CollectRows(q, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.at)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	idCmp := func(a, b string) int {
		na, errA := strconv.ParseInt(a, 10, 64)
		nb, errB := strconv.ParseInt(b, 10, 64)
		if errA == nil && errB == nil {
			return int(na - nb)
		}
		return strings.Compare(a, b)
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return idCmp(b.id, a.id)
	})
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.id
	}
	return out
}

// pageItem is a list item: its id (a string or, for revisions, a number)
// and cursor.
type pageItem struct {
	ID     json.RawMessage
	Cursor string
}

// walk reads a list (at path in the response data) page by page with first
// 3, passing the last item's cursor as after, until a short page; it
// returns the ids in the order read.
func walk(t *testing.T, e *apitest.Env, token, query string, vars map[string]any, path ...string) []string {
	t.Helper()
	const size = 3
	var ids []string
	var after any
	for page := 0; ; page++ {
		if page > 20 {
			t.Fatalf("%s: still paging after 20 pages of %d (cursor ignored?): %v", path, size, ids)
		}
		v := maps.Clone(vars)
		if v == nil {
			v = map[string]any{}
		}
		v["first"], v["after"] = size, after
		r := e.Do(t, token, query, v)
		if len(r.Errors) > 0 {
			t.Fatalf("%s page %d: %+v", path, page, r.Errors)
		}
		items := listAt(t, r.Data, path)
		if len(items) > size {
			t.Fatalf("%s page %d: %d items, asked for %d", path, page, len(items), size)
		}
		for _, it := range items {
			if it.Cursor == "" {
				t.Fatalf("%s page %d: item %s without a cursor", path, page, it.ID)
			}
			ids = append(ids, strings.Trim(string(it.ID), `"`))
		}
		if len(items) < size {
			return ids
		}
		after = items[len(items)-1].Cursor
	}
}

func listAt(t *testing.T, data json.RawMessage, path []string) []pageItem {
	t.Helper()
	raw := data
	for _, p := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s in %s: %v", p, raw, err)
		}
		raw = m[p]
	}
	var items []pageItem
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("list %s: %v", raw, err)
	}
	return items
}

// TestListsPage walks every paged list with pages of three: each returns
// every row of its own site exactly once, in its order; a cursor works
// only as a position (another site's cursor shows nothing of that site);
// and bad page sizes and cursors are INVALID naming the argument.
func TestListsPage(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a, b := e.SignUp(t, "alpha"), e.SignUp(t, "bravo")
	e.Apply(t, a.Token, pagingSiteXML("alpha"))
	e.Apply(t, b.Token, pagingSiteXML("bravo"))
	aIDs, bIDs := e.CheckIDs(t, a.Token), e.CheckIDs(t, b.Token)
	at := time.Now().Truncate(time.Second)
	seedLists(t, e, a.ID, aIDs, at)
	seedLists(t, e, b.ID, bIDs, at)
	openAlert := ownerIDs(t, e, `SELECT id::text FROM alerts WHERE check_id = $1 AND recovered_at IS NULL`, aIDs["p01"])[0]

	hostsIn := func(site, search string) []string {
		var names []string
		ids := aIDs
		if site == b.ID {
			ids = bIDs
		}
		for n := range ids {
			if strings.Contains(n, search) {
				names = append(names, n)
			}
		}
		slices.Sort(names) // host names are unique in a site: name order is the order
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = ids[n]
		}
		return out
	}
	lists := []struct {
		name, query string
		vars        map[string]any
		path        []string
		want        func(site string, ids map[string]string) []string
	}{
		{"hosts", `query($first: Int, $after: String) { list: hosts(first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string { return hostsIn(site, "") }},
		{"hosts(search)", `query($first: Int, $after: String) { list: hosts(search: "p0", first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string { return hostsIn(site, "p0") }},
		{"alerts", `query($first: Int, $after: String) { list: alerts(first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, opened_at FROM alerts WHERE site_id = $1`, site)
			}},
		{"alerts(open: true)", `query($first: Int, $after: String) { list: alerts(open: true, first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, opened_at FROM alerts WHERE site_id = $1 AND recovered_at IS NULL`, site)
			}},
		{"alerts(open: false)", `query($first: Int, $after: String) { list: alerts(open: false, first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, opened_at FROM alerts WHERE site_id = $1 AND recovered_at IS NOT NULL`, site)
			}},
		{"check.alerts", `query($id: ID!, $first: Int, $after: String) { check(id: $id) { list: alerts(first: $first, after: $after) { id cursor } } }`,
			map[string]any{"id": "p01"}, []string{"check", "list"},
			func(_ string, ids map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, opened_at FROM alerts WHERE check_id = $1`, ids["p01"])
			}},
		{"check.comments", `query($id: ID!, $first: Int, $after: String) { check(id: $id) { list: comments(first: $first, after: $after) { id cursor } } }`,
			map[string]any{"id": "p01"}, []string{"check", "list"},
			func(_ string, ids map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, created_at FROM comments WHERE check_id = $1`, ids["p01"])
			}},
		{"check.downtimes", `query($id: ID!, $first: Int, $after: String) { check(id: $id) { list: downtimes(first: $first, after: $after) { id cursor } } }`,
			map[string]any{"id": "p01"}, []string{"check", "list"},
			func(_ string, ids map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, starts_at FROM downtimes WHERE check_id = $1`, ids["p01"])
			}},
		{"downtimes", `query($first: Int, $after: String) { list: downtimes(first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, starts_at FROM downtimes WHERE site_id = $1`, site)
			}},
		{"notificationLog", `query($first: Int, $after: String) { list: notificationLog(first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, at FROM notification_log WHERE site_id = $1`, site)
			}},
		{"notificationLog(checkId)", `query($id: ID!, $first: Int, $after: String) { list: notificationLog(checkId: $id, first: $first, after: $after) { id cursor } }`,
			map[string]any{"id": "p01"}, []string{"list"},
			func(_ string, ids map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, at FROM notification_log WHERE check_id = $1`, ids["p01"])
			}},
		{"notificationLog(failed)", `query($first: Int, $after: String) { list: notificationLog(failed: true, first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string {
				return byKeyDesc(t, e, `SELECT id::text, at FROM notification_log WHERE site_id = $1 AND result <> 'sent'`, site)
			}},
		{"configRevisions", `query($first: Int, $after: String) { list: configRevisions(first: $first, after: $after) { id cursor } }`, nil, []string{"list"},
			func(site string, _ map[string]string) []string {
				return ownerIDs(t, e, `SELECT id::text FROM config_revisions r WHERE site_id = $1 ORDER BY r.id DESC`, site)
			}},
	}
	sites := []struct {
		site *apitest.Site
		ids  map[string]string
	}{{a, aIDs}, {b, bIDs}}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			varsFor := func(ids map[string]string) map[string]any {
				v := maps.Clone(l.vars)
				if v == nil {
					v = map[string]any{}
				}
				if name, ok := v["id"].(string); ok {
					v["id"] = ids[name]
				}
				return v
			}
			for _, s := range sites {
				want := l.want(s.site.ID, s.ids)
				if len(want) < 4 {
					t.Fatalf("%s: only %d rows seeded; the test needs more than one page", s.site.Name, len(want))
				}
				got := walk(t, e, s.site.Token, l.query, varsFor(s.ids), l.path...)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: pages gave\n%v\nwant\n%v", s.site.Name, got, want)
				}
			}
			// Site alpha's cursor in bravo is a position in bravo's
			// list, nothing more: it shows none of alpha's rows.
			vars := varsFor(aIDs)
			vars["first"], vars["after"] = 1, nil
			r := e.Do(t, a.Token, l.query, vars)
			if len(r.Errors) > 0 {
				t.Fatal(r.Errors)
			}
			aFirst := listAt(t, r.Data, l.path)
			vars = varsFor(bIDs)
			vars["first"], vars["after"] = 200, aFirst[0].Cursor
			r = e.Do(t, b.Token, l.query, vars)
			if len(r.Errors) > 0 {
				t.Fatalf("bravo with alpha's cursor: %+v", r.Errors)
			}
			bAll := l.want(b.ID, bIDs)
			for _, it := range listAt(t, r.Data, l.path) {
				if id := strings.Trim(string(it.ID), `"`); !slices.Contains(bAll, id) {
					t.Fatalf("bravo's page after alpha's cursor holds %s, not bravo's", id)
				}
			}
		})
	}

	t.Run("alert.comments", func(t *testing.T) {
		q := `query($id: ID!, $first: Int, $after: String) { alert(id: $id) { comments(first: $first, after: $after) { id cursor } } }`
		got := walk(t, e, a.Token, q, map[string]any{"id": openAlert}, "alert", "comments")
		want := byKeyDesc(t, e, `SELECT id::text, created_at FROM comments WHERE alert_id = $1`, openAlert)
		if len(want) != 4 || !slices.Equal(got, want) {
			t.Fatalf("pages gave %v, want %v", got, want)
		}
	})

	t.Run("bad first and after are INVALID", func(t *testing.T) {
		var hosts struct{ Hosts []struct{ Cursor string } }
		e.MustDo(t, a.Token, `{ hosts(first: 1) { cursor } }`, nil, &hosts)
		hostCursor := hosts.Hosts[0].Cursor
		for _, c := range []struct{ query, want string }{
			{`{ hosts(after: "not-a-cursor") { id } }`, "after"},
			{`{ hosts(first: 0) { id } }`, "first must be between 1 and 1000"},
			{`{ hosts(first: 1001) { id } }`, "first must be between 1 and 1000"},
			{`{ alerts(after: "not-a-cursor") { id } }`, "after"},
			{`{ alerts(after: "` + hostCursor + `") { id } }`, "after"}, // another list's cursor
			{`{ alerts(after: "e30") { id } }`, "after"},                // {}
			{`{ alerts(first: 0) { id } }`, "first must be between 1 and 1000"},
			{`{ alerts(first: 1001) { id } }`, "first must be between 1 and 1000"},
			{`{ downtimes(after: "x") { id } }`, "after"},
			{`{ downtimes(first: 1001) { id } }`, "first must be between 1 and 1000"},
			{`{ notificationLog(after: "x") { id } }`, "after"},
			{`{ notificationLog(first: -1) { id } }`, "first must be between 1 and 1000"},
			{`{ configRevisions(after: "x") { id } }`, "after"},
			{`{ configRevisions(first: 201) { id } }`, "first must be between 1 and 200"},
			{`query($id: ID!) { check(id: $id) { alerts(after: "x") { id } } }`, "after"},
			{`query($id: ID!) { check(id: $id) { comments(first: 1001) { id } } }`, "first must be between 1 and 1000"},
			{`query($id: ID!) { check(id: $id) { downtimes(after: "x") { id } } }`, "after"},
		} {
			r := e.Do(t, a.Token, c.query, map[string]any{"id": aIDs["p01"]})
			if r.Code() != "INVALID" || !strings.Contains(r.Errors[0].Message, c.want) {
				t.Errorf("%s: %+v, want INVALID naming %q", c.query, r.Errors, c.want)
			}
		}
	})

	t.Run("default page sizes", func(t *testing.T) {
		// 105 alerts: the default page is the newest 100, the rest follow it.
		e.Exec(t, `INSERT INTO alerts (id, site_id, check_id, status, opened_at, updated_at, recovered_at)
			SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'CRITICAL', $3::timestamptz - i * interval '1 second', $3::timestamptz, $3::timestamptz
			FROM generate_series(1, 95) i`, a.ID, aIDs["p05"], at.Add(-time.Hour))
		var out struct{ Alerts []struct{ ID, Cursor string } }
		e.MustDo(t, a.Token, `{ alerts { id cursor } }`, nil, &out)
		if len(out.Alerts) != 100 {
			t.Fatalf("default page: %d alerts, want 100", len(out.Alerts))
		}
		var rest struct{ Alerts []struct{ ID string } }
		e.MustDo(t, a.Token, `query($after: String) { alerts(after: $after) { id } }`, map[string]any{"after": out.Alerts[99].Cursor}, &rest)
		if len(rest.Alerts) != 5 {
			t.Fatalf("after the default page: %d alerts, want 5", len(rest.Alerts))
		}
	})

	t.Run("complexity counts page sizes", func(t *testing.T) {
		for _, q := range []string{
			`{ hosts { id alerts { id output } } }`,
			`{ alerts(first: 1000) { id comments(first: 1000) { body } } }`,
			`{ checks(first: 100) { nodes { id downtimes(first: 1000) { id } } } }`,
			`{ notificationLog(first: 1000) { id kind recipient channel result error at checkId alertId attempt }
				a: notificationLog(first: 1000, failed: true) { id kind recipient channel result error at checkId alertId attempt }
				b: notificationLog(first: 1000, checkId: "x") { id kind recipient channel result error at checkId alertId attempt }
				c: notificationLog(first: 1000, after: "x") { id kind recipient channel result error at checkId alertId attempt }
				d: notificationLog(first: 1000, after: "y") { id kind recipient channel result error at checkId alertId attempt } }`,
		} {
			r := e.Do(t, a.Token, q, nil)
			if r.Code() != "INVALID" || !strings.Contains(r.Errors[0].Message, "complexity") {
				t.Errorf("over-complex query %s: %+v", q, r.Errors)
			}
		}
		// The dashboard's alerts page and check detail pass.
		const checkRow = `fragment CheckRow on Check { __typename id kind name summary groups location
			... on Service { host { id name } } ... on Trap { host { id name } } ... on Resource { cluster { id name } }
			state { status ok hard attempt output lastCheck lastStateChange flapping acknowledged inDowntime suppressed } }`
		e.MustDo(t, a.Token, `query Alerts($open: Boolean) { alerts(open: $open, first: 500) { id status output openedAt updatedAt recoveredAt
			acknowledged acknowledgedAt acknowledgedBy escalationLevel check { ...CheckRow } } }`+checkRow, map[string]any{"open": true}, nil)
		e.MustDo(t, a.Token, `query($id: ID!) { check(id: $id) { ...CheckRow description enabled
			state { longOutput flapPercent worker runtimeMs perfdata { label value uom warn crit min max } }
			... on Host { address services { ...CheckRow } } dependsOn { ...CheckRow }
			history(first: 100) { nodes { at status previous hard attempt output } pageInfo { hasNextPage endCursor } }
			alerts { id status output openedAt updatedAt recoveredAt acknowledged acknowledgedAt acknowledgedBy escalationLevel check { id name kind state { status } } }
			downtimes(active: true) { id checkId start end comment author cancelled } comments { id author body createdAt } } }`+checkRow,
			map[string]any{"id": aIDs["p01"]}, nil)
	})
}
