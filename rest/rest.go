// Package rest is Bergamot's JSON REST facade for legacy clients
// (/api/v1/...), including Icinga 2's process-check-result action so
// existing passive-result senders work unchanged.
package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/graph"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// API serves the facade.
type API struct {
	res *graph.Resolver
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the REST handler, sharing the GraphQL resolver's dependencies
// and validation.
func New(res *graph.Resolver, log *slog.Logger) *API {
	a := &API{res: res, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/v1/hosts", a.auth(a.hosts))
	a.mux.HandleFunc("GET /api/v1/hosts/{name}", a.auth(a.host))
	a.mux.HandleFunc("GET /api/v1/checks/{id}", a.auth(a.check))
	a.mux.HandleFunc("GET /api/v1/alerts", a.auth(a.alerts))
	a.mux.HandleFunc("POST /api/v1/checks/{id}/acknowledge", a.auth(a.acknowledge))
	a.mux.HandleFunc("POST /api/v1/checks/{id}/result", a.auth(a.result))
	a.mux.HandleFunc("POST /api/v1/config", a.auth(a.config))
	a.mux.HandleFunc("GET /api/v1/slas.csv", a.auth(a.slasCSV))
	a.mux.HandleFunc("GET /api/v1/metrics", a.auth(a.siteMetrics))
	a.mux.HandleFunc("GET /api/v1/slas/{id}/report", a.auth(a.slaReportHTML))
	a.mux.HandleFunc("POST /v1/actions/process-check-result", a.auth(a.icingaResult))
	a.mux.HandleFunc("GET /api/v1/{$}", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, routeIndex())
	})
	a.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, errs.E(errs.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, graph.MaxBodyBytes)
	a.mux.ServeHTTP(w, r)
}

var statusCodes = map[errs.Kind]int{
	errs.Invalid: 400, errs.NotFound: 404, errs.Forbidden: 403, errs.Unauthenticated: 401, errs.Conflict: 409, errs.Transient: 503, errs.Internal: 500,
}

func writeErr(w http.ResponseWriter, err error) {
	k := errs.KindOf(err)
	msg := err.Error()
	if k == errs.Internal {
		msg = "internal error (logged on the server)"
	}
	writeJSON(w, statusCodes[k], map[string]any{"error": map[string]string{"code": k.Code(), "message": msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *API) auth(h func(ctx context.Context, w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if _, pw, ok := r.BasicAuth(); ok {
			// Icinga 2 senders use HTTP basic auth: the password is a Bergamot API token.
			secret = pw
		}
		if secret == "" {
			if c, err := r.Cookie(graph.SessionCookie); err == nil {
				secret = c.Value
			}
		}
		if secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bergamot", Basic realm="bergamot"`)
			writeErr(w, errs.E(errs.Unauthenticated, "send an API token: Authorization: Bearer <token>"))
			return
		}
		ctx := tenants.WithClientAddr(r.Context(), r.RemoteAddr)
		p, err := a.res.Tenants.Authenticate(ctx, secret)
		if err != nil {
			writeErr(w, err)
			return
		}
		ctx = tenants.WithPrincipal(ctx, p)
		switch {
		case p.MustChangePassword:
			err = errs.E(errs.Forbidden, "%s", tenants.MustChangePasswordMessage)
		case p.MustEnrolSecondFactor:
			err = errs.E(errs.Forbidden, "%s", tenants.MustEnrolMessage)
		default:
			err = h(ctx, w, r)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			a.audit(ctx, r, err)
		}
		if err != nil {
			if errs.KindOf(err) == errs.Internal {
				a.log.ErrorContext(r.Context(), "REST request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
			}
			writeErr(w, err)
		}
	}
}

// audit records a state-changing REST request in the site's audit log.
func (a *API) audit(ctx context.Context, r *http.Request, err error) {
	e := tenants.AuditEntry{Action: "rest:" + r.Method + " " + r.URL.Path, Target: r.PathValue("id")}
	if err != nil {
		e.Outcome, e.Detail = tenants.AuditFailed, map[string]any{"error": err.Error()}
		if k := errs.KindOf(err); k == errs.Forbidden || k == errs.Unauthenticated {
			e.Outcome = tenants.AuditDenied
		}
		if errs.KindOf(err) == errs.Internal {
			e.Detail["error"] = "internal error"
		}
	}
	if err := a.res.Tenants.RecordAudit(ctx, e); err != nil {
		a.log.ErrorContext(ctx, "writing the audit log failed", slog.String("action", e.Action), slog.Any("error", err))
	}
}

// read runs fn in a transaction of the caller's site; write does for
// callers whose role may change it. The rule is tenants' (tenants/access.go),
// the same as GraphQL's.
func (a *API) read(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return tenants.ReadSite(ctx, a.res.Pool, fn)
}

func (a *API) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return tenants.EditSite(ctx, a.res.Pool, fn)
}

// checkJSON is a check as the REST facade shows it.
type checkJSON struct {
	ID       string       `json:"id"`
	Kind     string       `json:"kind"`
	Name     string       `json:"name"`
	Host     string       `json:"host,omitempty"`
	Summary  string       `json:"summary,omitempty"`
	Address  string       `json:"address,omitempty"`
	Groups   []string     `json:"groups"`
	State    *stateJSON   `json:"state"`
	Services []*checkJSON `json:"services,omitempty"`
}

func toJSON(r *store.CheckRow) *checkJSON {
	return &checkJSON{ID: r.ID, Kind: strings.ToLower(string(r.Kind)), Name: r.Name, Host: r.ParentName, Summary: r.Summary, Address: r.Address, Groups: nonNil(r.Groups), State: stateOf(r.State)}
}

// pageParams reads a list's ?limit (the page size, default and maximum
// those of the GraphQL field) and ?after (the cursor of the Link header).
func pageParams(r *http.Request, size store.PageSize) (limit int, after string, err error) {
	q := r.URL.Query()
	limit = size.Default
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > size.Max {
			return 0, "", errs.E(errs.Invalid, "limit must be a whole number between 1 and %d, not %q", size.Max, s)
		}
	}
	return limit, q.Get("after"), nil
}

// linkNext sets the RFC 8288 Link header to the next page: this request's
// path and query with after set to cursor.
func linkNext(w http.ResponseWriter, r *http.Request, cursor string) {
	q := r.URL.Query()
	q.Set("after", cursor)
	next := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Link", "<"+next.String()+`>; rel="next"`)
}

func (a *API) hosts(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	limit, after, err := pageParams(r, store.HostsPage)
	if err != nil {
		return err
	}
	var out []*checkJSON
	var more bool
	var last string
	err = a.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var rows []*store.CheckRow
		var err error
		rows, more, err = store.Hosts(ctx, tx, r.URL.Query().Get("search"), limit, after)
		for _, row := range rows {
			out = append(out, toJSON(row))
			last = (&store.Host{CheckRow: *row}).Cursor()
		}
		return err
	})
	if err != nil {
		return err
	}
	if more {
		linkNext(w, r, last)
	}
	writeJSON(w, 200, map[string]any{"hosts": nonNil(out)})
	return nil
}

