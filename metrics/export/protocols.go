package export

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// RemoteWrite is Prometheus remote write 1.0: a snappy-compressed
// prometheus.WriteRequest, one time series per check, perfdata label and
// unit, named MetricName, with labels host, check, label and uom.
type RemoteWrite struct{}

// Name returns "prometheus-remote-write".
func (RemoteWrite) Name() string { return "prometheus-remote-write" }

// Encode builds the WriteRequest. Samples of one series are sorted by
// time, as receivers require.
func (RemoteWrite) Encode(points []Point) ([]byte, http.Header, error) {
	idx := map[string]int{}
	var req prompb.WriteRequest
	for _, p := range points {
		k := p.seriesKey()
		i, ok := idx[k]
		if !ok {
			i = len(req.Timeseries)
			idx[k] = i
			ls := []prompb.Label{{Name: "__name__", Value: p.metricName()}}
			for _, l := range p.labels() {
				ls = append(ls, prompb.Label{Name: l[0], Value: l[1]})
			}
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls})
		}
		req.Timeseries[i].Samples = append(req.Timeseries[i].Samples, prompb.Sample{Value: p.Value, Timestamp: p.At.UnixMilli()})
	}
	for i := range req.Timeseries {
		s := req.Timeseries[i].Samples
		sort.SliceStable(s, func(a, b int) bool { return s[a].Timestamp < s[b].Timestamp })
	}
	raw, err := req.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("remote write: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("Content-Encoding", "snappy")
	h.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	return snappy.Encode(nil, raw), h, nil
}

// DecodeRemoteWrite reads a remote write body as Encode writes it (test
// receivers and tools use it): snappy, then the WriteRequest.
func DecodeRemoteWrite(body []byte) (*prompb.WriteRequest, error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("remote write body: snappy: %w", err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("remote write body: %w", err)
	}
	return &req, nil
}

// OTLP is OTLP/HTTP metrics in binary protobuf: one ResourceMetrics
// (service.name "bergamot"), one scope, a gauge "bergamot.perfdata" per
// unit with one data point per value and attributes host, check and
// label. MetricsData is wire-compatible with ExportMetricsServiceRequest
// (both are field 1, repeated ResourceMetrics), which spares the gRPC
// service package.
type OTLP struct{}

// Name returns "otlp".
func (OTLP) Name() string { return "otlp" }

// OTLPMetricName is the gauge's name in OTLP.
const OTLPMetricName = "bergamot.perfdata"

// OTLPName is the OTLP name of one of Bergamot's own series:
// bergamot_site_checks is bergamot.site.checks. A counter's _total is left
// out, as OpenTelemetry names counters: bergamot_site_results_processed_total
// is bergamot.site.results.processed.
func OTLPName(name string) string {
	return strings.ReplaceAll(strings.TrimSuffix(name, "_total"), "_", ".")
}

// isCounter tells whether own series name is a counter (its name ends in
// _total, the Prometheus convention): OTLP gets it as a cumulative,
// monotonic sum instead of a gauge.
func isCounter(name string) bool { return strings.HasSuffix(name, "_total") }

