package frontend

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestHandlerServesIndexForClientRoutes(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/index.html", "/checks", "/check/abc/def", "/../../etc/passwd"} {
		rec := get(t, h, http.MethodGet, p)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", p, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), `<div id="app">`) {
			t.Fatalf("%s: not the dashboard's index.html: %.200s", p, rec.Body.String())
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Fatalf("%s: Cache-Control %q, want no-cache", p, got)
		}
	}
}

func TestHandlerCachesHashedAssets(t *testing.T) {
	h := Handler()
	sub, err := fs.Sub(distFS, "dist")
	if err != nil {
		t.Fatal(err)
	}
	assets, err := fs.ReadDir(sub, "assets")
	if err != nil || len(assets) == 0 {
		t.Fatalf("dist/assets is empty (%v): build the dashboard first", err)
	}
	var sawJS bool
	for _, a := range assets {
		rec := get(t, h, http.MethodGet, "/assets/"+a.Name())
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", a.Name(), rec.Code)
		}
		if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Fatalf("%s: Cache-Control %q, want a long immutable cache", a.Name(), got)
		}
		if strings.HasSuffix(a.Name(), ".js") {
			sawJS = true
			if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
				t.Fatalf("%s: Content-Type %q", a.Name(), ct)
			}
		}
	}
	if !sawJS {
		t.Fatal("no JavaScript bundle in dist/assets")
	}
}

func TestHandlerMissingAssetIs404(t *testing.T) {
	rec := get(t, Handler(), http.MethodGet, "/assets/nope-123.js")
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404 (a missing asset must not get index.html)", rec.Code)
	}
}

func TestHandlerRejectsPost(t *testing.T) {
	rec := get(t, Handler(), http.MethodPost, "/")
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("status %d, want 405", rec.Code)
	}
}
