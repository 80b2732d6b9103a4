package statuspage_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/statuspage"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// site is a signed-up site with a status page "public".
type site struct {
	*apitest.Site
	name   string
	ids    map[string]string
	pageID string
	comps  map[string]string // component name -> id
}

// newSite signs up name, applies the shared fixture configuration and
// creates the page public with the components given (name -> check key
// of apitest.CheckIDs, or "group:NAME").
func newSite(t *testing.T, e *apitest.Env, name string, comps [][2]string) *site {
	t.Helper()
	s := &site{Site: e.SignUp(t, name), name: name, comps: map[string]string{}}
	e.Apply(t, s.Token, apitest.SiteXML(name))
	s.ids = e.CheckIDs(t, s.Token)
	var page struct{ SaveStatusPage struct{ ID, Path string } }
	e.MustDo(t, s.Token, `mutation($in: StatusPageInput!) { saveStatusPage(input: $in) { id path } }`,
		map[string]any{"in": map[string]any{"slug": "public", "title": strings.ToUpper(name[:1]) + name[1:] + " Cloud", "description": "Live status of our services"}}, &page)
	if page.SaveStatusPage.Path != "/status/"+name+"/public" {
		t.Fatalf("page path %q", page.SaveStatusPage.Path)
	}
	s.pageID = page.SaveStatusPage.ID
	for _, c := range comps {
		in := map[string]any{"pageId": s.pageID, "name": c[0]}
		if g, ok := strings.CutPrefix(c[1], "group:"); ok {
			in["groupName"] = g
		} else {
			in["checkId"] = s.ids[c[1]]
		}
		var out struct{ SaveStatusComponent struct{ ID string } }
		e.MustDo(t, s.Token, `mutation($in: StatusComponentInput!) { saveStatusComponent(input: $in) { id } }`, map[string]any{"in": in}, &out)
		s.comps[c[0]] = out.SaveStatusComponent.ID
	}
	return s
}