// Encode builds the ExportMetricsServiceRequest: a gauge per unit for
// perfdata, one per series for the site's own series.
func (OTLP) Encode(points []Point) ([]byte, http.Header, error) {
	byMetric := map[string]*metricspb.Metric{}
	sm := &metricspb.ScopeMetrics{Scope: &commonpb.InstrumentationScope{Name: "bergamot"}}
	for _, p := range points {
		name, unit, desc := OTLPMetricName, p.Unit, "Performance data of Bergamot checks"
		if p.Name != "" {
			name, unit, desc = OTLPName(p.Name), "", "Bergamot's own series of the site"
		}
		m := byMetric[name+"\x00"+unit]
		if m == nil {
			m = &metricspb.Metric{Name: name, Unit: unit, Description: desc, Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{}}}
			if isCounter(p.Name) {
				m.Data = &metricspb.Metric_Sum{Sum: &metricspb.Sum{IsMonotonic: true,
					AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE}}
			}
			byMetric[name+"\x00"+unit] = m
			sm.Metrics = append(sm.Metrics, m)
		}
		var attrs []*commonpb.KeyValue
		for _, l := range p.labels() {
			if l[0] == "uom" && p.Name == "" {
				continue // the metric's unit
			}
			attrs = append(attrs, &commonpb.KeyValue{Key: l[0], Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: l[1]}}})
		}
		dp := &metricspb.NumberDataPoint{Attributes: attrs,
			TimeUnixNano: uint64(p.At.UnixNano()), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: p.Value}} //nolint:gosec // times after 1970
		if s := m.GetSum(); s != nil {
			s.DataPoints = append(s.DataPoints, dp)
		} else {
			m.GetGauge().DataPoints = append(m.GetGauge().DataPoints, dp)
		}
	}
	md := &metricspb.MetricsData{ResourceMetrics: []*metricspb.ResourceMetrics{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
			Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "bergamot"}}}}},
		ScopeMetrics: []*metricspb.ScopeMetrics{sm},
	}}}
	body, err := proto.Marshal(md)
	if err != nil {
		return nil, nil, fmt.Errorf("otlp: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-protobuf")
	return body, h, nil
}

// DecodeOTLP reads an OTLP/HTTP binary protobuf metrics request
// (ExportMetricsServiceRequest) into the points it carries, for gauges
// and sums of doubles or integers. Test receivers and tools use it.
func DecodeOTLP(body []byte) ([]Point, error) {
	var md metricspb.MetricsData
	if err := proto.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("otlp body: %w", err)
	}
	var out []Point
	for ri, rm := range md.GetResourceMetrics() {
		for si, sm := range rm.GetScopeMetrics() {
			for mi, m := range sm.GetMetrics() {
				var dps []*metricspb.NumberDataPoint
				switch d := m.GetData().(type) {
				case *metricspb.Metric_Gauge:
					dps = d.Gauge.GetDataPoints()
				case *metricspb.Metric_Sum:
					dps = d.Sum.GetDataPoints()
				default:
					return nil, fmt.Errorf("otlp body: resource %d scope %d metric %d (%q): not a gauge or sum", ri, si, mi, m.GetName())
				}
				for di, dp := range dps {
					p := Point{Unit: m.GetUnit()}
					switch v := dp.GetValue().(type) {
					case *metricspb.NumberDataPoint_AsDouble:
						p.Value = v.AsDouble
					case *metricspb.NumberDataPoint_AsInt:
						p.Value = float64(v.AsInt)
					default:
						return nil, fmt.Errorf("otlp body: metric %q data point %d: no value", m.GetName(), di)
					}
					if dp.GetTimeUnixNano() > 1<<62 {
						return nil, fmt.Errorf("otlp body: metric %q data point %d: time %d out of range", m.GetName(), di, dp.GetTimeUnixNano())
					}
					p.At = unixNano(dp.GetTimeUnixNano())
					if m.GetName() != OTLPMetricName {
						// One of the site's own series.
						p.Name, p.Unit, p.Attrs = m.GetName(), "", map[string]string{}
						for _, kv := range dp.GetAttributes() {
							p.Attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
						}
						out = append(out, p)
						continue
					}
					for _, kv := range dp.GetAttributes() {
						s := kv.GetValue().GetStringValue()
						switch kv.GetKey() {
						case "host":
							p.Host = s
						case "check":
							p.Service = s
						case "label":
							p.Label = s
						}
					}
					if p.Service == p.Host {
						p.Service = "" // a host check
					}
					out = append(out, p)
				}
			}
		}
	}
	if len(out) == 0 && len(body) > 0 && len(md.GetResourceMetrics()) == 0 {
		return nil, errors.New("otlp body: no resource metrics")
	}
	return out, nil
}
