package rest

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bergamot-monitoring/bergamot/store"
)

// The per-site scrape endpoint's series (docs/reporting.md, "Metrics out").
var (
	checkStatusDesc = prometheus.NewDesc("bergamot_check_status", "1 for the status each check is in now, by status.",
		[]string{"check_id", "kind", "host", "check", "status"}, nil)
	checkUpDesc = prometheus.NewDesc("bergamot_check_up", "1 when the check's status counts as OK (OK, INFO), else 0.",
		[]string{"check_id", "kind", "host", "check"}, nil)
	checkLastDesc = prometheus.NewDesc("bergamot_check_last_check_timestamp_seconds", "When the check last ran (Unix seconds).",
		[]string{"check_id", "kind", "host", "check"}, nil)
	perfdataDesc = prometheus.NewDesc("bergamot_perfdata", "The latest value of each perfdata label of each check.",
		[]string{"check_id", "kind", "host", "check", "label", "uom"}, nil)
)

// siteCollector is one scrape's snapshot of a site's checks.
type siteCollector []store.CheckSample

func (c siteCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- checkStatusDesc
	ch <- checkUpDesc
	ch <- checkLastDesc
	ch <- perfdataDesc
}

func (c siteCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c {
		ch <- prometheus.MustNewConstMetric(checkStatusDesc, prometheus.GaugeValue, 1, s.ID, s.Kind, s.Host, s.Name, s.Status.String())
		up := 0.0
		if s.Status.OK() && s.At != nil {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(checkUpDesc, prometheus.GaugeValue, up, s.ID, s.Kind, s.Host, s.Name)
		if s.At != nil {
			ch <- prometheus.MustNewConstMetric(checkLastDesc, prometheus.GaugeValue, float64(s.At.UnixMilli())/1000, s.ID, s.Kind, s.Host, s.Name)
		}
		seen := map[string]bool{}
		for _, p := range s.Perfdata {
			if p.Value == nil || seen[p.Label] {
				continue // a repeated label would be a duplicate series
			}
			seen[p.Label] = true
			ch <- prometheus.MustNewConstMetric(perfdataDesc, prometheus.GaugeValue, *p.Value, s.ID, s.Kind, s.Host, s.Name, p.Label, p.UOM)
		}
	}
}

// siteMetrics serves the caller's site's checks in the Prometheus text
// format: a scrape target per site, authenticated by the site's API token
// (Authorization: Bearer, or bearer_token in Prometheus' scrape config).
func (a *API) siteMetrics(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var samples []store.CheckSample
	err := a.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		samples, err = store.LatestSamples(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(siteCollector(samples)); err != nil {
		return err
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	return nil
}