func (a *API) host(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var out *checkJSON
	err := a.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		h, err := store.HostByName(ctx, tx, r.PathValue("name"))
		if err != nil {
			return err
		}
		out = toJSON(h)
		id, _ := store.ParseID(h.ID)
		svcs, err := store.Children(ctx, tx, []uuidT{id}, "service")
		for _, s := range svcs {
			out.Services = append(out.Services, toJSON(s))
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, 200, out)
	return nil
}

func (a *API) check(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var out *checkJSON
	err := a.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		c, err := store.CheckByID(ctx, tx, r.PathValue("id"))
		if err == nil {
			out = toJSON(c)
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, 200, out)
	return nil
}

func (a *API) alerts(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var open *bool
	switch r.URL.Query().Get("open") {
	case "true", "1", "yes":
		t := true
		open = &t
	case "false", "0", "no":
		f := false
		open = &f
	case "":
	default:
		return errs.E(errs.Invalid, "open must be true or false (or left out for all alerts), not %q", r.URL.Query().Get("open"))
	}
	limit, after, err := pageParams(r, store.AlertsPage)
	if err != nil {
		return err
	}
	var out []*alertJSON
	var more bool
	var last string
	err = a.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var rows []*store.Alert
		var err error
		rows, more, err = store.Alerts(ctx, tx, open, "", limit, after)
		for _, r := range rows {
			out = append(out, alertOf(r))
			last = r.Cursor()
		}
		return err
	})
	if err != nil {
		return err
	}
	if more {
		linkNext(w, r, last)
	}
	writeJSON(w, 200, map[string]any{"alerts": nonNil(out)})
	return nil
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errs.E(errs.Invalid, "request body is larger than %d bytes", mbe.Limit)
		}
		return errs.E(errs.Invalid, "request body is not the JSON expected: %v", err)
	}
	return nil
}

func (a *API) acknowledge(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Comment string `json:"comment"`
		Sticky  bool   `json:"sticky"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	p, _ := tenants.PrincipalFrom(ctx)
	var alert *store.Alert
	err := a.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		alert, err = store.Acknowledge(ctx, tx, r.PathValue("id"), p.User.Email, body.Comment, body.Sticky)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"acknowledged": true, "alert": alertOf(alert)})
	return nil
}

func (a *API) result(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Status string `json:"status"`
		Output string `json:"output"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	st, err := checks.ParseStatus(body.Status)
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "status")
	}
	p, _ := tenants.PrincipalFrom(ctx)
	err = a.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return store.SubmitResult(ctx, tx, r.PathValue("id"), st, body.Output, "passive:"+p.User.Email)
	})
	if err != nil {
		return err
	}
	writeJSON(w, 202, map[string]any{"accepted": true})
	return nil
}

