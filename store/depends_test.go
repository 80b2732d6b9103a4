package store_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

const dependsBase = `<bergamot site="d">
<host name="db1" address="10.0.0.1"><service name="postgres"/></host>
<host name="web1" address="10.0.0.2">
  <service name="nrpe"/>
  <service name="app"><depends>nrpe, db1/postgres</depends></service>
</host>
</bergamot>`

func (s *site) dependsOn(host, service string) []uuid.UUID {
	s.t.Helper()
	var ids []uuid.UUID
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT c.depends_on FROM checks c JOIN checks h ON h.id = c.parent_id
			WHERE h.name = $1 AND c.name = $2`, host, service).Scan(&ids)
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return ids
}

// Bad <depends> (unknown name, the check itself, a cycle) are validation
// errors naming file, line, object and the name, and change nothing.
func TestInvalidDependsChangesNothing(t *testing.T) {
	s := newSite(t)
	s.mustApply(parse(t, dependsBase))
	ids := s.checkIDs()
	if got := s.dependsOn("web1", "app"); len(got) != 2 || got[0] != ids["service/web1/nrpe"] || got[1] != ids["service/db1/postgres"] {
		t.Fatalf("depends_on = %v, want [nrpe postgres] = [%v %v]", got, ids["service/web1/nrpe"], ids["service/db1/postgres"])
	}
	before := s.snapshot()
	res := s.apply(parse(t, `<bergamot site="d">
<host name="web1" address="10.0.0.2">
  <service name="nrpe"><depends>web1/nrpe</depends></service>
  <service name="app"><depends>nrpe, db2/postgres, db1/postgres</depends></service>
</host>
<host name="db1" address="10.0.0.1">
  <depends>web1/app</depends>
  <service name="postgres"/>
</host>
</bergamot>`))
	if res.OK {
		t.Fatal("an invalid <depends> applied")
	}
	want := []string{
		`overlay.xml:3: service "nrpe" on host "web1": depends: "web1/nrpe" is the check itself`,
		`overlay.xml:4: service "app" on host "web1": depends: unknown check "db2/postgres"`,
		`overlay.xml:7: host "db1": depends: dependency cycle: db1 -> web1/app -> db1/postgres -> db1`,
	}
	text := res.Errors.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("errors do not contain %q:\n%s", w, text)
		}
	}
	if after := s.snapshot(); after != before {
		t.Errorf("an invalid configuration changed the database: %+v -> %+v", before, after)
	}
	if got := s.dependsOn("web1", "app"); len(got) != 2 {
		t.Errorf("depends_on changed by an invalid configuration: %v", got)
	}
}

// Every service of many hosts depends on a sibling through a template:
// depends_on is filled for all of them in the apply, and a re-apply writes
// nothing.
func TestDependsAtScale(t *testing.T) {
	const hosts = 500
	var b bytes.Buffer
	b.WriteString(`<bergamot site="scale"><host name="tpl" template="yes"><service name="agent"/>`)
	for i := range 4 {
		fmt.Fprintf(&b, `<service name="s%d"><depends>agent, core/db</depends></service>`, i)
	}
	b.WriteString(`</host><host name="core"><service name="db"/></host>`)
	for i := range hosts {
		fmt.Fprintf(&b, `<host name="h%d" extends="tpl" address="10.0.%d.%d"/>`, i, i>>8, i&255)
	}
	b.WriteString(`</bergamot>`)
	s := newSite(t)
	doc, err := config.Parse("scale.xml", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.mustApply(doc)
	t.Logf("applied %d checks with %d dependencies in %v", hosts*6+2, hosts*8, time.Since(start))
	n := s.count(`SELECT count(*) FROM checks c JOIN checks h ON h.id = c.parent_id
		JOIN checks a ON a.id = c.depends_on[1] AND a.parent_id = h.id AND a.name = 'agent'
		JOIN checks d ON d.id = c.depends_on[2] AND d.name = 'db'
		WHERE cardinality(c.depends_on) = 2`)
	if n != hosts*4 {
		t.Fatalf("%d services depend on their own agent and core/db, want %d", n, hosts*4)
	}
	before := s.snapshot()
	doc, _ = config.Parse("scale.xml", bytes.NewReader(b.Bytes()))
	s.mustApply(doc)
	if after := s.snapshot(); after != before {
		t.Errorf("re-applying the same configuration changed checks: %+v -> %+v", before, after)
	}
}
