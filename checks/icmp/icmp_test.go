package icmp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/icmp"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
)

func run(t *testing.T, e *icmp.Engine, params map[string]string) *checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := e.Execute(ctx, &checks.Request{Engine: "icmp", Parameters: params})
	if err != nil {
		t.Skipf("cannot ping here: %v", err)
	}
	return res
}

func TestPingLoopback(t *testing.T) {
	base := certtest.Snapshot()
	t.Cleanup(func() { base.Check(t, 0) })
	for _, priv := range []bool{false, true} {
		e := icmp.New(icmp.Options{Privileged: priv})
		for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
			res := run(t, e, map[string]string{"host": host, "packets": "3", "interval": "500", "warning": "100.0,20%", "critical": "500.0,60%"})
			if res.Status != checks.StatusOK || !strings.HasPrefix(res.Output, "PING OK - ") || !strings.Contains(res.Output, "Packet loss = 0%, RTA = ") {
				t.Fatalf("privileged=%v %s: %s %q", priv, host, res.Status, res.Output)
			}
			pd := res.Perfdata
			if len(pd) != 2 || pd[0].Label != "rta" || pd[0].UOM != "ms" || pd[0].Warn != "100.000000" || pd[0].Crit != "500.000000" ||
				pd[1].Label != "pl" || *pd[1].Value != 0 || pd[1].Warn != "20" || pd[1].Crit != "60" {
				t.Fatalf("perfdata %+v", pd)
			}
		}
	}
}

func TestPingThresholdsAndErrors(t *testing.T) {
	e := icmp.New(icmp.Options{})
	res := run(t, e, map[string]string{"host": "::1", "packets": "2", "warning": "0.0001,20%", "critical": "500,60%"})
	if res.Status != checks.StatusWarning || !strings.Contains(res.Output, "PING WARNING - ::1") {
		t.Fatalf("rta warning: %s %q", res.Status, res.Output)
	}
	res = run(t, e, map[string]string{"host": "127.0.0.1", "packets": "1", "critical": "0,0%"})
	if res.Status != checks.StatusCritical {
		t.Fatalf("rta critical: %s %q", res.Status, res.Output)
	}
	for params, want := range map[string]string{
		"warning=100":       `parameter "warning": "100" is not <rta ms>,<loss>%`,
		"critical=fast,10%": `parameter "critical": round-trip time "fast"`,
		"critical=100,120%": `parameter "critical": packet loss "120" is not a percentage`,
		"packets=0":         `parameter "packets": 0 is not 1-100`,
		"ip_version=5":      `parameter "ip_version": "5"`,
	} {
		k, v, _ := strings.Cut(params, "=")
		res := run(t, e, map[string]string{"host": "127.0.0.1", k: v})
		if res.Status != checks.StatusError || !strings.Contains(res.Output, want) {
			t.Errorf("%s: %s %q, want %q", params, res.Status, res.Output, want)
		}
	}
	res = run(t, e, map[string]string{"host": "127.0.0.1", "ip_version": "6", "packets": "1"})
	if res.Status != checks.StatusCritical || !strings.Contains(res.Output, "127.0.0.1 has no IPv6 address") {
		t.Fatalf("ip_version 6: %s %q", res.Status, res.Output)
	}
}
