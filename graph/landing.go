package graph

import (
	"net/http"
	"strings"

	"github.com/gorilla/websocket"
)

// DocsURL is where the landing page of /graphql points for documentation
// (the API section of Bergamot's README).
const DocsURL = "https://github.com/bergamot-monitoring/bergamot#api"

// landingPage is the answer to a browser's GET /graphql without a query.
const landingPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bergamot GraphQL API</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
pre{background:#f4f4f4;padding:1rem;overflow-x:auto}</style></head>
<body>
<h1>Bergamot GraphQL API</h1>
<p>This is Bergamot's GraphQL endpoint. Send queries and mutations as <code>POST</code> with a JSON body
(or <code>GET /graphql?query=...</code>); subscriptions use WebSocket (<code>graphql-transport-ws</code> or <code>graphql-ws</code>).
Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> (create one with <code>bergamot token create</code>) or the dashboard's session.</p>
<pre>curl -s http://HOST/graphql -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"query":"{ checks(filter:{problems:true}) { totalCount nodes { name state { status output } } } }"}'</pre>
<p>Documentation: <a href="` + DocsURL + `">the API section of the README</a> (the schema is <code>schema.graphqls</code> in the repository);
the JSON REST facade is listed at <a href="/api/v1/">/api/v1/</a>. The dashboard is at <a href="/">/</a>.</p>
</body></html>
`

// withLandingPage answers a browser's GET without a query (Accept:
// text/html) with a page explaining the endpoint; every other request,
// including GET with a query and JSON clients, goes to next unchanged.
func withLandingPage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if (req.Method == http.MethodGet || req.Method == http.MethodHead) && !req.URL.Query().Has("query") &&
			!req.URL.Query().Has("extensions") && !websocket.IsWebSocketUpgrade(req) &&
			strings.Contains(req.Header.Get("Accept"), "text/html") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write([]byte(landingPage))
			return
		}
		next.ServeHTTP(w, req)
	})
}
