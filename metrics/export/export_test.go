package export_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
	"github.com/bergamot-monitoring/bergamot/metrics/export"
)

var points = []export.Point{
	{Host: "web1", Service: "http", Label: "time", Unit: "s", At: time.Unix(1700000002, 0).UTC(), Value: 0.25},
	{Host: "web1", Service: "http", Label: "time", Unit: "s", At: time.Unix(1700000001, 0).UTC(), Value: 0.5},
	{Host: "web1", Label: "rta", Unit: "ms", At: time.Unix(1700000001, 0).UTC(), Value: 12},
	{Host: "db\xff", Label: "load1", At: time.Unix(1700000001, 0).UTC(), Value: 3},
}

// TestRemoteWriteEncoding: one series per check, label and unit, labels
// as the scrape endpoint names them (check is the host's name for a host
// check), sorted with __name__ first, an empty uom left out, samples in
// time order, values made valid UTF-8.
func TestRemoteWriteEncoding(t *testing.T) {
	body, h, err := export.RemoteWrite{}.Encode(points)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Content-Encoding") != "snappy" || h.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
		t.Errorf("headers %v", h)
	}
	req, err := export.DecodeRemoteWrite(body)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ts := range req.Timeseries {
		var b strings.Builder
		for _, l := range ts.Labels {
			b.WriteString(l.Name + "=" + l.Value + " ")
		}
		for _, s := range ts.Samples {
			b.WriteString("@" + time.UnixMilli(s.Timestamp).UTC().Format("05") + " ")
		}
		got = append(got, b.String())
	}
	want := []string{
		"__name__=bergamot_perfdata check=http host=web1 label=time uom=s @21 @22 ",
		"__name__=bergamot_perfdata check=web1 host=web1 label=rta uom=ms @21 ",
		"__name__=bergamot_perfdata check=db\uFFFD host=db\uFFFD label=load1 @21 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOTLPRoundTrip: what OTLP encodes, DecodeOTLP reads back.
func TestOTLPRoundTrip(t *testing.T) {
	body, _, err := export.OTLP{}.Encode(points)
	if err != nil {
		t.Fatal(err)
	}
	got, err := export.DecodeOTLP(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(points) {
		t.Fatalf("%d points back, want %d", len(got), len(points))
	}
	seen := map[string]bool{}
	for _, p := range got {
		seen[p.Host+"/"+p.Service+"/"+p.Label+"/"+p.Unit+"/"+p.At.Format(time.RFC3339)] = true
	}
	for _, p := range points {
		k := strings.ToValidUTF8(p.Host, "\uFFFD") + "/" + p.Service + "/" + p.Label + "/" + p.Unit + "/" + p.At.Format(time.RFC3339)
		if !seen[k] {
			t.Errorf("point %s lost in %v", k, seen)
		}
	}
	if _, err := export.DecodeOTLP([]byte{0x0a, 0x05, 0x01}); err == nil {
		t.Error("a truncated body decoded")
	}
}

// TestSendClassifiesFailures: 2xx delivers; 503, 429 and 401 are
// retried; 400 is not; the error carries the receiver's words.
func TestSendClassifiesFailures(t *testing.T) {
	var status int
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if status != 0 {
			http.Error(w, "out of order sample", status)
		}
	}))
	defer srv.Close()
	s := &export.Sender{}
	send := func() error {
		return s.Send(context.Background(), export.RemoteWrite{}, export.Target{URL: srv.URL, Auth: "bearer", Password: "tok"}, points)
	}
	if err := send(); err != nil || auth != "Bearer tok" {
		t.Fatalf("send: %v, Authorization %q", err, auth)
	}
	for code, retry := range map[int]bool{503: true, 429: true, 401: true, 500: true, 400: false, 413: false} {
		status = code
		err := send()
		if err == nil || export.Retryable(err) != retry || !strings.Contains(err.Error(), "out of order sample") {
			t.Errorf("status %d: err %v, retryable %v, want %v", code, err, export.Retryable(err), retry)
		}
	}
}

