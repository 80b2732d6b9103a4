package rest_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

var nextLink = regexp.MustCompile(`^<(/api/v1/[^>]*)>; rel="next"$`)

// getPage GETs one page of a list and returns its items' ids and the
// Link rel="next" target ("" when there is none).
func (f *fixture) getPage(t *testing.T, path, token, field string) (ids []string, next string) {
	t.Helper()
	resp, raw := f.e.HTTP(t, "GET", path, token, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	var body map[string][]struct{ ID string }
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, raw)
	}
	items, ok := body[field]
	if !ok || items == nil {
		t.Fatalf("GET %s: no %q array: %s", path, field, raw)
	}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if l := resp.Header.Get("Link"); l != "" {
		m := nextLink.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("GET %s: Link %q is not <path>; rel=\"next\"", path, l)
		}
		next = m[1]
	}
	return ids, next
}

// walkREST follows Link rel="next" from path and returns every id, checking
// that each page with a next link is full (limit items) and the last has
// none.
func (f *fixture) walkREST(t *testing.T, path, token, field string, limit int) []string {
	t.Helper()
	var all []string
	for page := 0; path != ""; page++ {
		if page > 20 {
			t.Fatalf("still paging after 20 pages (cursor ignored?): %v", all)
		}
		ids, next := f.getPage(t, path, token, field)
		if len(ids) > limit || next != "" && len(ids) != limit {
			t.Fatalf("GET %s: %d items (limit %d), next %q", path, len(ids), limit, next)
		}
		if next != "" {
			// The next link is this request with after set.
			u, _ := url.Parse(path)
			n, err := url.Parse(next)
			q, nq := u.Query(), n.Query()
			q.Del("after")
			nq.Del("after")
			if err != nil || n.Path != u.Path || q.Encode() != nq.Encode() {
				t.Fatalf("next link %q is not %s with after", next, path)
			}
		}
		all = append(all, ids...)
		path = next
	}
	return all
}

func graphIDs(t *testing.T, e *apitest.Env, token, query string) []string {
	t.Helper()
	var out map[string][]struct{ ID string }
	e.MustDo(t, token, query, nil, &out)
	var ids []string
	for _, l := range out {
		for _, it := range l {
			ids = append(ids, it.ID)
		}
	}
	return ids
}

