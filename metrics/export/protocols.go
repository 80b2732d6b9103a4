package export

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// RemoteWrite is Prometheus remote write 1.0: a snappy-compressed
// prometheus.WriteRequest, one time series per check, service, label and
// unit, named MetricName, with labels host, service, label and unit.
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
			ls := []prompb.Label{{Name: "__name__", Value: MetricName}}
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
// unit with one data point per value and attributes host, service and
// label. MetricsData is wire-compatible with ExportMetricsServiceRequest
// (both are field 1, repeated ResourceMetrics), which spares the gRPC
// service package.
type OTLP struct{}

// Name returns "otlp".
func (OTLP) Name() string { return "otlp" }

// OTLPMetricName is the gauge's name in OTLP.
const OTLPMetricName = "bergamot.perfdata"

// Encode builds the ExportMetricsServiceRequest.
func (OTLP) Encode(points []Point) ([]byte, http.Header, error) {
	byUnit := map[string]*metricspb.Gauge{}
	var units []string
	for _, p := range points {
		g := byUnit[p.Unit]
		if g == nil {
			g = &metricspb.Gauge{}
			byUnit[p.Unit] = g
			units = append(units, p.Unit)
		}
		var attrs []*commonpb.KeyValue
		for _, l := range p.labels() {
			if l[0] == "unit" {
				continue // the metric's unit
			}
			attrs = append(attrs, &commonpb.KeyValue{Key: l[0], Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: l[1]}}})
		}
		g.DataPoints = append(g.DataPoints, &metricspb.NumberDataPoint{Attributes: attrs,
			TimeUnixNano: uint64(p.At.UnixNano()), Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: p.Value}}) //nolint:gosec // times after 1970
	}
	sm := &metricspb.ScopeMetrics{Scope: &commonpb.InstrumentationScope{Name: "bergamot"}}
	for _, u := range units {
		sm.Metrics = append(sm.Metrics, &metricspb.Metric{Name: OTLPMetricName, Unit: u,
			Description: "Performance data of Bergamot checks", Data: &metricspb.Metric_Gauge{Gauge: byUnit[u]}})
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
					for _, kv := range dp.GetAttributes() {
						s := kv.GetValue().GetStringValue()
						switch kv.GetKey() {
						case "host":
							p.Host = s
						case "service":
							p.Service = s
						case "label":
							p.Label = s
						}
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