func (a *API) config(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	// The role is checked before the body is read: parsing is not free.
	dryRun := r.URL.Query().Get("dryRun") == "true"
	if p, err := tenants.PrincipalFrom(ctx); err != nil {
		return err
	} else if !dryRun && !p.Role.CanEdit() {
		return errs.E(errs.Forbidden, "your role (%s) cannot change this site", p.Role)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return errs.E(errs.Invalid, "reading body: %v", err)
	}
	res, err := a.res.ApplyXML(ctx, string(body), dryRun)
	if err != nil {
		return err
	}
	code := 200
	if !res.OK {
		code = 422
	}
	writeJSON(w, code, graph.ConfigResultOf(res))
	return nil
}

var icingaFilterRE = regexp.MustCompile(`^\s*host\.name\s*==\s*"([^"]*)"\s*(?:&&\s*service\.name\s*==\s*"([^"]*)"\s*)?$`)

// icingaResult accepts Icinga 2's POST /v1/actions/process-check-result body.
func (a *API) icingaResult(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Type            string   `json:"type"`
		Filter          string   `json:"filter"`
		Host            string   `json:"host"`
		Service         string   `json:"service"`
		ExitStatus      *float64 `json:"exit_status"`
		PluginOutput    string   `json:"plugin_output"`
		PerformanceData any      `json:"performance_data"`
		CheckCommand    any      `json:"check_command"`
		CheckSource     string   `json:"check_source"`
		ExecutionStart  *float64 `json:"execution_start"`
		ExecutionEnd    *float64 `json:"execution_end"`
		TTL             *float64 `json:"ttl"`
		Pretty          bool     `json:"pretty"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.ExitStatus == nil {
		return errs.E(errs.Invalid, "exit_status is required")
	}
	// Icinga 2 also takes the object from the URL: ?host=h or ?service=h!s.
	if q := r.URL.Query(); body.Host == "" && body.Service == "" && body.Filter == "" {
		body.Host, body.Service = q.Get("host"), q.Get("service")
		if body.Filter == "" {
			body.Filter = q.Get("filter")
		}
	}
	host, service := body.Host, ""
	if body.Service != "" {
		host, service, _ = strings.Cut(body.Service, "!")
	}
	if body.Filter != "" {
		m := icingaFilterRE.FindStringSubmatch(body.Filter)
		if m == nil {
			return errs.E(errs.Invalid, `filter %q is not supported: use host.name=="h" [&& service.name=="s"], or "host"/"service" fields`, body.Filter)
		}
		host, service = m[1], m[2]
	}
	if host == "" {
		return errs.E(errs.Invalid, `name the object: "host": "h", "service": "h!s", or a filter`)
	}
	isService := strings.EqualFold(body.Type, "Service") || service != ""
	if isService && service == "" {
		return errs.E(errs.Invalid, `type Service needs the service: "service": "host!service" or service.name=="s" in the filter`)
	}
	if strings.EqualFold(body.Type, "Host") && service != "" {
		return errs.E(errs.Invalid, "type Host does not take a service (%q)", service)
	}
	code := int(*body.ExitStatus)
	var st checks.Status
	if isService {
		st, _ = checks.FromNagiosExit(code)
		if code < 0 || code > 3 {
			return errs.E(errs.Invalid, "exit_status %d is not 0-3", code)
		}
	} else {
		switch code {
		case 0:
			st = checks.StatusOK
		case 1:
			st = checks.StatusCritical
		default:
			return errs.E(errs.Invalid, "host exit_status must be 0 (UP) or 1 (DOWN), not %d", code)
		}
	}
	output := body.PluginOutput
	switch pd := body.PerformanceData.(type) {
	case string:
		output += "|" + pd
	case []any:
		var parts []string
		for _, p := range pd {
			if s, ok := p.(string); ok {
				parts = append(parts, s)
			}
		}
		if len(parts) > 0 {
			output += "|" + strings.Join(parts, " ")
		}
	}
	source := "icinga2-api"
	if body.CheckSource != "" {
		source = body.CheckSource
	}
	var id string
	err := a.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		id, err = store.SubmitResultByName(ctx, tx, host, service, st, output, source)
		return err
	})
	if err != nil {
		return err
	}
	name := host
	if service != "" {
		name += "!" + service
	}
	writeJSON(w, 200, map[string]any{"results": []map[string]any{{"code": 200, "status": "Successfully processed check result for object '" + name + "'.", "check_id": id}}})
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
