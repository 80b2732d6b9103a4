// Package frontend serves Bergamot's web dashboard, built from this
// directory's TypeScript sources (npm ci && npm run build) into dist/,
// which is committed so that a Go build needs no Node.js.
package frontend

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var distFS embed.FS

// Handler serves the single-page dashboard. Files under /assets/ have
// content-hashed names and are cached for a year; any other path that is
// not a file gets index.html (no-cache), so client-side routes load the app.
// Mount it at "/" after the API routes.
func Handler() http.Handler {
	sub, err := fs.Sub(distFS, "dist")
	if err != nil {
		panic("frontend: dist missing from embed: " + err.Error()) // cannot happen: fixed at compile time
	}
	return handler{files: sub, server: http.FileServerFS(sub)}
}

type handler struct {
	files  fs.FS
	server http.Handler
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if strings.HasPrefix(name, "assets/") {
		if !h.isFile(name) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		h.server.ServeHTTP(w, r)
		return
	}
	if name != "" && name != "index.html" && h.isFile(name) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.server.ServeHTTP(w, r)
		return
	}
	h.serveIndex(w, r)
}

func (h handler) isFile(name string) bool {
	st, err := fs.Stat(h.files, name)
	return err == nil && !st.IsDir()
}

func (h handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	body, err := fs.ReadFile(h.files, "index.html")
	if err != nil {
		http.Error(w, "dashboard not built: run `make frontend` (npm ci && npm run build in frontend/)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Frame-Options", "DENY")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
