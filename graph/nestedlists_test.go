package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// seedNested gives every check of site, numbered n = 1, 2, ... in id
// order, n % 5 alerts (the newest open, the rest recovered), n % 6
// comments (the newer half on its newest alert when it has one), n % 4
// downtimes (the odd ones cancelled) and n % 8 history rows, and every
// alert n % 3 comments of its own; every third check depends on two
// others. Rows come in groups of three with the
// same time, so the id tie-break decides their order.
func seedNested(t *testing.T, e *apitest.Env, site string) {
	t.Helper()
	const numbered = `(SELECT id, site_id, row_number() OVER (ORDER BY id)::int AS n FROM checks WHERE site_id = $1::uuid) c`
	e.Exec(t, `INSERT INTO alerts (id, site_id, check_id, status, output, opened_at, updated_at, recovered_at)
		SELECT gen_random_uuid(), c.site_id, c.id, 'CRITICAL', 'alert ' || c.n || '.' || g, now() - (g / 3) * interval '1 minute', now(),
			CASE WHEN g > 0 THEN now() END
		FROM `+numbered+`, generate_series(0, c.n % 5 - 1) g`, site)
	e.Exec(t, `INSERT INTO comments (id, site_id, check_id, alert_id, author, body, created_at)
		SELECT gen_random_uuid(), c.site_id, c.id,
			CASE WHEN g < c.n % 6 / 2 THEN (SELECT a.id FROM alerts a WHERE a.check_id = c.id ORDER BY a.opened_at DESC, a.id DESC LIMIT 1) END,
			'seed', 'comment ' || c.n || '.' || g, now() - (g / 3) * interval '1 minute'
		FROM `+numbered+`, generate_series(0, c.n % 6 - 1) g`, site)
	e.Exec(t, `INSERT INTO comments (id, site_id, check_id, alert_id, author, body, created_at)
		SELECT gen_random_uuid(), a.site_id, a.check_id, a.id, 'seed', 'on alert ' || a.output || '.' || g, now() - (g / 3) * interval '1 minute'
		FROM (SELECT a.*, row_number() OVER (ORDER BY a.id)::int AS n FROM alerts a WHERE a.site_id = $1::uuid) a, generate_series(0, a.n % 3 - 1) g`, site)
	e.Exec(t, `INSERT INTO downtimes (id, site_id, check_id, starts_at, ends_at, comment, author, cancelled_at)
		SELECT gen_random_uuid(), c.site_id, c.id, now() + (g / 3) * interval '1 day' - interval '1 hour', now() + (g / 3) * interval '1 day' + interval '1 hour',
			'window ' || c.n || '.' || g, 'seed', CASE WHEN g % 2 = 1 THEN now() END
		FROM `+numbered+`, generate_series(0, c.n % 4 - 1) g`, site)
	e.Exec(t, `INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt, output)
		SELECT c.site_id, c.id, now() - g * interval '1 minute', CASE WHEN g % 2 = 0 THEN 'CRITICAL' ELSE 'OK' END,
			CASE WHEN g % 2 = 0 THEN 'OK' ELSE 'CRITICAL' END, g % 2 = 1, true, 1, 'change ' || c.n || '.' || g
		FROM `+numbered+`, generate_series(0, c.n % 8 - 1) g`, site)
	e.Exec(t, `UPDATE checks d SET depends_on = ARRAY(SELECT o.id FROM checks o WHERE o.site_id = d.site_id AND o.id <> d.id
			ORDER BY md5(o.id::text || d.id::text) LIMIT 2)
		FROM `+numbered+` WHERE d.id = c.id AND c.n % 3 = 0`, site)
	e.Exec(t, `ANALYZE checks; ANALYZE alerts; ANALYZE comments; ANALYZE downtimes; ANALYZE state_history`)
}

// statements runs query (after a warm-up) three times and returns the
// fewest statements one run cost: the processor's idle poll may land
// inside one request.
func statements(t *testing.T, e *apitest.Env, counter *statementCounter, token, query string, vars map[string]any, out any) int64 {
	t.Helper()
	e.MustDo(t, token, query, vars, out) // warm: site and token caches, prepared statements
	best := int64(1 << 30)
	for range 3 {
		before := counter.n.Load()
		e.MustDo(t, token, query, vars, out)
		best = min(best, counter.n.Load()-before)
	}
	return best
}

