package graph_test

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
)

// TestMetricsExportsOverGraphQL: a site sees its export targets with their
// delivery status, the URL without its query string (which may hold a
// key); another site sees none of them.
func TestMetricsExportsOverGraphQL(t *testing.T) {
	e := apitest.Start(t, apitest.Options{})
	a := e.SignUp(t, "mexp")
	b := e.SignUp(t, "mexpb")
	e.Apply(t, a.Token, `<bergamot site="mexp">
<credential name="tok"><password>s3cret</password></credential>
<metrics-export name="grafana" protocol="prometheus-remote-write" url="https://prom.example/api/v1/write?api_key=k3y" auth="bearer" credential="tok"/>
<metrics-export name="otel" protocol="otlp" url="https://otel.example/v1/metrics" own-series="no"/>
</bergamot>`)
	e.Exec(t, `UPDATE metric_exports SET dropped = 12, sent = 30, last_error = 'receiver answered 503: down', last_error_at = now(), failures = 2 WHERE name = 'grafana'`)
	var out struct {
		MetricsExports []struct {
			Name, Protocol, URL, Auth, LastError string
			Enabled, OwnSeries                   bool
			Sent, Dropped, Queued, Failures      int
			LastSuccessAt, LastErrorAt           *string
		}
	}
	q := `{ metricsExports { name protocol url auth enabled ownSeries sent dropped queued failures lastSuccessAt lastError lastErrorAt nextAttemptAt } }`
	e.MustDo(t, a.Token, q, nil, &out)
	if len(out.MetricsExports) != 2 || out.MetricsExports[1].Name != "otel" || out.MetricsExports[1].OwnSeries {
		t.Fatalf("metricsExports (grafana, then otel without own series): %+v", out.MetricsExports)
	}
	m := out.MetricsExports[0]
	if m.Name != "grafana" || !m.OwnSeries || m.Protocol != "prometheus-remote-write" || m.URL != "https://prom.example/api/v1/write" || m.Auth != "bearer" ||
		!m.Enabled || m.Sent != 30 || m.Dropped != 12 || m.Failures != 2 || !strings.Contains(m.LastError, "503") || m.LastErrorAt == nil || m.LastSuccessAt != nil {
		t.Errorf("metricsExports: %+v", m)
	}
	e.MustDo(t, b.Token, q, nil, &out)
	if len(out.MetricsExports) != 0 {
		t.Errorf("site B sees site A's export targets: %+v", out.MetricsExports)
	}
}
