package hub_test

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestStatsdMetricsThroughAgent: an application sends statsd packets to a
// real agent process; the stock check-agent-metrics command reads them
// through the hub, and the stock check-agent-metric-rate command's script
// runs on the hub over the agent's readings (here with a warning threshold
// low enough that the agent's processed rate breaches it).
func TestStatsdMetricsThroughAgent(t *testing.T) {
	r := newRig(t, map[string]string{"a": `<bergamot site="t"><host name="app1" extends="linux-server-agent" agent-id="agent-m" address="127.0.0.1">
		<service extends="linux-monitoring-services" name="app-metrics"><check-command command="check-agent-metrics"/></service>
		<service extends="linux-monitoring-services" name="metric-rate"><check-command command="check-agent-metric-rate">
			<parameter name="warning">0.000001</parameter><parameter name="critical">1000000</parameter></check-command></service>
	</host></bergamot>`})
	_, hubURL := r.serve()
	creds := r.cert(r.sites["a"].String(), "agent-m")
	ag := r.agent(creds, hubURL, "--statsd-listen", "127.0.0.1:0")
	line := ag.logs.find("statsd listening")
	if line == nil {
		t.Fatal("the agent did not log its statsd address")
	}
	conn, err := net.Dial("udp", line["addr"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, p := range []string{"shop.orders:3|c", "shop.queue:42|g", "shop.latency:12|ms\nshop.latency:18|ms"} {
		if _, err := conn.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	r.due("a")
	var metricsOut, rate checkState
	r.waitStates("a", "app1", start, 90*time.Second, func(s checkState) bool {
		switch s.Name {
		case "app-metrics":
			metricsOut = s
			return s.Status == "OK"
		case "metric-rate":
			rate = s
			return s.Status == "WARNING"
		}
		return healthy(s)
	})
	if !strings.Contains(metricsOut.Output, "4 metrics match") {
		t.Errorf("app-metrics: %q, want the 3 application metrics and the agent's own", metricsOut.Output)
	}
	if !strings.HasPrefix(rate.Output, "Metric rate: ") {
		t.Errorf("metric-rate: %q, want the stock script's \"Metric rate: N\"", rate.Output)
	}
	t.Logf("app-metrics %s %q; metric-rate %s %q", metricsOut.Status, metricsOut.Output, rate.Status, rate.Output)
}
