package jobs

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const dependsXML = `<bergamot site="t">
	<host name="db1" address="127.0.0.1">
		<service name="postgres"><state failed-after="2" recovers-after="1"/></service>
	</host>
	<host name="web1" address="127.0.0.1">
		<service name="app"><state failed-after="2" recovers-after="1"/><depends>db1/postgres</depends></service>
		<service name="cache"><state failed-after="1" recovers-after="1"/></service>
	</host>
</bergamot>`

// machine reads a check's stored state machine.
func (p *pipeline) machine(id uuid.UUID) monitor.State {
	p.t.Helper()
	var raw []byte
	err := tenants.InSite(p.ctx(), p.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT machine FROM check_state WHERE check_id = $1`, id).Scan(&raw)
	})
	if err != nil {
		p.t.Fatal(err)
	}
	var s monitor.State
	if err := json.Unmarshal(raw, &s); err != nil {
		p.t.Fatal(err)
	}
	return s
}

// notifications counts the events of check that would notify (what the
// notification dispatcher queues jobs for).
func (r *recordingSink) notifications(check uuid.UUID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, pc := range r.pcs {
		for _, e := range pc.Events {
			if pc.CheckID == check && e.Notify && e.Type != monitor.NotifyNone {
				n++
			}
		}
	}
	return n
}

// A service depending on another host's service: it does not go hard while
// the dependency is changing, is encompassed (no alert, no notification)
// while the dependency is a hard problem, and alerts again once the
// dependency recovers.
func TestDependsOnAnotherHostsService(t *testing.T) {
	p := newPipeline(t, parseXML(t, dependsXML))
	rec := &recordingSink{}
	p.proc.Sinks = append(p.proc.Sinks, rec)
	app := p.state("service", "app", "web1").id

	// Dependency soft CRITICAL (1/2): the dependent stays soft however
	// often it fails.
	p.push("db1", "postgres", checks.StatusCritical, "connection refused")
	p.expect("service", "postgres", "db1", "CRITICAL", false, "connection refused")
	for range 3 {
		p.push("web1", "app", checks.StatusCritical, "500 from /health")
		p.expect("service", "app", "web1", "CRITICAL", false, "500")
	}
	if s := p.state("service", "app", "web1"); s.alerts != 0 {
		t.Fatalf("app opened %d alerts while its dependency was changing", s.alerts)
	}

	// Dependency hard CRITICAL: the dependent goes hard but encompassed,
	// with no alert and no notification of its own.
	p.push("db1", "postgres", checks.StatusCritical, "connection refused")
	if s := p.expect("service", "postgres", "db1", "CRITICAL", true, "refused"); s.alerts != 1 {
		t.Fatalf("postgres has %d alerts, want 1", s.alerts)
	}
	p.push("web1", "app", checks.StatusCritical, "500 from /health")
	if s := p.expect("service", "app", "web1", "CRITICAL", true, "500"); s.alerts != 0 {
		t.Fatalf("encompassed app opened %d alerts", s.alerts)
	}
	if m := p.machine(app); !m.Encompassed || m.AlertOpen {
		t.Fatalf("app machine: encompassed=%v alertOpen=%v; want encompassed, no alert", m.Encompassed, m.AlertOpen)
	}
	if n := rec.notifications(app); n != 0 || rec.events(app, monitor.EventHardProblem) != 0 {
		t.Fatalf("encompassed app: %d notifying events, %d hard-problem events; want none", n, rec.events(app, monitor.EventHardProblem))
	}

	// A check without <depends> on the same host is unaffected.
	p.push("web1", "cache", checks.StatusCritical, "down")
	if s := p.expect("service", "cache", "web1", "CRITICAL", true, "down"); s.alerts != 1 {
		t.Fatalf("independent cache has %d alerts, want 1", s.alerts)
	}

	// Dependency recovers: the still-failing dependent now alerts.
	p.push("db1", "postgres", checks.StatusOK, "accepting connections")
	p.expect("service", "postgres", "db1", "OK", true, "accepting")
	p.push("web1", "app", checks.StatusCritical, "500 from /health")
	if s := p.expect("service", "app", "web1", "CRITICAL", true, "500"); s.alerts != 1 {
		t.Fatalf("after the dependency recovered app has %d alerts, want 1", s.alerts)
	}
	if m := p.machine(app); m.Encompassed || !m.AlertOpen {
		t.Fatalf("app machine: encompassed=%v alertOpen=%v; want an open alert", m.Encompassed, m.AlertOpen)
	}
	if n := rec.notifications(app); n != 1 {
		t.Fatalf("app notified %d times after the dependency recovered, want 1", n)
	}
}

// depends_on follows configuration changes: ids are resolved at apply, a
// removed <depends> empties the list, and a dependency on a host works.
func TestDependsOnStoredAndUpdated(t *testing.T) {
	p := newPipeline(t, parseXML(t, dependsXML))
	dependsOn := func() []uuid.UUID {
		var ids []uuid.UUID
		err := tenants.InSite(p.ctx(), p.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT c.depends_on FROM checks c JOIN checks h ON h.id = c.parent_id
				WHERE c.name = 'app' AND h.name = 'web1'`).Scan(&ids)
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	pg := p.state("service", "postgres", "db1").id
	if got := dependsOn(); len(got) != 1 || got[0] != pg {
		t.Fatalf("depends_on = %v, want [%v]", got, pg)
	}
	p.apply(parseXML(t, `<bergamot site="t"><host name="web1" address="127.0.0.1">
		<service name="app"><state failed-after="2" recovers-after="1"/><depends>db1, cache</depends></service>
		<service name="cache"><state failed-after="1" recovers-after="1"/></service>
	</host></bergamot>`))
	db1, cache := p.state("host", "db1", "").id, p.state("service", "cache", "web1").id
	if got := dependsOn(); len(got) != 2 || got[0] != db1 || got[1] != cache {
		t.Fatalf("depends_on = %v, want [%v %v]", got, db1, cache)
	}
	// The host dependency is honoured: db1 hard DOWN encompasses app.
	p.push("db1", "", checks.StatusCritical, "host unreachable")
	p.push("db1", "", checks.StatusCritical, "host unreachable")
	p.push("db1", "", checks.StatusCritical, "host unreachable")
	p.push("db1", "", checks.StatusCritical, "host unreachable")
	p.expect("host", "db1", "", "CRITICAL", true, "unreachable")
	p.push("web1", "app", checks.StatusCritical, "500")
	p.push("web1", "app", checks.StatusCritical, "500")
	if s := p.expect("service", "app", "web1", "CRITICAL", true, "500"); s.alerts != 0 {
		t.Fatalf("app depending on a down host opened %d alerts", s.alerts)
	}
	p.apply(parseXML(t, `<bergamot site="t"><host name="web1" address="127.0.0.1">
		<service name="app"><state failed-after="2" recovers-after="1"/></service>
		<service name="cache"><state failed-after="1" recovers-after="1"/></service>
	</host></bergamot>`))
	if got := dependsOn(); len(got) != 0 {
		t.Fatalf("depends_on after removing <depends> = %v, want empty", got)
	}
}
