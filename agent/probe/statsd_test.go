package probe

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/agent/wire"
	"github.com/bergamot-monitoring/bergamot/checks"
)

// stockMetricParams are the parameters of the stock metrics commands
// (templates/commands/agent/agent_metrics.xml).
func stockMetricParams(t *testing.T, command string) map[string]string {
	t.Helper()
	c := stockModel(t).Commands[command]
	if c == nil || c.Executor != "metrics" {
		t.Fatalf("stock command %s is not a metrics command", command)
	}
	params := map[string]string{}
	for _, p := range c.Parameters {
		params[p.Name] = p.Value
	}
	return params
}

func byName(ms []wire.Metric) map[string]wire.Metric {
	out := map[string]wire.Metric{}
	for _, m := range ms {
		out[m.Name] = m
	}
	return out
}

// TestStatsdRealPackets: an application sends statsd lines in real UDP
// packets to the agent's listener; the stock check-agent-metrics command
// reads them aggregated (counters with their sample rate, relative gauges,
// timer distribution, sets), with the source stripped from the names, and
// check-agent-metric-rate reads the agent's own processed meter.
func TestStatsdRealPackets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sd := NewStatsd()
	addr, err := sd.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	packets := []string{
		"shop.orders:1|c\nshop.orders:2|c|@0.5",                 // 1 + 2/0.5 = 5
		"shop.queue:10|g", "shop.queue:+5|g", "shop.queue:-3|g", // 12
		"shop.latency:10|ms\nshop.latency:20|ms\nshop.latency:30|ms|#route:checkout",
		"shop.users:alice|s\nshop.users:bob|s\nshop.users:alice|s",
		"this is not statsd",
		"shop.size:7|h",
	}
	for _, p := range packets {
		if _, err := conn.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	const want = 2 + 3 + 3 + 3 + 1 // metrics lines applied (the bad one is not)
	p := New(Probes{Statsd: sd})
	var res *checks.Result
	var ms []wire.Metric
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, ms = p.Run(ctx, "metrics", stockMetricParams(t, "check-agent-metrics"), "")
		if got := byName(ms)["statsd.metrics.processed"]; got.Count >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res.Status != checks.StatusOK || !strings.Contains(res.Output, "metrics match") {
		t.Fatalf("check-agent-metrics: %s %q", res.Status, res.Output)
	}
	got := byName(ms)
	if m := got["statsd.metrics.processed"]; m.Count != want || m.Type != wire.MetricMeter {
		t.Errorf("processed meter: %+v, want count %d (the bad line not counted)", m, want)
	}
	if m := got["orders"]; m.Type != wire.MetricMeter || m.Count != 5 || m.MeanRate <= 0 {
		t.Errorf("orders (source stripped): %+v, want a meter of 5 with a rate", m)
	}
	if m := got["queue"]; m.Type != wire.MetricGauge || m.Value != 12 {
		t.Errorf("queue: %+v, want gauge 12", m)
	}
	if m := got["latency"]; m.Type != wire.MetricTimer || m.Count != 3 || m.Min != 10 || m.Max != 30 || m.Mean != 20 || m.Median != 20 {
		t.Errorf("latency: %+v, want a timer of 10, 20, 30", m)
	}
	if m := got["users"]; m.Type != wire.MetricSet || m.Count != 2 {
		t.Errorf("users: %+v, want a set of 2", m)
	}
	if m := got["size"]; m.Type != wire.MetricHistogram || m.Count != 1 || m.Max != 7 {
		t.Errorf("size: %+v, want a histogram of 7", m)
	}
	if len(res.Perfdata) != len(ms) {
		t.Errorf("%d perfdata items for %d metrics", len(res.Perfdata), len(ms))
	}

	// The stock rate check: the agent's own meter, source kept.
	_, ms = p.Run(ctx, "metrics", stockMetricParams(t, "check-agent-metric-rate"), "")
	if len(ms) != 1 || ms[0].Name != ProcessedMetric || ms[0].MeanRate <= 0 {
		t.Errorf("check-agent-metric-rate readings: %+v, want only %s with a rate", ms, ProcessedMetric)
	}

	// A filter that is not a regular expression is an error naming the parameter.
	res, _ = p.Run(ctx, "metrics", map[string]string{"metric_name_filter": "shop.(["}, "")
	if res.Status != checks.StatusError || !strings.Contains(res.Output, "metric_name_filter") {
		t.Errorf("bad filter: %s %q", res.Status, res.Output)
	}
	// No listener: UNKNOWN saying why.
	res, _ = New(Probes{}).Run(ctx, "metrics", nil, "")
	if res.Status != checks.StatusUnknown || !strings.Contains(res.Output, "statsd") {
		t.Errorf("no statsd: %s %q", res.Status, res.Output)
	}
}

// TestStatsdMeterRates: a meter's moving rates follow what it is sent,
// and metrics not updated for Stale are dropped.
func TestStatsdMeterRates(t *testing.T) {
	sd := NewStatsd()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sd.now = func() time.Time { return now }
	sd.processed = newMeter(now)
	for range 120 { // 10 a second for 2 minutes
		if n, errs := sd.Process([]byte("app.hits:10|c")); n != 1 || errs != nil {
			t.Fatal(n, errs)
		}
		now = now.Add(time.Second)
	}
	m := byName(sd.Snapshot(nil, false))["app.hits"]
	if m.Count != 1200 || m.MeanRate < 9.9 || m.MeanRate > 10.1 || m.OneMinuteRate < 8 || m.OneMinuteRate > 10.5 {
		t.Errorf("after 2 minutes at 10/s: %+v", m)
	}
	now = now.Add(2 * time.Hour)
	if got := byName(sd.Snapshot(nil, false)); len(got) != 1 {
		t.Errorf("after 2 idle hours %d metrics remain, want only the agent's own", len(got))
	}
	// A name used with another type keeps its first.
	sd.Process([]byte("app.x:1|c"))
	if _, errs := sd.Process([]byte("app.x:1|g")); len(errs) != 1 || !strings.Contains(errs[0].Error(), "app.x is a meter") {
		t.Errorf("type clash: %v", errs)
	}
}

func TestParseStatsdErrors(t *testing.T) {
	for line, want := range map[string]string{
		"novalue":                         "no ':'",
		"a:1":                             "no '|type'",
		"a:x|c":                           "not a number",
		"a:1|q":                           "unknown type",
		"a:1|c|@2":                        "sample rate",
		"a:1|c|zz":                        "unknown field",
		"a b:1|c":                         "metric name",
		":1|c":                            "metric name",
		"a:NaN|g":                         "not a number",
		"a:|s":                            "empty set member",
		strings.Repeat("n", 300) + ":1|c": "metric name",
	} {
		_, err := ParseStatsd(line)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStatsd(%.20q) = %v, want an error containing %q", line, err, want)
		}
	}
}

func FuzzParseStatsd(f *testing.F) {
	for _, s := range []string{"a.b:1|c", "a:1|c|@0.1", "g:-3|g", "t:12.5|ms|#k:v", "s:x|s", "h:1|h", "m:1|m", "a:1|c:2|c", "bad"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, err := ParseStatsd(line)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if s.Name == "" || s.Rate <= 0 || s.Rate > 1 {
			t.Fatalf("accepted %q as %+v", line, s)
		}
		sd := NewStatsd()
		if n, errs := sd.Process([]byte(line)); n != 1 || len(errs) != 0 {
			t.Fatalf("parsed %q but Process applied %d (%v)", line, n, errs)
		}
		_ = fmt.Sprint(sd.Snapshot(nil, true))
	})
}
