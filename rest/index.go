package rest

// Route is one endpoint of the facade, as GET /api/v1/ lists it.
type Route struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Summary string `json:"summary"`
}

// Index is the answer of GET /api/v1/.
type Index struct {
	API            string  `json:"api"`
	Authentication string  `json:"authentication"`
	GraphQL        string  `json:"graphql"`
	Routes         []Route `json:"routes"`
}

// routeIndex lists the routes registered in New; keep the two in step.
func routeIndex() Index {
	return Index{
		API:            "Bergamot REST facade v1 (the full API is GraphQL at /graphql)",
		Authentication: "Authorization: Bearer <token> (bergamot token create); HTTP basic auth with the token as password for Icinga 2 senders",
		GraphQL:        "/graphql",
		Routes: []Route{
			{"GET", "/api/v1/hosts", "list hosts with their status by name (?search, ?limit (default and max 1000), ?after; Link rel=next when more)"},
			{"GET", "/api/v1/hosts/{name}", "one host with its services"},
			{"GET", "/api/v1/checks/{id}", "one check with its state"},
			{"GET", "/api/v1/alerts", "alerts, newest first (?open=true|false, ?limit (default 100, max 1000), ?after; Link rel=next when more)"},
			{"POST", "/api/v1/checks/{id}/acknowledge", "acknowledge a check's problem"},
			{"POST", "/api/v1/checks/{id}/result", "submit a passive result"},
			{"POST", "/api/v1/config", "apply Bergamot XML configuration"},
			{"GET", "/api/v1/metrics", "the site's checks (status, up, last check, perfdata values) in the Prometheus text format: a scrape target per site"},
			{"GET", "/api/v1/slas.csv", "every SLA measured now, as CSV (docs/reporting.md)"},
			{"GET", "/api/v1/slas/{id}/report", "one SLA's printable report (HTML) with its incidents"},
			{"POST", "/v1/actions/process-check-result", "Icinga 2 compatible passive result"},
		},
	}
}
