package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/self"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestInternalEngineCountsTheInstallation: the internal engine, reading
// the real registrations through store.SelfCheck, judges the stock
// commands' minimums: live workers of the check's zone (stopped and silent
// ones do not count; "engines" narrows to those offering all of them),
// notifiers with their channels, serve nodes as proxies. A site's remote
// workers of its private zone count for that site only (two sites, RLS).
func TestInternalEngineCountsTheInstallation(t *testing.T) {
	a := newSite(t)
	b := newSiteIn(t, a.db)
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := a.db.Pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO workers (id, name, zone, engines) VALUES ($1, 'w1', 'default', '{nagios,jdbc,ssh}'), ($2, 'w2', 'default', '{nagios}')`, uuid.New(), uuid.New())
	exec(`INSERT INTO workers (id, name, zone, engines, stopped_at) VALUES ($1, 'gone', 'default', '{nagios,jdbc}', now())`, uuid.New())
	exec(`INSERT INTO workers (id, name, zone, engines, last_seen) VALUES ($1, 'silent', 'default', '{nagios,jdbc}', now() - interval '5 minutes')`, uuid.New())
	exec(`INSERT INTO nodes (id, role, name, capabilities) VALUES ($1, 'notifier', 'n1', '{email,sms}'), ($2, 'serve', 's1', '{worker-gateway}'), ($3, 'serve', 's2', '{worker-gateway}')`,
		uuid.New(), uuid.New(), uuid.New())
	// Site a's remote worker of its private zone "office".
	err := tenants.InSite(a.ctx(), a.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		key := uuid.New()
		if _, err := tx.Exec(ctx, `INSERT INTO worker_keys (id, site_id, zone, name, key_hash) VALUES ($1, bergamot_site(), 'office', 'k', $2)`, key, []byte(key.String())); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO worker_connections (id, site_id, key_id, zone, name, engines) VALUES ($1, bergamot_site(), $2, 'office', 'office-1', '{nagios,internal}')`, uuid.New(), key)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e := self.New(self.Options{Source: &store.SelfCheck{Pool: a.db.Pool}})
	run := func(site uuid.UUID, zone, executor string, params map[string]string) *checks.Result {
		t.Helper()
		res, err := e.Execute(tenants.WithSite(ctx, site), &checks.Request{SiteID: site.String(), Zone: zone, Engine: "internal", Executor: executor,
			Parameters: params, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, tc := range []struct {
		name           string
		site           uuid.UUID
		zone, executor string
		params         map[string]string
		status         checks.Status
		output         string
		value          float64
	}{
		{"stock single-node minimums", a.id, "default", "workers", map[string]string{"warning": "1", "critical": "1"}, checks.StatusOK, `OK: 2 workers alive in zone "default"`, 2},
		{"stock cluster minimums", a.id, "default", "workers", map[string]string{"warning": "3", "critical": "2"}, checks.StatusWarning, "WARNING: 2 workers alive in zone \"default\" (want at least 3, critical below 2)", 2},
		{"engines narrow", a.id, "default", "workers", map[string]string{"warning": "2", "critical": "1", "engines": "jdbc, ssh"}, checks.StatusWarning, "1 worker alive in zone \"default\" offering jdbc, ssh", 1},
		{"engine nobody offers", a.id, "default", "workers", map[string]string{"engines": "libvirt"}, checks.StatusCritical, "no worker offers engine libvirt", 0},
		{"private zone, own site", a.id, "office", "workers", nil, checks.StatusOK, `1 worker alive in zone "office"`, 1},
		{"private zone, other site", b.id, "office", "workers", nil, checks.StatusCritical, `0 workers alive in zone "office"`, 0},
		{"notifiers", a.id, "default", "notifiers", map[string]string{"engines": "email"}, checks.StatusOK, "1 notifier alive offering email", 1},
		{"notifier channel missing", a.id, "default", "notifiers", map[string]string{"engines": "slack"}, checks.StatusCritical, "no notifier offers channel slack", 0},
		{"proxies", a.id, "default", "proxies", map[string]string{"warning": "3", "critical": "2"}, checks.StatusWarning, "2 proxies alive", 2},
		{"bad minimum", a.id, "default", "workers", map[string]string{"warning": "many"}, checks.StatusError, `parameter "warning": "many" is not a number`, -1},
		{"bad executor", a.id, "default", "queues", nil, checks.StatusError, `no executor "queues"`, -1},
	} {
		res := run(tc.site, tc.zone, tc.executor, tc.params)
		if res.Status != tc.status || !strings.Contains(res.Output, tc.output) {
			t.Errorf("%s: %s %q, want %s with %q", tc.name, res.Status, res.Output, tc.status, tc.output)
			continue
		}
		if tc.value >= 0 && (len(res.Perfdata) != 1 || *res.Perfdata[0].Value != tc.value) {
			t.Errorf("%s: perfdata %+v, want %v", tc.name, res.Perfdata, tc.value)
		}
	}
	if res := run(a.id, "default", "workers", nil); !strings.Contains(res.LongOutput, "w1: nagios, jdbc, ssh") || strings.Contains(res.LongOutput, "gone") {
		t.Errorf("long output %q, want the live workers and their engines", res.LongOutput)
	}
	// Under the hosted policy the operator's worker names stay hidden.
	res, _ := e.Execute(ctx, &checks.Request{SiteID: a.id.String(), Zone: "default", Executor: "workers", Policy: &checks.Policy{Mode: checks.PolicyHosted}})
	if res.Status != checks.StatusOK || strings.Contains(res.LongOutput, "w1") {
		t.Errorf("hosted: %s %q %q", res.Status, res.Output, res.LongOutput)
	}
}