// TestRESTPaging: GET hosts and GET alerts page with ?limit and ?after,
// link the next page with an RFC 8288 Link header while rows remain (and
// only then), keep every row of the site exactly once in the GraphQL
// lists' order, never show another site's rows, and refuse bad limits
// and cursors with 400 naming the parameter.
func TestRESTPaging(t *testing.T) {
	f := setup(t)
	e, a, b := f.e, f.a, f.b
	extra := `<bergamot site="%s"><host name="h01"><check-command command="dummy-ok"/></host><host name="h02"><check-command command="dummy-ok"/></host>
		<host name="h03"><check-command command="dummy-ok"/></host><host name="h04"><check-command command="dummy-ok"/></host>
		<host name="h05"><check-command command="dummy-ok"/></host></bergamot>`
	e.Apply(t, a.Token, strings.ReplaceAll(extra, "%s", "alpha"))
	e.Apply(t, b.Token, strings.ReplaceAll(extra, "%s", "bravo"))
	at := time.Now().Truncate(time.Second)
	for _, s := range []struct {
		site  string
		check string
	}{{a.ID, f.aIDs["web1"]}, {b.ID, f.bIDs["web1"]}} {
		// Seven alerts on web1 in groups of three with the same time (the
		// id decides), one of them open; both sites at the same times.
		e.Exec(t, `INSERT INTO alerts (id, site_id, check_id, status, output, opened_at, updated_at, recovered_at)
			SELECT gen_random_uuid(), $1::uuid, $2::uuid, 'CRITICAL', 'seeded ' || i, $3::timestamptz - (i / 3) * interval '1 minute', $3::timestamptz,
				CASE WHEN i > 0 THEN $3::timestamptz END
			FROM generate_series(0, 6) i`, s.site, s.check, at)
	}

	for _, c := range []struct {
		name, path, field, graph string
		want                     int
	}{
		{"hosts", "/api/v1/hosts?limit=3", "hosts", `{ hosts { id } }`, 7},
		{"hosts?search", "/api/v1/hosts?limit=3&search=h0", "hosts", `{ hosts(search: "h0") { id } }`, 5},
		{"alerts", "/api/v1/alerts?limit=3", "alerts", `{ alerts { id } }`, 7},
		{"alerts?open=false", "/api/v1/alerts?open=false&limit=3", "alerts", `{ alerts(open: false) { id } }`, 6},
		{"alerts?limit=1", "/api/v1/alerts?limit=1", "alerts", `{ alerts { id } }`, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			limit := 3
			if strings.Contains(c.path, "limit=1") {
				limit = 1
			}
			want := graphIDs(t, e, a.Token, c.graph)
			if len(want) != c.want {
				t.Fatalf("alpha has %d, want %d seeded: %v", len(want), c.want, want)
			}
			got := f.walkREST(t, c.path, a.Token, c.field, limit)
			if !slices.Equal(got, want) {
				t.Fatalf("pages gave\n%v\nwant (GraphQL's order)\n%v", got, want)
			}
			bravo := graphIDs(t, e, b.Token, c.graph)
			if bGot := f.walkREST(t, c.path, b.Token, c.field, limit); !slices.Equal(bGot, bravo) {
				t.Fatalf("bravo's pages gave\n%v\nwant\n%v", bGot, bravo)
			}
			// Alpha's cursor in bravo's request is only a position in
			// bravo's list.
			_, next := f.getPage(t, c.path, a.Token, c.field)
			if next == "" {
				t.Fatal("no Link after alpha's first page")
			}
			ids, _ := f.getPage(t, next, b.Token, c.field)
			for _, id := range ids {
				if !slices.Contains(bravo, id) {
					t.Fatalf("bravo's page after alpha's cursor holds %s", id)
				}
			}
		})
	}

	t.Run("without limit: the default page, no Link", func(t *testing.T) {
		ids, next := f.getPage(t, "/api/v1/hosts", a.Token, "hosts")
		if len(ids) != 7 || next != "" {
			t.Fatalf("hosts: %d, next %q", len(ids), next)
		}
		ids, next = f.getPage(t, "/api/v1/alerts?open=true", a.Token, "alerts")
		if len(ids) != 1 || next != "" {
			t.Fatalf("open alerts: %d, next %q", len(ids), next)
		}
	})

	t.Run("the Link keeps the query", func(t *testing.T) {
		_, next := f.getPage(t, "/api/v1/alerts?open=false&limit=2", a.Token, "alerts")
		u, err := url.Parse(next)
		if err != nil || u.Path != "/api/v1/alerts" || u.Query().Get("open") != "false" || u.Query().Get("limit") != "2" || u.Query().Get("after") == "" {
			t.Fatalf("next link %q", next)
		}
	})

	t.Run("bad limit, after or open is 400 naming it", func(t *testing.T) {
		for _, c := range []struct{ path, want string }{
			{"/api/v1/hosts?limit=0", "limit"},
			{"/api/v1/hosts?limit=1001", "limit"},
			{"/api/v1/hosts?limit=ten", "limit"},
			{"/api/v1/hosts?after=not-a-cursor", "after"},
			{"/api/v1/alerts?limit=-1", "limit"},
			{"/api/v1/alerts?limit=1001", "limit"},
			{"/api/v1/alerts?after=not-a-cursor", "after"},
			{"/api/v1/alerts?after=e30", "after"},
			{"/api/v1/alerts?open=maybe", "open"},
		} {
			var bad apiErr
			if code := f.call(t, "GET", c.path, a.Token, nil, &bad); code != 400 || bad.Error.Code != "INVALID" || !strings.Contains(bad.Error.Message, c.want) {
				t.Errorf("GET %s: %d %+v, want 400 INVALID naming %s", c.path, code, bad, c.want)
			}
		}
	})
}
