package rest

import (
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/store"
)

// slaCSVHeader names the columns of GET /api/v1/slas.csv (docs/reporting.md).
var slaCSVHeader = []string{"name", "subject_kind", "subject", "target_percent", "period", "time_zone", "from", "to", "measured_at",
	"percent", "met", "eligible_seconds", "up_seconds", "down_seconds", "budget_seconds", "used_seconds", "remaining_seconds",
	"downtime_seconds", "blind_seconds", "pending_seconds"}

func (a *API) readSLAs(ctx context.Context, only string) ([]*store.SLA, error) {
	var out []*store.SLA
	err := a.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = store.SLAs(ctx, tx, time.Now(), only)
		return err
	})
	return out, err
}

// slasCSV writes every agreement of the site, measured now, as CSV.
func (a *API) slasCSV(ctx context.Context, w http.ResponseWriter, _ *http.Request) error {
	slas, err := a.readSLAs(ctx, "")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="slas.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(slaCSVHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, s := range slas {
		r, av := s.Result, s.Availability
		_ = cw.Write([]string{s.Name, s.SubjectKind, s.Subject, f(s.Target), s.Period, s.TimeZone, s.From.Format(time.RFC3339),
			s.To.Format(time.RFC3339), s.MeasuredAt().UTC().Format(time.RFC3339), strconv.FormatFloat(r.Percent, 'f', 4, 64),
			strconv.FormatBool(r.Met), f(r.Eligible), f(r.Up), f(r.Down), f(r.Budget), f(r.Used), f(r.Remaining),
			f(av.Seconds[store.CategoryDowntime]), f(av.Seconds[store.CategoryBlind]), f(av.Seconds[store.CategoryPending])})
	}
	cw.Flush()
	return cw.Error()
}

// slaReport is the printable report of one agreement.
var slaReport = template.Must(template.New("sla").Funcs(template.FuncMap{
	"hours": func(s float64) string { return fmt.Sprintf("%.2f h", s/3600) },
	"pct":   func(v float64) string { return fmt.Sprintf("%.4f%%", v) },
	"when":  func(t time.Time) string { return t.Format("2006-01-02 15:04 MST") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SLA {{.S.Name}}: {{.S.Subject}}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;max-width:50em;margin:2em auto;color:#222}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ccc;padding:.3em .5em;text-align:left}.met{color:#176a21}.missed{color:#a61b1b}@media print{body{margin:0}}</style>
</head><body>
<h1>SLA {{.S.Name}}</h1>
<p>{{.S.SubjectKind}} <strong>{{.S.Subject}}</strong>, target {{pct .S.Target}} over {{.S.Period}} ({{.S.TimeZone}}):
{{when .S.From}} to {{when .S.To}}, measured {{when .S.MeasuredAt}}.</p>
<p class="{{if .S.Result.Met}}met{{else}}missed{{end}}"><strong>{{pct .S.Result.Percent}}</strong>
{{if .S.Result.Met}}meets{{else}}misses{{end}} the target.</p>
<table>
<tr><th>eligible time</th><td>{{hours .S.Result.Eligible}}</td></tr>
<tr><th>up / down</th><td>{{hours .S.Result.Up}} / {{hours .S.Result.Down}}</td></tr>
<tr><th>error budget (whole period)</th><td>{{hours .S.Result.Budget}}</td></tr>
<tr><th>used / remaining</th><td>{{hours .S.Result.Used}} / {{hours .S.Result.Remaining}}</td></tr>
<tr><th>scheduled downtime (counted {{.S.Downtime}})</th><td>{{hours (index .S.Availability.Seconds "DOWNTIME")}}</td></tr>
<tr><th>monitoring blind (counted {{.S.Blind}})</th><td>{{hours (index .S.Availability.Seconds "BLIND")}}</td></tr>
<tr><th>pending (not counted)</th><td>{{hours (index .S.Availability.Seconds "PENDING")}}</td></tr>
</table>
<h2>Incidents</h2>
{{if .Incidents}}<table><tr><th>check</th><th>status</th><th>from</th><th>to</th><th>duration</th><th>output</th></tr>
{{range .Incidents}}<tr><td>{{.Check}}</td><td>{{.Status}}</td><td>{{when .From}}</td><td>{{when .To}}</td><td>{{hours (.To.Sub .From).Seconds}}</td><td>{{.Output}}</td></tr>
{{end}}</table>{{else}}<p>None in this period.</p>{{end}}
</body></html>
`))

// slaReportHTML serves the printable report of one agreement.
func (a *API) slaReportHTML(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := store.ParseID(id); err != nil {
		return err
	}
	var data struct {
		S         *store.SLA
		Incidents []*store.Incident
	}
	err := a.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		slas, err := store.SLAs(ctx, tx, time.Now(), id)
		if err != nil {
			return err
		}
		if len(slas) == 0 {
			return errs.E(errs.NotFound, "no SLA %s", id)
		}
		data.S = slas[0]
		data.Incidents, err = store.SLAIncidents(ctx, tx, data.S, data.S.MeasuredAt(), 100)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return slaReport.Execute(w, data)
}
