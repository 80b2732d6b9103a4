package graph_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// TestGraphQLLandingPage: a browser opening /graphql gets a page saying what
// the endpoint is and how to use it; GET with a query and JSON clients
// without one are answered as before.
func TestGraphQLLandingPage(t *testing.T) {
	env := apitest.Start(t, apitest.Options{})
	site := env.SignUp(t, "landing")
	get := func(path, accept, token string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, env.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := env.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	resp, body := get("/graphql", browser, "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("browser GET /graphql: %d %s, want 200 text/html\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, want := range []string{"Bergamot's GraphQL endpoint", "curl", "POST", "Authorization: Bearer", `href="https://github.com/bergamot-monitoring/bergamot#api"`} {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q:\n%s", want, body)
		}
	}

	// A JSON client without a query still gets GraphQL's JSON error.
	resp, body = get("/graphql", "application/json", "")
	if resp.StatusCode == http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "json") || !strings.Contains(body, "errors") {
		t.Errorf("JSON GET without query: %d %s %s, want a JSON error", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// GET with a query works, from a browser too.
	resp, body = get("/graphql?query="+url.QueryEscape("{ __typename }"), browser, site.Token)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"__typename":"Query"`) {
		t.Errorf("GET with query: %d %s", resp.StatusCode, body)
	}
}
