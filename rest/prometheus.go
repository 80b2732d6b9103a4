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

	// The site's <metrics-export> targets (docs/metrics-export.md).
	exportSentDesc = prometheus.NewDesc("bergamot_site_metrics_export_sent_points_total",
		"Points delivered to each metrics export target of the site.", []string{"export", "protocol"}, nil)
	exportDroppedDesc = prometheus.NewDesc("bergamot_site_metrics_export_dropped_points_total",
		"Points of each metrics export target lost: the oldest beyond its buffer while the receiver failed, and batches the receiver refused.",
		[]string{"export", "protocol"}, nil)
	exportQueuedDesc = prometheus.NewDesc("bergamot_site_metrics_export_queued_points",
		"Points waiting to be sent to each metrics export target.", []string{"export", "protocol"}, nil)
	exportSuccessDesc = prometheus.NewDesc("bergamot_site_metrics_export_last_success_timestamp_seconds",
		"When each metrics export target last accepted a batch (Unix seconds).", []string{"export", "protocol"}, nil)
)

// exportCollector is one scrape's snapshot of a site's export targets.
type exportCollector []store.ExportStatus

func (c exportCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- exportSentDesc
	ch <- exportDroppedDesc
	ch <- exportQueuedDesc
	ch <- exportSuccessDesc
}

func (c exportCollector) Collect(ch chan<- prometheus.Metric) {
	for _, e := range c {
		ch <- prometheus.MustNewConstMetric(exportSentDesc, prometheus.CounterValue, float64(e.Sent), e.Name, e.Protocol)
		ch <- prometheus.MustNewConstMetric(exportDroppedDesc, prometheus.CounterValue, float64(e.Dropped), e.Name, e.Protocol)
		ch <- prometheus.MustNewConstMetric(exportQueuedDesc, prometheus.GaugeValue, float64(e.Queued), e.Name, e.Protocol)
		if e.LastSuccessAt != nil {
			ch <- prometheus.MustNewConstMetric(exportSuccessDesc, prometheus.GaugeValue, float64(e.LastSuccessAt.UnixMilli())/1000, e.Name, e.Protocol)
		}
	}
}

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
	var exports []store.ExportStatus
	err := a.read(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if samples, err = store.LatestSamples(ctx, tx); err != nil {
			return err
		}
		exports, err = store.ExportStatuses(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(siteCollector(samples)); err != nil {
		return err
	}
	if err := reg.Register(exportCollector(exports)); err != nil {
		return err
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	return nil
}