// The lists nested in each item of a page (a check's alerts, comments,
// downtimes and history; an alert's comments) are read for the whole page
// at once: a page costs the same handful of statements for 50 items as
// for 100.
func TestNestedListsAreBoundedQueries(t *testing.T) {
	counter := &statementCounter{}
	e := apitest.Start(t, apitest.Options{Tracer: counter})
	a := e.SignUp(t, "alpha")
	seedChecks(t, e, a.ID, 40, 3) // 160 checks
	seedNested(t, e, a.ID)

	const checksQ = `query($n: Int) { checks(first: $n) { nodes { id ... on Service { host { id } }
		alerts { id } comments { id } downtimes { id } dependsOn { id }
		history(first: 5) { nodes { at } pageInfo { hasNextPage } } } } }`
	var page struct {
		Checks struct {
			Nodes []struct {
				ID                          string
				Alerts, Comments, Downtimes []struct{ ID string }
				DependsOn                   []struct{ ID string }
				History                     struct{ Nodes []struct{ At string } }
			}
		}
	}
	counts := map[int]int64{}
	for _, n := range []int{50, 100} {
		counts[n] = statements(t, e, counter, a.Token, checksQ, map[string]any{"n": n}, &page)
		var alerts, comments, downtimes, history, deps int
		for _, c := range page.Checks.Nodes {
			alerts, comments, downtimes, history = alerts+len(c.Alerts), comments+len(c.Comments), downtimes+len(c.Downtimes), history+len(c.History.Nodes)
			deps += len(c.DependsOn)
		}
		if len(page.Checks.Nodes) != n || alerts < n/2 || comments < n/2 || downtimes < n/2 || history < n/2 || deps < n/10 {
			t.Fatalf("page of %d checks has %d alerts, %d comments, %d downtimes, %d history rows, %d dependencies; the test needs lists on most checks",
				len(page.Checks.Nodes), alerts, comments, downtimes, history, deps)
		}
		t.Logf("page of %d checks with alerts, comments, downtimes, dependsOn and history: %d statements", n, counts[n])
	}

	const alertsQ = `query($n: Int) { alerts(first: $n) { id comments(first: 20) { id } } }`
	var alerts struct {
		Alerts []struct {
			ID       string
			Comments []struct{ ID string }
		}
	}
	for _, n := range []int{150, 300} {
		counts[n] = statements(t, e, counter, a.Token, alertsQ, map[string]any{"n": n}, &alerts)
		comments := 0
		for _, al := range alerts.Alerts {
			comments += len(al.Comments)
		}
		if len(alerts.Alerts) != n || comments < n/2 {
			t.Fatalf("%d alerts with %d comments; the test needs more", len(alerts.Alerts), comments)
		}
		t.Logf("page of %d alerts with their comments: %d statements", n, counts[n])
	}

	const hostsQ = `query($n: Int) { hosts(first: $n) { id alerts(open: false) { id } history(first: 5) { nodes { at } } } }`
	var hosts struct {
		Hosts []struct {
			ID      string
			Alerts  []struct{ ID string }
			History struct{ Nodes []struct{ At string } }
		}
	}
	for _, n := range []int{15, 30} {
		counts[n] = statements(t, e, counter, a.Token, hostsQ, map[string]any{"n": n}, &hosts)
		if len(hosts.Hosts) != n {
			t.Fatalf("%d hosts, want %d", len(hosts.Hosts), n)
		}
		t.Logf("page of %d hosts with their alerts and history: %d statements", n, counts[n])
	}

	// Authentication costs 4 (the site, BEGIN, the token, COMMIT), a page
	// BEGIN, its list, COMMIT, and in the same transaction one statement
	// for the checks' hosts and dependencies and one per nested list and
	// argument set.
	for _, c := range []struct {
		small, big int
		limit      int64
		what       string
	}{{50, 100, 4 + 3 + 1 + 4, "checks"}, {150, 300, 4 + 3 + 1, "alerts"}, {15, 30, 4 + 3 + 2, "hosts"}} {
		if counts[c.small] > c.limit || counts[c.big] > c.limit {
			t.Errorf("%s: %d items cost %d statements, %d cost %d; want at most %d", c.what, c.small, counts[c.small], c.big, counts[c.big], c.limit)
		}
		if counts[c.big] != counts[c.small] {
			t.Errorf("%s: %d items cost %d statements, %d cost %d: a page's cost grows with its items", c.what, c.small, counts[c.small], c.big, counts[c.big])
		}
	}
}

