package jobs

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// pipeline is a site with the real processor and the virtual sink.
type pipeline struct {
	t    *testing.T
	db   *pgtest.DB
	site uuid.UUID
	cfgs *store.Configs
	proc *Processor
	sink *VirtualSink
	rec  *recordingSink
}

// recordingSink collects what the virtual sink forwards.
type recordingSink struct {
	mu  sync.Mutex
	pcs []*ProcessedCheck
}

func (r *recordingSink) HandleEvents(_ context.Context, _ pgx.Tx, pc *ProcessedCheck) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pcs = append(r.pcs, pc)
	return nil
}

func (r *recordingSink) events(check uuid.UUID, kind monitor.EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, pc := range r.pcs {
		for _, e := range pc.Events {
			if pc.CheckID == check && e.Kind == kind {
				n++
			}
		}
	}
	return n
}

func newPipeline(t *testing.T, docs ...*config.Document) *pipeline {
	t.Helper()
	db := pgtest.New(t)
	ctx := context.Background()
	var site *tenants.Site
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var err error
		site, err = tenants.CreateSite(ctx, tx, "s"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := store.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	rec := &recordingSink{}
	sink := &VirtualSink{Pool: db.Pool, Logger: log, Forward: []EventSink{rec}}
	p := &pipeline{t: t, db: db, site: site.ID, cfgs: &store.Configs{Sealer: sealer}, sink: sink, rec: rec,
		proc: &Processor{Pool: db.Pool, Logger: log, Sinks: []EventSink{sink}}}
	for _, d := range docs {
		p.apply(d)
	}
	return p
}

func parseXML(t *testing.T, xml string) *config.Document {
	t.Helper()
	d, err := config.Parse("test.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (p *pipeline) ctx() context.Context { return tenants.WithSite(context.Background(), p.site) }

func (p *pipeline) apply(d *config.Document) {
	p.t.Helper()
	err := tenants.InSite(p.ctx(), p.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		res, err := p.cfgs.Apply(ctx, tx, d, "test", "test.xml", false)
		if err == nil && !res.OK {
			err = res.Errors
		}
		return err
	})
	if err != nil {
		p.t.Fatalf("applying configuration: %v", err)
	}
}

// push submits a passive result like the API does and processes it.
func (p *pipeline) push(host, service string, st checks.Status, output string) {
	p.t.Helper()
	err := tenants.InSite(p.ctx(), p.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		_, err := store.SubmitResultByName(ctx, tx, host, service, st, output, "test")
		return err
	})
	if err != nil {
		p.t.Fatalf("submitting %s/%s: %v", host, service, err)
	}
	p.process()
}

func (p *pipeline) process() {
	p.t.Helper()
	for {
		n, err := p.proc.RunOnce(context.Background())
		if err != nil {
			p.t.Fatalf("processing: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

type stateRow struct {
	id     uuid.UUID
	status string
	hard   bool
	output string
	alerts int
}

// state reads a check by kind and name (parent: the host or cluster name).
func (p *pipeline) state(kind, name, parent string) stateRow {
	p.t.Helper()
	var s stateRow
	err := tenants.InSite(p.ctx(), p.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT c.id, s.status, s.hard, s.output, (SELECT count(*) FROM alerts a WHERE a.check_id = c.id)
			FROM checks c JOIN check_state s ON s.check_id = c.id LEFT JOIN checks pc ON pc.id = c.parent_id
			WHERE c.kind = $1 AND c.name = $2 AND COALESCE(pc.name, '') = $3`, kind, name, parent).
			Scan(&s.id, &s.status, &s.hard, &s.output, &s.alerts)
	})
	if err != nil {
		p.t.Fatalf("reading %s %s: %v", kind, name, err)
	}
	return s
}

func (p *pipeline) expect(kind, name, parent, status string, hard bool, output string) stateRow {
	p.t.Helper()
	s := p.state(kind, name, parent)
	if s.status != status || s.hard != hard || !strings.Contains(s.output, output) {
		p.t.Fatalf("%s %q: got %s hard=%v %q; want %s hard=%v containing %q", kind, name, s.status, s.hard, s.output, status, hard, output)
	}
	return s
}

const poolXML = `<bergamot site="test">
	<host name="generic" template="yes"><state failed-after="1" recovers-after="1"/></host>
	<host name="web1" extends="generic" resource-pool="p"/>
	<host name="web2" extends="generic" resource-pool="p"/>
	<host name="web3" extends="generic" resource-pool="p"/>
	<host name="slow" resource-pool="q"><state failed-after="2" recovers-after="1"/></host>
	<cluster name="web"><condition>majority of hosts in pool 'p'</condition></cluster>
	<cluster name="web-lenient"><condition>majority of hosts in pool 'p' as OK, CRITICAL</condition></cluster>
	<cluster name="outer"><condition>cluster 'web' and host 'slow'</condition></cluster>
</bergamot>`

func TestMajorityOfPool(t *testing.T) {
	p := newPipeline(t, parseXML(t, poolXML))
	for _, h := range []string{"web1", "web2", "web3", "slow"} {
		p.push(h, "", checks.StatusOK, "up")
	}
	p.expect("cluster", "web", "", "OK", true, "3 of 3 members OK")
	p.expect("cluster", "outer", "", "OK", true, "")

	p.push("web1", "", checks.StatusCritical, "down")
	web := p.expect("cluster", "web", "", "WARNING", true, "web1 CRITICAL")
	if web.alerts != 1 {
		t.Fatalf("cluster web at WARNING: %d alerts, want the one a hard problem opens", web.alerts)
	}
	p.expect("cluster", "web-lenient", "", "OK", true, "")
	p.expect("cluster", "outer", "", "WARNING", true, "") // re-evaluated through cluster 'web'

	p.push("web2", "", checks.StatusCritical, "down")
	web = p.expect("cluster", "web", "", "CRITICAL", true, "1 of 3 members OK")
	p.expect("cluster", "web-lenient", "", "CRITICAL", true, "")
	if web.alerts != 1 || p.rec.events(web.id, monitor.EventHardProblem) != 1 {
		t.Fatalf("cluster web: %d alerts, %d hard-problem events; want exactly one", web.alerts, p.rec.events(web.id, monitor.EventHardProblem))
	}

	// Members recover: the alert closes.
	p.push("web1", "", checks.StatusOK, "up")
	p.push("web2", "", checks.StatusOK, "up")
	p.expect("cluster", "web", "", "OK", true, "3 of 3 members OK")
	if p.rec.events(web.id, monitor.EventRecovered) != 1 {
		t.Fatalf("cluster web: no recovery event")
	}
}

func TestVirtualHardOnlyWhenMembersHard(t *testing.T) {
	p := newPipeline(t, parseXML(t, poolXML))
	for _, h := range []string{"web1", "web2", "web3", "slow"} {
		p.push(h, "", checks.StatusOK, "up")
	}
	p.push("slow", "", checks.StatusCritical, "down") // soft: failed-after 2
	p.expect("host", "slow", "", "CRITICAL", false, "")
	p.expect("cluster", "outer", "", "CRITICAL", false, "slow CRITICAL")
	p.push("slow", "", checks.StatusCritical, "down")
	outer := p.expect("cluster", "outer", "", "CRITICAL", true, "")
	if outer.alerts != 1 {
		t.Fatalf("outer: %d alerts, want 1", outer.alerts)
	}
}

func TestResourceOverServices(t *testing.T) {
	p := newPipeline(t, parseXML(t, `<bergamot site="test">
	<service name="generic-svc" template="yes"><state failed-after="1" recovers-after="1"/></service>
	<host name="db1"><service name="listener" extends="generic-svc" resource-pool="pg"/></host>
	<host name="db2"><service name="listener" extends="generic-svc" resource-pool="pg"/></host>
	<cluster name="pgsql">
		<condition>host 'db1' or host 'db2'</condition>
		<resource name="listener">
			<condition>service 'listener' on host 'db1' or service 'listener' on host 'db2'</condition>
		</resource>
		<resource name="all-listeners"><condition>all of services in pool 'pg'</condition></resource>
	</cluster>
</bergamot>`))
	p.push("db1", "listener", checks.StatusOK, "accepting")
	p.push("db2", "listener", checks.StatusOK, "accepting")
	p.expect("resource", "listener", "pgsql", "OK", true, "2 of 2 members OK")
	p.push("db1", "listener", checks.StatusCritical, "refused")
	p.expect("resource", "listener", "pgsql", "OK", true, "listener on db1 CRITICAL")
	all := p.expect("resource", "all-listeners", "pgsql", "CRITICAL", true, "listener on db1 CRITICAL")
	if all.alerts != 1 {
		t.Fatalf("all-listeners: %d alerts, want 1", all.alerts)
	}
}

// TestFixtureClusterExample runs the example over the fixture
// cluster template (generic-cluster from templates/clusters.xml).
func TestFixtureClusterExample(t *testing.T) {
	base := fixtures.Path(t, "bergamot-config/base") + "/"
	fixture, err := config.LoadPaths(base+"teams.xml", base+"timeperiods.xml", base+"security.xml", base+"templates/clusters.xml")
	if err != nil {
		t.Fatalf("loading the fixture cluster template: %v", err)
	}
	p := newPipeline(t, fixture, parseXML(t, `<bergamot site="test">
	<service name="ui-daemon" template="yes" security-domains="global"><state failed-after="1" recovers-after="1"/></service>
	<host name="ui1" resource-pool="bergamot-ui-cluster"><service name="bergamot-ui-daemon" extends="ui-daemon"/></host>
	<host name="ui2" resource-pool="bergamot-ui-cluster"><service name="bergamot-ui-daemon" extends="ui-daemon"/></host>
	<host name="ui3" resource-pool="bergamot-ui-cluster"><service name="bergamot-ui-daemon" extends="ui-daemon"/></host>
	<cluster name="bergamot-ui" extends="generic-cluster">
		<condition>majority of service 'bergamot-ui-daemon' on hosts in pool 'bergamot-ui-cluster'</condition>
	</cluster>
</bergamot>`))
	for _, h := range []string{"ui1", "ui2", "ui3"} {
		p.push(h, "bergamot-ui-daemon", checks.StatusOK, "running")
	}
	p.expect("cluster", "bergamot-ui", "", "OK", true, "3 of 3 members OK")
	p.push("ui3", "bergamot-ui-daemon", checks.StatusCritical, "not running")
	p.expect("cluster", "bergamot-ui", "", "WARNING", true, "2 of 3 members OK: bergamot-ui-daemon on ui3 CRITICAL")
}

// TestVirtualConfigChange: a new condition takes effect once the
// configuration notification drops the cached index.
func TestVirtualConfigChange(t *testing.T) {
	p := newPipeline(t, parseXML(t, poolXML))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.sink.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	p.push("web1", "", checks.StatusCritical, "down")
	p.expect("cluster", "web", "", "WARNING", true, "")

	p.apply(parseXML(t, `<bergamot site="test"><cluster name="web"><condition>host 'web2'</condition></cluster></bergamot>`))
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.push("web2", "", checks.StatusOK, "up")
		if p.state("cluster", "web", "").status == "OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster web still %+v after a configuration change", p.state("cluster", "web", ""))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