func get(t *testing.T, e *apitest.Env, path, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func openIncident(t *testing.T, e *apitest.Env, s *site, in map[string]any) string {
	t.Helper()
	in["pageId"] = s.pageID
	var out struct{ CreateStatusIncident struct{ ID, State string } }
	e.MustDo(t, s.Token, `mutation($in: StatusIncidentInput!) { createStatusIncident(input: $in) { id state } }`, map[string]any{"in": in}, &out)
	return out.CreateStatusIncident.ID
}

// TestPagesShowOnlyWhatEditorsChose: two sites with the same fixture
// configuration, distinct outputs and their own pages. Site A's page (and
// feed) shows A's component names, incident and statuses, and none of: A's
// check and host names, any check output, anything of site B; and the
// other way round. A page of a site that does not have it is 404.
func TestPagesShowOnlyWhatEditorsChose(t *testing.T) {
	e := apitest.Start(t, apitest.Options{StatusPages: statuspage.Options{Rate: -1}})
	a := newSite(t, e, "alpha", [][2]string{{"Storefront", "web1/http"}, {"Web tier", "group:web"}})
	b := newSite(t, e, "bravo", [][2]string{{"Bravo Ledger API", "web1/http"}})
	e.Submit(t, a.Token, a.ids["web1/http"], "CRITICAL", "alpha-private-output: password=hunter2 on 10.1.2.3")
	e.Submit(t, a.Token, a.ids["web1"], "OK", "alpha-host-output ping ok")
	e.Submit(t, a.Token, a.ids["web2"], "CRITICAL", "alpha-host-output unreachable")
	e.Submit(t, b.Token, b.ids["web1/http"], "OK", "bravo-private-output: token=s3cr3t")
	openIncident(t, e, a, map[string]any{"kind": "incident", "title": "Checkout errors", "impact": "major", "body": "We are looking into failed payments.",
		"components": []string{a.comps["Storefront"]}})
	openIncident(t, e, b, map[string]any{"kind": "incident", "title": "Bravo ledger delays", "body": "Bravo is investigating."})

	private := []string{"private-output", "hunter2", "10.1.2.3", "host-output", "s3cr3t", "web1", "web2", "disk", "dummy", "192.0.2"}
	pages := map[string][]string{ // path -> what must show
		"/status/alpha/public":           {"Alpha Cloud", "Storefront", "Web tier", "Checkout errors", "We are looking into failed payments.", "Major outage", "Partial outage"},
		"/status/alpha/public/feed.atom": {"Checkout errors", "We are looking into failed payments."},
		"/status/bravo/public":           {"Bravo Cloud", "Bravo Ledger API", "Bravo ledger delays", "Operational"},
		"/status/bravo/public/feed.atom": {"Bravo ledger delays"},
	}
	for path, want := range pages {
		code, body := get(t, e, path, "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: %q missing", path, w)
			}
		}
		leaks := private
		if strings.HasPrefix(path, "/status/alpha/") {
			leaks = append(leaks, "bravo", "Bravo")
		} else {
			leaks = append(leaks, "alpha", "Alpha", "Storefront", "Checkout")
		}
		for _, l := range leaks {
			if strings.Contains(body, l) {
				t.Errorf("GET %s shows %q:\n%s", path, l, body)
			}
		}
	}
	for _, path := range []string{"/status/alpha/nope", "/status/nosuchsite/public", "/status/alpha/public/../../bravo/public/x"} {
		if code, _ := get(t, e, path, ""); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
	// Site B's editors cannot reach A's page, component or incident.
	r := e.Do(t, b.Token, `query($id: ID!) { statusPage(id: $id) { title } }`, map[string]any{"id": a.pageID})
	if r.Code() != "NOT_FOUND" {
		t.Errorf("site B reading A's page: %+v, want NOT_FOUND", r.Errors)
	}
	r = e.Do(t, b.Token, `mutation($in: StatusComponentInput!) { saveStatusComponent(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"pageId": b.pageID, "name": "x", "checkId": a.ids["web1/http"]}})
	if r.Code() != "NOT_FOUND" {
		t.Errorf("site B putting A's check on its page: %+v, want NOT_FOUND", r.Errors)
	}
}

// TestFeedIsAtom: the feed parses as Atom, one entry per incident with its
// updates, newest first, and the incident's state in the title.
func TestFeedIsAtom(t *testing.T) {
	e := apitest.Start(t, apitest.Options{StatusPages: statuspage.Options{Rate: -1, TTL: time.Millisecond}})
	a := newSite(t, e, "feeds", [][2]string{{"API", "web2/http"}})
	id := openIncident(t, e, a, map[string]any{"kind": "incident", "title": "API latency", "body": "Investigating slow responses."})
	e.MustDo(t, a.Token, `mutation($id: ID!) { updateStatusIncident(id: $id, state: "resolved", body: "Fixed by a rollback.") { state resolvedAt } }`,
		map[string]any{"id": id}, nil)
	from := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Hour)
	openIncident(t, e, a, map[string]any{"kind": "maintenance", "title": "Database upgrade", "body": "Planned upgrade.",
		"scheduledFrom": from, "scheduledTo": from.Add(time.Hour)})
	code, body := get(t, e, "/status/feeds/public/feed.atom", "")
	if code != http.StatusOK {
		t.Fatalf("feed: %d %s", code, body)
	}
	var f struct {
		XMLName xml.Name
		Title   string `xml:"title"`
		Entries []struct {
			Title   string `xml:"title"`
			Content string `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("feed is not XML: %v\n%s", err, body)
	}
	if f.XMLName.Space != "http://www.w3.org/2005/Atom" || f.XMLName.Local != "feed" || f.Title != "Feeds Cloud status" || len(f.Entries) != 2 {
		t.Fatalf("feed: %+v", f)
	}
	titles := f.Entries[0].Title + " | " + f.Entries[1].Title
	if !strings.Contains(titles, "Maintenance: Database upgrade [Scheduled]") || !strings.Contains(titles, "API latency [Resolved]") {
		t.Errorf("entry titles %q", titles)
	}
	for _, en := range f.Entries {
		if strings.HasPrefix(en.Title, "API latency") {
			fixed, inv := strings.Index(en.Content, "Fixed by a rollback."), strings.Index(en.Content, "Investigating slow responses.")
			if fixed < 0 || inv < 0 || fixed > inv {
				t.Errorf("updates of API latency, newest first: %q", en.Content)
			}
		}
	}
}

