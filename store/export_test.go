package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// export is the site's stored configuration as `config export` writes it
// (secrets left out).
func (s *site) export() string {
	s.t.Helper()
	var out []byte
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		doc, err := s.cfgs.LoadDocument(ctx, tx)
		if err != nil {
			return err
		}
		out, err = config.Export(doc)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return string(out)
}

// TestMetricsExportConfigErrorsNameTheAttribute: a bad <metrics-export> is
// refused with file:line and the attribute that is wrong, and nothing of
// the configuration is applied.
func TestMetricsExportConfigErrorsNameTheAttribute(t *testing.T) {
	s := newSite(t)
	res := s.apply(parse(t, `<bergamot site="t">
<credential name="nopass"><username>u</username></credential>
<metrics-export name="a" protocol="graphite" url="ftp://x"/>
<metrics-export name="b" protocol="otlp" url="https://user:pw@otel.example/v1/metrics" auth="bearer"/>
<metrics-export name="c" protocol="otlp" url="https://otel.example/v1/metrics" auth="basic" credential="missing" batch="0"/>
<metrics-export name="d" protocol="prometheus-remote-write" url="https://prom.example/api/v1/write" auth="bearer" credential="nopass" batch="600" buffer="500"/>
<metrics-export name="e" protocol="otlp" url="https://otel.example/v1/metrics" auth="token" credential="nopass"/>
<host name="h"/>
</bergamot>`))
	if res.OK {
		t.Fatal("a bad <metrics-export> was applied")
	}
	all := res.Errors.Error()
	for _, want := range []string{
		`overlay.xml:3: metrics-export "a": protocol "graphite": want prometheus-remote-write or otlp`,
		`overlay.xml:3: metrics-export "a": url "ftp://x": want an http:// or https:// URL`,
		`overlay.xml:4: metrics-export "b": url https://user:xxxxx@otel.example/v1/metrics: put the user name and password in a credential`,
		`overlay.xml:4: metrics-export "b": auth "bearer" needs a credential attribute`,
		`overlay.xml:5: metrics-export "c": unknown credential "missing"`,
		`overlay.xml:5: metrics-export "c": batch "0": want a whole number from 1 to 10000`,
		`overlay.xml:6: metrics-export "d": credential "nopass": auth "bearer" needs a <password> (the token) in it`,
		`overlay.xml:6: metrics-export "d": buffer 500 is smaller than batch 600`,
		`overlay.xml:7: metrics-export "e": auth "token": want none, bearer or basic`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
	if n := s.count(`SELECT count(*) FROM checks`); n != 0 {
		t.Errorf("%d checks applied from a refused configuration", n)
	}
	if n := s.count(`SELECT count(*) FROM metric_exports`); n != 0 {
		t.Errorf("%d export targets applied from a refused configuration", n)
	}
}

// TestMetricsExportSurvivesReapply: re-applying the configuration keeps a
// target's queue and delivery status (it is kept by name); removing the
// target removes its queue; the target is exported back as written, with
// no secret in it.
func TestMetricsExportSurvivesReapply(t *testing.T) {
	s := newSite(t)
	xml := `<bergamot site="t">
<credential name="tok"><password>s3cret-token</password></credential>
<metrics-export name="prom" protocol="prometheus-remote-write" url="https://prom.example/api/v1/write" auth="bearer" credential="tok" buffer="5000"/>
<host name="h"/>
</bergamot>`
	s.mustApply(parse(t, xml))
	hostID := s.checkIDs()["host//h"]
	if n := s.count(`WITH q AS (INSERT INTO metric_export_queue (site_id, export_id, check_id, label, at, value)
		SELECT site_id, id, $1, 'x', now(), 1 FROM metric_exports RETURNING 1) SELECT count(*) FROM q`, hostID); n != 1 {
		t.Fatalf("queued %d", n)
	}
	s.count(`WITH u AS (UPDATE metric_exports SET dropped = 7 RETURNING 1) SELECT count(*) FROM u`)
	s.mustApply(parse(t, strings.Replace(xml, `buffer="5000"`, `buffer="6000"`, 1)))
	if n := s.count(`SELECT count(*) FROM metric_export_queue`); n != 1 {
		t.Errorf("re-apply left %d queued points, want the 1 kept", n)
	}
	if n := s.count(`SELECT count(*) FROM metric_exports WHERE dropped = 7 AND buffer_points = 6000 AND auth = 'bearer' AND credential = 'tok'`); n != 1 {
		t.Errorf("re-apply lost the status or did not change the buffer")
	}
	out := s.export()
	if !strings.Contains(out, `<metrics-export auth="bearer" buffer="6000" credential="tok" name="prom" protocol="prometheus-remote-write"`) ||
		strings.Contains(out, "s3cret-token") {
		t.Errorf("export:\n%s", out)
	}
	s.mustApply(parse(t, `<bergamot site="t"><metrics-export name="prom" state="absent"/></bergamot>`))
	if n := s.count(`SELECT count(*) FROM metric_export_queue`); n != 0 {
		t.Errorf("removing the target left %d queued points", n)
	}
}
