package rest_test

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// TestIndex: GET /api/v1/ lists the facade's routes, and every route it
// lists is served (answers something other than "no such endpoint").
func TestIndex(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	f := &fixture{e: e, a: e.SignUp(t, "alpha")}
	var idx struct {
		GraphQL string
		Routes  []struct{ Method, Path, Summary string }
	}
	if code := f.call(t, "GET", "/api/v1/", "", nil, &idx); code != 200 {
		t.Fatalf("GET /api/v1/ = %d, want 200", code)
	}
	if idx.GraphQL != "/graphql" || len(idx.Routes) < 8 {
		t.Fatalf("index = %+v", idx)
	}
	seen := map[string]bool{}
	for _, r := range idx.Routes {
		seen[r.Method+" "+r.Path] = true
		if r.Summary == "" {
			t.Errorf("%s %s has no summary", r.Method, r.Path)
		}
		path := strings.NewReplacer("{name}", "nope", "{id}", "00000000-0000-0000-0000-000000000000").Replace(r.Path)
		if strings.HasSuffix(path, ".csv") || strings.HasSuffix(path, "/report") || strings.HasSuffix(path, "/metrics") { // not JSON
			if _, body := f.e.HTTP(t, r.Method, path, f.a.Token, "", nil); strings.Contains(string(body), "no such endpoint") {
				t.Errorf("listed route %s %s is not served: %s", r.Method, r.Path, body)
			}
			continue
		}
		var bad apiErr
		f.call(t, r.Method, path, f.a.Token, map[string]any{}, &bad)
		if strings.Contains(bad.Error.Message, "no such endpoint") {
			t.Errorf("listed route %s %s is not served: %s", r.Method, r.Path, bad.Error.Message)
		}
	}
	for _, want := range []string{"GET /api/v1/hosts", "POST /api/v1/config", "POST /v1/actions/process-check-result"} {
		if !seen[want] {
			t.Errorf("index lacks %s", want)
		}
	}
}