// TestBadIncidentsAreRefusedWhole: a wrong field is INVALID with the field
// named and stores nothing.
func TestBadIncidentsAreRefusedWhole(t *testing.T) {
	e := apitest.Start(t, apitest.Options{StatusPages: statuspage.Options{Rate: -1}})
	a := newSite(t, e, "strict", nil)
	cases := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"kind": "outage", "title": "x", "body": "y"}, `kind "outage": want incident or maintenance`},
		{map[string]any{"kind": "incident", "title": "x", "body": "y", "state": "fixed"}, `state "fixed": want one of investigating, identified, monitoring, resolved`},
		{map[string]any{"kind": "incident", "title": "x", "body": "y", "impact": "huge"}, `impact "huge"`},
		{map[string]any{"kind": "maintenance", "title": "x", "body": "y"}, "scheduledFrom and scheduledTo are required"},
		{map[string]any{"kind": "incident", "title": "x", "body": " "}, "body is empty"},
	}
	for _, c := range cases {
		c.in["pageId"] = a.pageID
		r := e.Do(t, a.Token, `mutation($in: StatusIncidentInput!) { createStatusIncident(input: $in) { id } }`, map[string]any{"in": c.in})
		if r.Code() != "INVALID" || !strings.Contains(r.Errors[0].Message, c.want) {
			t.Errorf("%v: %+v, want INVALID with %q", c.in, r.Errors, c.want)
		}
	}
	r := e.Do(t, a.Token, `mutation($in: StatusPageInput!) { saveStatusPage(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"slug": "Bad Slug", "title": "x"}})
	if r.Code() != "INVALID" || !strings.Contains(r.Errors[0].Message, `slug "Bad Slug"`) {
		t.Errorf("bad slug: %+v", r.Errors)
	}
	var out struct {
		StatusPage struct{ Incidents []struct{ ID string } }
	}
	e.MustDo(t, a.Token, `query($id: ID!) { statusPage(id: $id) { incidents { id } } }`, map[string]any{"id": a.pageID}, &out)
	if len(out.StatusPage.Incidents) != 0 {
		t.Errorf("refused incidents left %d behind", len(out.StatusPage.Incidents))
	}
	e.Invite(t, a.Token, "viewer@strict.example", "Correct-horse-9", "VIEWER")
	var login struct{ Login struct{ Token string } }
	e.MustDo(t, "", `mutation { login(site: "strict", email: "viewer@strict.example", password: "Correct-horse-9") { token } }`, nil, &login)
	viewer := login.Login.Token
	r = e.Do(t, viewer, `mutation($in: StatusIncidentInput!) { createStatusIncident(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"pageId": a.pageID, "kind": "incident", "title": "x", "body": "y"}})
	if r.Code() != "FORBIDDEN" {
		t.Errorf("a viewer opening an incident: %+v, want FORBIDDEN", r.Errors)
	}
}

// clock is a settable clock for the cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countPageReads counts the statements that read a status page by slug:
// one per computation.
type countPageReads struct{ n atomic.Int64 }

func (c *countPageReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "FROM status_pages WHERE slug") {
		c.n.Add(1)
	}
	return ctx
}

func (c *countPageReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestCacheComputesOncePerTTL: 200 concurrent requests compute the page
// once; a state change is not shown while the page is fresh, and is once
// the TTL has passed.
func TestCacheComputesOncePerTTL(t *testing.T) {
	clk := &clock{now: time.Now()}
	reads := &countPageReads{}
	e := apitest.Start(t, apitest.Options{Tracer: reads, StatusPages: statuspage.Options{Rate: -1, TTL: 10 * time.Second, Now: clk.Now}})
	a := newSite(t, e, "cached", [][2]string{{"Shop", "web2/http"}})
	e.Submit(t, a.Token, a.ids["web2/http"], "OK", "fine")
	reads.n.Store(0)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if code, body := get(t, e, "/status/cached/public", ""); code != http.StatusOK || !strings.Contains(body, `data-condition="operational"`) {
				t.Errorf("concurrent GET: %d", code)
			}
		})
	}
	wg.Wait()
	if n := reads.n.Load(); n != 1 {
		t.Errorf("200 concurrent requests computed the page %d times, want 1", n)
	}
	e.Submit(t, a.Token, a.ids["web2/http"], "CRITICAL", "down")
	clk.Add(9 * time.Second)
	if _, body := get(t, e, "/status/cached/public", ""); !strings.Contains(body, `data-condition="operational"`) {
		t.Errorf("within the TTL the page changed already")
	}
	clk.Add(time.Second)
	if _, body := get(t, e, "/status/cached/public", ""); !strings.Contains(body, `data-condition="major_outage"`) {
		t.Errorf("after the TTL the page does not show the outage")
	}
	if n := reads.n.Load(); n != 2 {
		t.Errorf("page computed %d times, want 2", n)
	}
}