// TestValidatorRefusesTheOperatorsNetwork: under the hosted policy an
// export URL naming a loopback or private address is refused at apply,
// with the file and line; a public one passes; the trusted policy (nil)
// allows all.
func TestValidatorRefusesTheOperatorsNetwork(t *testing.T) {
	doc, err := config.Parse("site.xml", strings.NewReader(`<bergamot site="s">
<metrics-export name="inside" protocol="otlp" url="http://127.0.0.1:4318/v1/metrics"/>
<metrics-export name="lan" protocol="prometheus-remote-write" url="http://10.1.2.3/api/v1/write"/>
<metrics-export name="out" protocol="otlp" url="https://203.0.114.7/v1/metrics"/>
</bergamot>`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := config.Resolve(doc)
	if err != nil {
		t.Fatal(err)
	}
	errs := export.Validator(export.DefaultRegistry(), netpolicy.New(netpolicy.Options{}))(m).Error()
	for _, want := range []string{`site.xml:2: metrics-export "inside": url http://127.0.0.1:4318/v1/metrics`, `site.xml:3: metrics-export "lan": url http://10.1.2.3/api/v1/write`} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors lack %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, `"out"`) {
		t.Errorf("a public address was refused:\n%s", errs)
	}
	if e := export.Validator(export.DefaultRegistry(), nil)(m); len(e) != 0 {
		t.Errorf("trusted policy refused: %v", e)
	}
}

// TestOwnSeriesEncoding: a site's own series keep their name and labels
// in both protocols (bergamot_site_checks{status="OK"}; OTLP
// bergamot.site.checks with attribute status), apart from perfdata.
func TestOwnSeriesEncoding(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	own := append([]export.Point{
		{Name: "bergamot_site_checks", Attrs: map[string]string{"status": "OK"}, At: at, Value: 3},
		{Name: "bergamot_site_checks", Attrs: map[string]string{"status": "CRITICAL"}, At: at, Value: 1},
		{Name: "bergamot_site_checks_late", At: at, Value: 0},
	}, points[0])
	body, _, err := export.RemoteWrite{}.Encode(own)
	if err != nil {
		t.Fatal(err)
	}
	req, err := export.DecodeRemoteWrite(body)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ts := range req.Timeseries {
		var ls []string
		for _, l := range ts.Labels {
			ls = append(ls, l.Name+"="+l.Value)
		}
		got = append(got, strings.Join(ls, ",")+fmt.Sprintf(" %v", ts.Samples[0].Value))
	}
	want := []string{"__name__=bergamot_site_checks,status=OK 3", "__name__=bergamot_site_checks,status=CRITICAL 1", "__name__=bergamot_site_checks_late 0"}
	if len(got) != 4 || strings.Join(got[:3], "|") != strings.Join(want, "|") || !strings.HasPrefix(got[3], "__name__=bergamot_perfdata,") {
		t.Errorf("remote write series:\n%s\nwant\n%s\nand one bergamot_perfdata", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	body, _, err = export.OTLP{}.Encode(own)
	if err != nil {
		t.Fatal(err)
	}
	back, err := export.DecodeOTLP(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 4 || back[0].Name != "bergamot.site.checks" || back[0].Attrs["status"] != "OK" || back[0].Value != 3 ||
		back[2].Name != "bergamot.site.checks.late" || len(back[2].Attrs) != 0 || back[3].Name != "" || back[3].Host != points[0].Host {
		t.Errorf("OTLP round trip: %+v", back)
	}
}

// TestOwnCounterIsAnOTLPSum: a counter among the own series
// (bergamot_site_results_processed_total) reaches an OTLP receiver as a
// cumulative monotonic sum named without _total, so that the receiver
// computes rates and handles resets, not as a gauge; remote write keeps
// the Prometheus name.
func TestOwnCounterIsAnOTLPSum(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	pts := []export.Point{{Name: "bergamot_site_results_processed_total", At: at, Value: 1234},
		{Name: "bergamot_site_checks_late", At: at, Value: 2}}
	body, _, err := export.OTLP{}.Encode(pts)
	if err != nil {
		t.Fatal(err)
	}
	var md metricspb.MetricsData
	if err := proto.Unmarshal(body, &md); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, m := range md.GetResourceMetrics()[0].GetScopeMetrics()[0].GetMetrics() {
		switch {
		case m.GetSum() != nil:
			s := m.GetSum()
			kinds[m.GetName()] = fmt.Sprintf("sum monotonic=%v %v %v", s.GetIsMonotonic(), s.GetAggregationTemporality(), s.GetDataPoints()[0].GetAsDouble())
		case m.GetGauge() != nil:
			kinds[m.GetName()] = fmt.Sprintf("gauge %v", m.GetGauge().GetDataPoints()[0].GetAsDouble())
		}
	}
	want := map[string]string{"bergamot.site.results.processed": "sum monotonic=true AGGREGATION_TEMPORALITY_CUMULATIVE 1234",
		"bergamot.site.checks.late": "gauge 2"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("OTLP metrics %v, want %v", kinds, want)
	}
	body, _, err = export.RemoteWrite{}.Encode(pts[:1])
	if err != nil {
		t.Fatal(err)
	}
	req, err := export.DecodeRemoteWrite(body)
	if err != nil {
		t.Fatal(err)
	}
	if l := req.Timeseries[0].Labels[0]; l.Value != "bergamot_site_results_processed_total" {
		t.Errorf("remote write name %q, want bergamot_site_results_processed_total", l.Value)
	}
}

// FuzzDecodeOTLP: any body decodes or fails with an error, never a panic.
func FuzzDecodeOTLP(f *testing.F) {
	body, _, _ := export.OTLP{}.Encode(points)
	f.Add(body)
	own, _, _ := export.OTLP{}.Encode([]export.Point{{Name: "bergamot_site_checks", Attrs: map[string]string{"status": "OK"}, At: time.Unix(1, 0), Value: 3}})
	f.Add(own)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := export.DecodeOTLP(b)
		if err == nil {
			if _, _, err := (export.OTLP{}).Encode(pts); err != nil {
				t.Fatalf("decoded points do not encode: %v", err)
			}
		}
	})
}

// FuzzDecodeRemoteWrite: any body decodes or fails with an error.
func FuzzDecodeRemoteWrite(f *testing.F) {
	body, _, _ := export.RemoteWrite{}.Encode(points)
	f.Add(body)
	f.Add([]byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = export.DecodeRemoteWrite(b)
	})
}