// A host's services and traps and a cluster's resources are read for the
// whole page at once too, in the page's transaction, each parent with its
// own children in name order.
func TestChildListsAreBoundedQueries(t *testing.T) {
	counter := &statementCounter{}
	e := apitest.Start(t, apitest.Options{Tracer: counter})
	a := e.SignUp(t, "alpha")
	seedChecks(t, e, a.ID, 40, 3) // 40 hosts with 3 services each
	// Every other host has n % 3 traps (hosts numbered by name); 40
	// clusters with 1-3 resources each (named so the resources' name
	// order is not their insertion order).
	e.Exec(t, `INSERT INTO checks (id, site_id, kind, name, summary, parent_id, engine)
		SELECT gen_random_uuid(), h.site_id, 'trap', 'trap-' || (3 - g), 'Trap', h.id, 'trap'
		FROM (SELECT id, site_id, row_number() OVER (ORDER BY name)::int AS n FROM checks WHERE site_id = $1::uuid AND kind = 'host') h,
			generate_series(0, h.n % 3 - 1) g WHERE h.n % 2 = 0`, a.ID)
	e.Exec(t, `INSERT INTO checks (id, site_id, kind, name, summary, engine)
		SELECT gen_random_uuid(), $1::uuid, 'cluster', 'cluster-' || i, 'Cluster', 'cluster' FROM generate_series(1, 40) i`, a.ID)
	e.Exec(t, `INSERT INTO checks (id, site_id, kind, name, summary, parent_id, engine)
		SELECT gen_random_uuid(), c.site_id, 'resource', 'res-' || (3 - g), 'Resource', c.id, 'cluster'
		FROM checks c, generate_series(0, (substr(c.name, 9)::int % 3)) g WHERE c.site_id = $1::uuid AND c.kind = 'cluster'`, a.ID)
	e.Exec(t, `INSERT INTO check_state (check_id, site_id, status, ok, hard, attempt, output)
		SELECT c.id, c.site_id, 'OK', true, true, 1, 'seeded' FROM checks c
		WHERE c.site_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM check_state s WHERE s.check_id = c.id)`, a.ID)
	owner, err := pgx.Connect(context.Background(), e.DB.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	children := func(parent, kind string) []string {
		return ownerRows(t, owner, `SELECT id::text FROM checks WHERE parent_id = $1::uuid AND kind = $2 ORDER BY name`, parent, kind)
	}

	type parent struct {
		ID                         string
		Services, Traps, Resources []pageItem
	}
	const hostsQ = `query($n: Int) { hosts(first: $n) { id services { id } traps { id } } }`
	const clustersQ = `query($n: Int!) { checks(first: $n, filter: {kind: CLUSTER}) { nodes { id ... on Cluster { resources { id } } } } }`
	cost := map[string]map[int]int64{"hosts": {}, "clusters": {}}
	for _, n := range []int{15, 30} {
		var hosts struct{ Hosts []parent }
		cost["hosts"][n] = statements(t, e, counter, a.Token, hostsQ, map[string]any{"n": n}, &hosts)
		traps := 0
		for _, h := range hosts.Hosts {
			if got, want := itemIDs(h.Services), children(h.ID, "service"); !slices.Equal(got, want) || len(got) != 3 {
				t.Fatalf("host %s: services %v, want %v", h.ID, got, want)
			}
			if got, want := itemIDs(h.Traps), children(h.ID, "trap"); !slices.Equal(got, want) {
				t.Fatalf("host %s: traps %v, want %v", h.ID, got, want)
			}
			traps += len(h.Traps)
		}
		if len(hosts.Hosts) != n || traps < n/3 {
			t.Fatalf("%d hosts with %d traps; the test needs %d hosts and more traps", len(hosts.Hosts), traps, n)
		}
		var clusters struct{ Checks struct{ Nodes []parent } }
		cost["clusters"][n] = statements(t, e, counter, a.Token, clustersQ, map[string]any{"n": n}, &clusters)
		multi := 0
		for _, c := range clusters.Checks.Nodes {
			got, want := itemIDs(c.Resources), children(c.ID, "resource")
			if !slices.Equal(got, want) || len(got) == 0 {
				t.Fatalf("cluster %s: resources %v, want %v", c.ID, got, want)
			}
			if len(got) > 1 {
				multi++
			}
		}
		if len(clusters.Checks.Nodes) != n || multi < n/2 {
			t.Fatalf("%d clusters, %d with several resources; the test needs %d, most with several", len(clusters.Checks.Nodes), multi, n)
		}
	}
	// Authentication 4, the page's BEGIN, list, COMMIT, and one statement
	// per child list.
	for what, limit := range map[string]int64{"hosts": 4 + 3 + 2, "clusters": 4 + 3 + 1} {
		c := cost[what]
		t.Logf("%s: 15 cost %d statements, 30 cost %d", what, c[15], c[30])
		if c[15] > limit || c[30] > limit || c[15] != c[30] {
			t.Errorf("%s with their children: 15 cost %d statements, 30 cost %d; want the same, at most %d", what, c[15], c[30], limit)
		}
	}
}

// nestedSelection asks every nested list of a check, with several
// argument sets and small pages.
const nestedSelection = `id
	all: alerts(first: 2) { id cursor } open: alerts(open: true, first: 2) { id cursor } recovered: alerts(open: false, first: 2) { id cursor }
	comments(first: 3) { id cursor }
	downtimes(first: 2) { id cursor } active: downtimes(active: true, first: 1) { id cursor }
	history(first: 3) { nodes { output } pageInfo { hasNextPage endCursor } }`

// nestedCheck is a check with nestedSelection.
type nestedCheck struct {
	ID                             string
	All, Open, Recovered, Comments []pageItem
	Downtimes, Active              []pageItem
	History                        struct {
		Nodes    []struct{ Output string }
		PageInfo struct {
			HasNextPage bool
			EndCursor   string
		}
	}
}

// nestedList is one of nestedSelection's lists: its alias, page size, the
// field with its arguments but first and after, and the query (run as the
// owner) giving all of a check's rows in the list's order.
type nestedList struct {
	alias, field string
	first        int
	all          string
	items        func(c *nestedCheck) []pageItem
}

var nestedLists = []nestedList{
	{"all", "alerts", 2, `SELECT id::text FROM alerts WHERE check_id = $1 ORDER BY opened_at DESC, id DESC`, func(c *nestedCheck) []pageItem { return c.All }},
	{"open", "alerts(open: true", 2, `SELECT id::text FROM alerts WHERE check_id = $1 AND recovered_at IS NULL ORDER BY opened_at DESC, id DESC`,
		func(c *nestedCheck) []pageItem { return c.Open }},
	{"recovered", "alerts(open: false", 2, `SELECT id::text FROM alerts WHERE check_id = $1 AND recovered_at IS NOT NULL ORDER BY opened_at DESC, id DESC`,
		func(c *nestedCheck) []pageItem { return c.Recovered }},
	{"comments", "comments", 3, `SELECT id::text FROM comments WHERE check_id = $1 ORDER BY created_at DESC, id DESC`,
		func(c *nestedCheck) []pageItem { return c.Comments }},
	{"downtimes", "downtimes", 2, `SELECT id::text FROM downtimes WHERE check_id = $1 ORDER BY starts_at DESC, id DESC`,
		func(c *nestedCheck) []pageItem { return c.Downtimes }},
	{"active", "downtimes(active: true", 1, `SELECT id::text FROM downtimes d WHERE check_id = $1 AND cancelled_at IS NULL
		AND (ends_at > now() OR downtime_in_effect(d, now())) ORDER BY starts_at DESC, id DESC`,
		func(c *nestedCheck) []pageItem { return c.Active }},
}

// checkNested compares a check's nested first pages with all its rows (as
// the owner reads them): each page is the first rows in order, and the
// rest follow the page's last cursor (read alone, the after path), the
// history's too after its endCursor.
func checkNested(t *testing.T, e *apitest.Env, owner *pgx.Conn, token string, c *nestedCheck) (withMore int) {
	t.Helper()
	for _, l := range nestedLists {
		all := ownerRows(t, owner, l.all, c.ID)
		got := l.items(c)
		want := all[:min(l.first, len(all))]
		if ids := itemIDs(got); !slices.Equal(ids, want) {
			t.Fatalf("check %s %s: page %v, want %v", c.ID, l.alias, ids, want)
		}
		if len(all) <= l.first {
			continue
		}
		withMore++
		args := "(after: $after, first: 1000)"
		if strings.Contains(l.field, "(") {
			args = ", after: $after, first: 1000)"
		}
		var rest struct{ Check map[string][]pageItem }
		e.MustDo(t, token, `query($id: ID!, $after: String) { check(id: $id) { `+l.alias+`: `+l.field+args+` { id cursor } } }`,
			map[string]any{"id": c.ID, "after": got[len(got)-1].Cursor}, &rest)
		if ids := itemIDs(rest.Check[l.alias]); !slices.Equal(ids, all[l.first:]) {
			t.Fatalf("check %s %s after the page's last cursor: %v, want %v", c.ID, l.alias, ids, all[l.first:])
		}
	}
	all := ownerRows(t, owner, `SELECT output FROM state_history WHERE check_id = $1 ORDER BY id DESC`, c.ID)
	var outputs []string
	for _, n := range c.History.Nodes {
		outputs = append(outputs, n.Output)
	}
	if !slices.Equal(outputs, all[:min(3, len(all))]) || c.History.PageInfo.HasNextPage != (len(all) > 3) {
		t.Fatalf("check %s history: %v (hasNextPage %v), want %v", c.ID, outputs, c.History.PageInfo.HasNextPage, all)
	}
	if len(all) > 3 {
		withMore++
		var rest struct {
			Check struct {
				History struct {
					Nodes    []struct{ Output string }
					PageInfo struct{ HasNextPage bool }
				}
			}
		}
		e.MustDo(t, token, `query($id: ID!, $after: String) { check(id: $id) { history(first: 500, after: $after) { nodes { output } pageInfo { hasNextPage } } } }`,
			map[string]any{"id": c.ID, "after": c.History.PageInfo.EndCursor}, &rest)
		var more []string
		for _, n := range rest.Check.History.Nodes {
			more = append(more, n.Output)
		}
		if !slices.Equal(more, all[3:]) || rest.Check.History.PageInfo.HasNextPage {
			t.Fatalf("check %s history after endCursor: %v, want %v", c.ID, more, all[3:])
		}
	}
	return withMore
}

// ownerRows returns the first column of what query selects as the owner
// (without row-level security), in the query's order.
func ownerRows(t *testing.T, owner *pgx.Conn, query string, args ...any) []string {
	t.Helper()
	rows, err := owner.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func itemIDs(items []pageItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = strings.Trim(string(it.ID), `"`)
	}
	return out
}

// A page's nested lists, read for all its items at once, give each item
// its own first page in its own order, with cursors the after path
// continues from; so do the lists read through the lists loader (a
// single check, a host's services); and two sites paging at the same time
// never see each other's rows.
func TestNestedListsMatchSingleReads(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a, b := e.SignUp(t, "alpha"), e.SignUp(t, "bravo")
	for _, s := range []*apitest.Site{a, b} {
		seedChecks(t, e, s.ID, 6, 2) // 18 checks each
		seedNested(t, e, s.ID)
	}

	owner, err := pgx.Connect(context.Background(), e.DB.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())

	type pageResult struct {
		Checks struct{ Nodes []nestedCheck }
		Alerts []struct {
			ID       string
			Comments []pageItem
		}
		Hosts []struct {
			ID       string
			Services []nestedCheck
		}
	}
	const pageQ = `{ checks(first: 50) { nodes { ` + nestedSelection + ` } }
		alerts(first: 1000) { id comments(first: 2) { id cursor } }
		hosts(first: 10) { id services { ` + nestedSelection + ` } } }`
	read := func(s *apitest.Site) *pageResult {
		var out pageResult
		e.MustDo(t, s.Token, pageQ, nil, &out)
		return &out
	}

	for _, s := range []*apitest.Site{a, b} {
		page := read(s)
		if len(page.Checks.Nodes) != 18 || len(page.Hosts) != 6 {
			t.Fatalf("%s: %d checks, %d hosts", s.Name, len(page.Checks.Nodes), len(page.Hosts))
		}
		withMore := 0
		for i := range page.Checks.Nodes {
			c := &page.Checks.Nodes[i]
			withMore += checkNested(t, e, owner, s.Token, c)
			// The same check alone (through the lists loader) shows the
			// same pages and cursors.
			var one struct{ Check nestedCheck }
			e.MustDo(t, s.Token, `query($id: ID!) { check(id: $id) { `+nestedSelection+` } }`, map[string]any{"id": c.ID}, &one)
			if !reflect.DeepEqual(one.Check, *c) {
				t.Fatalf("%s: check %s alone\n%+v\nin the page\n%+v", s.Name, c.ID, one.Check, *c)
			}
		}
		if withMore < 10 {
			t.Fatalf("%s: only %d lists longer than their page; the test needs more", s.Name, withMore)
		}
		services := 0
		for _, h := range page.Hosts {
			for i := range h.Services {
				checkNested(t, e, owner, s.Token, &h.Services[i])
				services++
			}
		}
		if services != 12 {
			t.Fatalf("%s: %d services under the hosts, want 12", s.Name, services)
		}
		alertComments := 0
		for _, al := range page.Alerts {
			all := ownerRows(t, owner, `SELECT id::text FROM comments WHERE alert_id = $1 ORDER BY created_at DESC, id DESC`, al.ID)
			if ids := itemIDs(al.Comments); !slices.Equal(ids, all[:min(2, len(all))]) {
				t.Fatalf("%s: alert %s comments %v, want %v", s.Name, al.ID, ids, all)
			}
			alertComments += len(al.Comments)
		}
		if len(page.Alerts) < 10 || alertComments < 10 {
			t.Fatalf("%s: %d alerts with %d comments; the test needs more", s.Name, len(page.Alerts), alertComments)
		}
	}

	// Both sites at once, many times: every row shown is the site's own.
	siteRows := func(s *apitest.Site) map[string]bool {
		rows := map[string]bool{}
		for _, q := range []string{`SELECT id::text FROM alerts WHERE site_id = $1`, `SELECT id::text FROM comments WHERE site_id = $1`,
			`SELECT id::text FROM downtimes WHERE site_id = $1`, `SELECT output FROM state_history WHERE site_id = $1`} {
			for _, id := range ownerRows(t, owner, q, s.ID) {
				rows[id] = true
			}
		}
		return rows
	}
	own := map[*apitest.Site]map[string]bool{a: siteRows(a), b: siteRows(b)}
	var wg sync.WaitGroup
	errc := make(chan string, 100)
	for range 5 {
		for _, s := range []*apitest.Site{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.Do(t, s.Token, pageQ, nil)
				if len(r.Errors) > 0 {
					errc <- fmt.Sprintf("%s: %+v", s.Name, r.Errors)
					return
				}
				var page pageResult
				if err := json.Unmarshal(r.Data, &page); err != nil {
					errc <- err.Error()
					return
				}
				checks := page.Checks.Nodes
				for _, h := range page.Hosts {
					checks = append(checks, h.Services...)
				}
				var shown []string
				for _, c := range checks {
					for _, l := range nestedLists {
						shown = append(shown, itemIDs(l.items(&c))...)
					}
					for _, n := range c.History.Nodes {
						shown = append(shown, n.Output)
					}
				}
				for _, al := range page.Alerts {
					shown = append(shown, al.ID)
					shown = append(shown, itemIDs(al.Comments)...)
				}
				for _, id := range shown {
					if !own[s][id] {
						errc <- fmt.Sprintf("%s's page shows %s, not its own", s.Name, id)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for msg := range errc {
		t.Error(msg)
	}
}