// TestStatusChangeShowsWithinTheDocumentedInterval: with the default TTL
// and the real clock, an outage shows on the page within DefaultTTL of
// its result (plus a margin for a loaded machine).
func TestStatusChangeShowsWithinTheDocumentedInterval(t *testing.T) {
	e := apitest.Start(t, apitest.Options{StatusPages: statuspage.Options{Rate: -1}})
	a := newSite(t, e, "timely", [][2]string{{"Shop", "web2/http"}})
	e.Submit(t, a.Token, a.ids["web2/http"], "OK", "fine")
	if _, body := get(t, e, "/status/timely/public", ""); !strings.Contains(body, `data-condition="operational"`) {
		t.Fatalf("page before the outage:\n%s", body)
	}
	start := time.Now()
	e.Submit(t, a.Token, a.ids["web2/http"], "CRITICAL", "down")
	apitest.Eventually(t, statuspage.DefaultTTL+10*time.Second, "the outage on the status page", func() bool {
		_, body := get(t, e, "/status/timely/public", "")
		return strings.Contains(body, `data-condition="major_outage"`)
	})
	t.Logf("outage shown %v after the result was submitted (TTL %v)", time.Since(start).Round(time.Millisecond), statuspage.DefaultTTL)
}

// TestRateLimitPerAddress: beyond its burst an address gets 429 with
// Retry-After.
func TestRateLimitPerAddress(t *testing.T) {
	e := apitest.Start(t, apitest.Options{StatusPages: statuspage.Options{Rate: 0.001, Burst: 5}})
	newSite(t, e, "limited", nil)
	for i := range 5 {
		if code, _ := get(t, e, "/status/limited/public", ""); code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	resp, err := http.Get(e.URL + "/status/limited/public")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("6th request: %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _ := get(t, e, "/healthz", ""); code != http.StatusOK {
		t.Errorf("the limit reached beyond status pages: /healthz %d", code)
	}
}

// TestPageOnItsOwnHostName: a page with a domain is served at that host's
// root (and its feed at /feed.atom); other hosts get the usual routes; a
// domain cannot serve two pages.
func TestPageOnItsOwnHostName(t *testing.T) {
	e := apitest.Start(t, apitest.Options{StatusPages: statuspage.Options{Rate: -1}})
	a := newSite(t, e, "hosted", [][2]string{{"Shop", "web2/http"}})
	b := newSite(t, e, "other", nil)
	e.MustDo(t, a.Token, `mutation($in: StatusPageInput!) { saveStatusPage(input: $in) { domain } }`,
		map[string]any{"in": map[string]any{"id": a.pageID, "slug": "public", "title": "Hosted Cloud", "domain": "Status.Hosted.Example."}}, nil)
	code, body := get(t, e, "/", "status.hosted.example:8080")
	if code != http.StatusOK || !strings.Contains(body, "Hosted Cloud") || !strings.Contains(body, "Shop") {
		t.Fatalf("GET / on status.hosted.example: %d\n%s", code, body)
	}
	if code, body := get(t, e, "/feed.atom", "status.hosted.example"); code != http.StatusOK || !strings.Contains(body, "http://status.hosted.example/feed.atom") {
		t.Errorf("feed on the page's host: %d\n%s", code, body)
	}
	if _, body := get(t, e, "/", "unclaimed.example"); strings.Contains(body, "Hosted Cloud") {
		t.Errorf("an unclaimed host shows the page")
	}
	r := e.Do(t, b.Token, `mutation($in: StatusPageInput!) { saveStatusPage(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"id": b.pageID, "slug": "public", "title": "Other", "domain": "status.hosted.example"}})
	if r.Code() != "CONFLICT" || !strings.Contains(r.Errors[0].Message, "already serves another status page") {
		t.Errorf("a second page on the same domain: %+v, want CONFLICT", r.Errors)
	}
}
