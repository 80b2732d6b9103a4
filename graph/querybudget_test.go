package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/metrics"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// wideSite is a site of hosts × services dummy checks.
func wideSite(site string, hosts, services int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<bergamot site=%q>`, site)
	for h := range hosts {
		fmt.Fprintf(&b, `<host name="h%d" address="192.0.2.%d"><check-command command="dummy-ok"/><schedule every="1h"/>`, h, h+1)
		for s := range services {
			fmt.Fprintf(&b, `<service name="s%d"><check-command command="dummy-ok"/><schedule every="1h"/></service>`, s)
		}
		b.WriteString(`</host>`)
	}
	b.WriteString(`</bergamot>`)
	return b.String()
}

// Lists without a page size (a host's services) cannot be sized by the
// cost estimate. Nested, they made a query that passed the estimate read
// every service once per service of its host (issue 19 item 4: four
// levels took over 60 s and 2.3 GB). The query-rows limit counts what a
// query really reads: alpha's lowered limit stops the query with an error
// naming it, bravo's identical query (default limit) runs.
func TestQueryRowsCountsWhatIsRead(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a, b := e.SignUp(t, "alpha"), e.SignUp(t, "bravo")
	e.Apply(t, a.Token, wideSite("alpha", 20, 20))
	e.Apply(t, b.Token, wideSite("bravo", 20, 20))
	if err := e.Resolver.Limits.Set(t.Context(), uuid.MustParse(a.ID), tenants.LimitQueryRows, 2000); err != nil {
		t.Fatal(err)
	}
	// 20 hosts + 400 services + 400 × 20 services again = 8,420 objects,
	// at a cost estimate far below the query-cost limit.
	const q = `{ hosts { name services { name host { services { name } } } } }`
	r := e.Do(t, a.Token, q, nil)
	if len(r.Errors) == 0 || r.Code() != "INVALID" || !strings.Contains(r.Errors[0].Message, "more than 2000 objects (limit query-rows)") {
		t.Fatalf("alpha over its query-rows: %+v", r.Errors)
	}
	var out struct {
		Hosts []struct {
			Services []struct {
				Host struct{ Services []struct{ Name string } }
			}
		}
	}
	e.MustDo(t, b.Token, q, nil, &out)
	n := 0
	for _, h := range out.Hosts {
		for _, s := range h.Services {
			n += len(s.Host.Services)
		}
	}
	if n != 8000 {
		t.Fatalf("bravo's query read %d nested services, want 8000", n)
	}
	// A normal page is untouched by alpha's limit.
	e.MustDo(t, a.Token, `{ hosts(first: 5) { name services { name } } }`, nil, nil)
}

// A query that would run for minutes is stopped by the site's
// query-seconds limit, and stops when its caller disconnects instead of
// running on for nobody.
func TestQueryStopsOnTimeLimitAndWhenTheClientGoes(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	e.Apply(t, a.Token, wideSite("alpha", 20, 20))
	site := uuid.MustParse(a.ID)
	if err := e.Resolver.Limits.Set(t.Context(), site, tenants.LimitQueryRows, 1<<40); err != nil {
		t.Fatal(err)
	}
	// Five levels: 20 × 20^4 ... = millions of objects.
	const q = `{ hosts { services { host { services { host { services { host { services { host { services { name } } } } } } } } } } }`
	if err := e.Resolver.Limits.Set(t.Context(), site, tenants.LimitQuerySeconds, 2); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.Do(t, a.Token, q, nil)
	took := time.Since(start)
	if len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "limit (query-seconds)") {
		t.Fatalf("after %s: %+v", took, r.Errors)
	}
	if took > 20*time.Second {
		t.Fatalf("the query-seconds limit of 2 s answered after %s", took)
	}
	t.Logf("stopped by query-seconds after %s", took)

	// The caller leaves after half a second; the server stops reading.
	if err := e.Resolver.Limits.Set(t.Context(), site, tenants.LimitQuerySeconds, 600); err != nil {
		t.Fatal(err)
	}
	gone := counter(t, "bergamot_graphql_stopped_total", `reason="client_gone"`)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"query": q})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the query answered within 0.5 s (%s): make it bigger", resp.Status)
	}
	deadline := time.Now().Add(15 * time.Second)
	for counter(t, "bergamot_graphql_stopped_total", `reason="client_gone"`) == gone {
		if time.Now().After(deadline) {
			t.Fatal("the server still runs the query 15 s after its caller left")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And nothing more is read for it.
	rows := counter(t, "bergamot_graphql_rows_total", "")
	time.Sleep(time.Second)
	if after := counter(t, "bergamot_graphql_rows_total", ""); after != rows {
		t.Fatalf("%v more objects read after the query stopped", after-rows)
	}
}

// counter reads a series of this process's metrics registry; labels is a
// fragment of its label set ("" for a series without labels).
func counter(t *testing.T, name, labels string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if strings.Contains(strings.Join(ls, ","), labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{%s}", name, labels)
	return 0
}

// A browser that still holds the cookie of a session that ended (signed
// out elsewhere) can sign in again: the stale cookie signs nobody in, so
// the anti-forgery rule does not ask for its token. A live cookie still
// needs it.
func TestSignInWithAStaleCookie(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "alpha")
	post := func(cookie, query string) (int, string, []*http.Cookie) {
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", e.URL)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "bergamot_session", Value: cookie})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String(), resp.Cookies()
	}
	login := `mutation { login(site: "alpha", email: "` + a.Email + `", password: "` + a.Password + `") { token } }`
	code, body, cookies := post("", login)
	if code != 200 || len(cookies) == 0 {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	session := cookies[0].Value
	// A live session cookie without the token is refused.
	if code, body, _ := post(session, `mutation { logout }`); code != http.StatusForbidden {
		t.Fatalf("live cookie without its token: %d %s", code, body)
	}
	// The session ends elsewhere ("sign out everywhere").
	e.MustDo(t, a.Token, `mutation { signOutEverywhere }`, nil, nil)
	if code, body, _ := post(session, login); code != 200 || !strings.Contains(body, `"token"`) {
		t.Fatalf("sign-in with a stale cookie: %d %s", code, body)
	}
}
