package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// baseDir is the default site configuration fixture (60+ files).
func baseDir(t testing.TB) string {
	t.Helper()
	return fixtures.Path(t, "bergamot-config/base")
}

// site is one site in a fresh database with a Configs to apply to it.
type site struct {
	t    testing.TB
	db   *pgtest.DB
	id   uuid.UUID
	cfgs *store.Configs
}

func newSite(t testing.TB) *site {
	t.Helper()
	db := pgtest.New(t)
	ctx := context.Background()
	var s *tenants.Site
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var err error
		s, err = tenants.CreateSite(ctx, tx, "s"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	sealer, err := store.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return &site{t: t, db: db, id: s.ID, cfgs: &store.Configs{Sealer: sealer}}
}

func (s *site) ctx() context.Context { return tenants.WithSite(context.Background(), s.id) }

// apply applies doc and returns the result; a database error fails the test.
func (s *site) apply(doc *config.Document) *store.ApplyResult {
	s.t.Helper()
	var res *store.ApplyResult
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		res, err = s.cfgs.Apply(ctx, tx, doc, "test", "test", false)
		return err
	})
	if err != nil {
		s.t.Fatalf("apply: %v", err)
	}
	return res
}

// mustApply applies doc and fails on validation errors.
func (s *site) mustApply(doc *config.Document) *store.ApplyResult {
	s.t.Helper()
	res := s.apply(doc)
	if !res.OK {
		s.t.Fatalf("apply failed:\n%v", res.Errors)
	}
	return res
}

// count runs a COUNT(*)-style query in the site.
func (s *site) count(q string, args ...any) int {
	s.t.Helper()
	var n int
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, q, args...).Scan(&n)
	})
	if err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// checkIDs maps "kind/parent/name" to every check's id.
func (s *site) checkIDs() map[string]uuid.UUID {
	s.t.Helper()
	out := map[string]uuid.UUID{}
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.id, c.kind, COALESCE(p.name, ''), c.name FROM checks c LEFT JOIN checks p ON p.id = c.parent_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var kind, parent, name string
			if err := rows.Scan(&id, &kind, &parent, &name); err != nil {
				return err
			}
			out[kind+"/"+parent+"/"+name] = id
		}
		return rows.Err()
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

func parse(t testing.TB, xml string) *config.Document {
	t.Helper()
	d, err := config.Parse("overlay.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func loadBase(t testing.TB) *config.Document {
	t.Helper()
	doc, err := config.LoadPaths(baseDir(t), "../config/testdata/linux-host.xml")
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// snapshot is what must not move when nothing changes.
type snapshot struct {
	revisions, objects, checks, schedules int
	updated                               string
}

func (s *site) snapshot() snapshot {
	s.t.Helper()
	var sn snapshot
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM config_revisions), (SELECT count(*) FROM config_objects),
			(SELECT count(*) FROM checks), (SELECT count(*) FROM check_schedule),
			COALESCE((SELECT md5(string_agg(id::text || updated_at::text || spec_hash || parameters::text, ',' ORDER BY id)) FROM checks), '')`).
			Scan(&sn.revisions, &sn.objects, &sn.checks, &sn.schedules, &sn.updated)
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return sn
}

func TestApplyBaseFixtureThenNoOp(t *testing.T) {
	s := newSite(t)
	doc := loadBase(t)
	res := s.mustApply(doc)
	if res.Added < 60 || res.Revision == 0 {
		t.Fatalf("first apply: added %d objects, revision %d; want the whole fixture and a revision", res.Added, res.Revision)
	}
	ids := s.checkIDs()
	host, ok := ids["host//web1.example"]
	if !ok {
		t.Fatalf("host web1.example not materialised; checks: %v", ids)
	}
	if _, ok := ids["service/web1.example/load"]; !ok {
		t.Fatalf("service load of web1.example not materialised; checks: %v", ids)
	}
	// The overridden command parameter reached the stored check.
	if n := s.count(`SELECT count(*) FROM checks WHERE name = 'load' AND parent_id = $1 AND parameters->>'command' = 'check_load_strict'`, host); n != 1 {
		t.Errorf("service load does not carry its overridden NRPE command")
	}
	if n := s.count(`SELECT count(*) FROM check_schedule WHERE check_id = $1`, ids["service/web1.example/load"]); n != 1 {
		t.Errorf("active service load has no schedule row")
	}
	if n := s.count(`SELECT count(*) FROM check_state`); n != len(ids) {
		t.Errorf("%d check_state rows for %d checks", n, len(ids))
	}
	before := s.snapshot()

	again := s.mustApply(loadBase(t))
	if again.Added+again.Changed+again.Removed != 0 || again.Revision != 0 {
		t.Errorf("re-applying the same configuration: %d added, %d changed, %d removed, revision %d; want a no-op\n%s",
			again.Added, again.Changed, again.Removed, again.Revision, again.Diff)
	}
	if after := s.snapshot(); after != before {
		t.Errorf("re-applying the same configuration wrote to the database: %+v -> %+v", before, after)
	}
	for k, id := range s.checkIDs() {
		if ids[k] != id {
			t.Errorf("check %s changed id across re-apply: %s -> %s", k, ids[k], id)
		}
	}
}

func TestExportRoundTripIsNoOp(t *testing.T) {
	s := newSite(t)
	s.mustApply(loadBase(t))
	before := s.snapshot()
	var exported []byte
	err := tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		doc, err := s.cfgs.LoadDocument(ctx, tx)
		if err != nil {
			return err
		}
		exported, err = config.Export(doc, config.WithSecrets())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := config.Parse("export.xml", strings.NewReader(string(exported)))
	if err != nil {
		t.Fatalf("exported configuration does not parse: %v", err)
	}
	res := s.mustApply(doc)
	if res.Added+res.Changed+res.Removed != 0 || res.Revision != 0 {
		t.Errorf("re-applying the export: %d added, %d changed, %d removed; want none\n%s", res.Added, res.Changed, res.Removed, res.Diff)
	}
	if after := s.snapshot(); after != before {
		t.Errorf("re-applying the export wrote to the database: %+v -> %+v", before, after)
	}
}

func TestAbsentRemovesObjectsAndTheirRows(t *testing.T) {
	s := newSite(t)
	s.mustApply(loadBase(t))
	ids := s.checkIDs()
	host := ids["host//web1.example"]
	var children []uuid.UUID
	for k, id := range ids {
		if strings.HasPrefix(k, "service/web1.example/") {
			children = append(children, id)
		}
	}
	if len(children) < 2 {
		t.Fatalf("web1.example has %d services; the template should give it several", len(children))
	}
	all := append([]uuid.UUID{host}, children...)
	res := s.mustApply(parse(t, `<bergamot site="test.site"><host name="web1.example" state="absent"/></bergamot>`))
	if res.Removed != 1 || res.Revision == 0 {
		t.Errorf("removing a host: %d removed, revision %d", res.Removed, res.Revision)
	}
	for table, q := range map[string]string{
		"checks":         `SELECT count(*) FROM checks WHERE id = ANY ($1)`,
		"check_schedule": `SELECT count(*) FROM check_schedule WHERE check_id = ANY ($1)`,
		"check_state":    `SELECT count(*) FROM check_state WHERE check_id = ANY ($1)`,
	} {
		if n := s.count(q, all); n != 0 {
			t.Errorf("%d %s rows left for the removed host and its services", n, table)
		}
	}
	if n := s.count(`SELECT count(*) FROM config_objects WHERE kind = 'host' AND name = 'web1.example'`); n != 0 {
		t.Errorf("the removed host is still in config_objects")
	}
	// Removing a command the host no longer uses.
	res = s.mustApply(parse(t, `<bergamot site="test.site"><command name="check-zombie-procs" state="absent"/></bergamot>`))
	if res.Removed != 1 {
		t.Errorf("removing a command: %d removed", res.Removed)
	}
	if n := s.count(`SELECT count(*) FROM commands WHERE name = 'check-zombie-procs'`); n != 0 {
		t.Errorf("the removed command is still in commands")
	}
}

func TestInvalidConfigChangesNothingAndListsEveryError(t *testing.T) {
	s := newSite(t)
	s.mustApply(loadBase(t))
	before := s.snapshot()
	bad := `<bergamot site="test.site">
<host name="new1" extends="no-such-template" address="10.1.1.1"/>
<host name="new2" extends="linux-server-nrpe" address="10.1.1.2">
  <service name="x" extends="no-such-service-template"/>
</host>
<service name="orphan-ok" template="yes"><schedule every="1"/></service>
</bergamot>`
	res := s.apply(parse(t, bad))
	if res.OK {
		t.Fatal("an invalid configuration applied")
	}
	if len(res.Errors) < 2 {
		t.Fatalf("want both errors, got %d: %v", len(res.Errors), res.Errors)
	}
	text := res.Errors.Error()
	for _, want := range []string{"overlay.xml:2:", `host "new1"`, "no-such-template", "overlay.xml:4:", "no-such-service-template"} {
		if !strings.Contains(text, want) {
			t.Errorf("errors do not mention %q:\n%s", want, text)
		}
	}
	for _, e := range res.Errors {
		if e.File == "" || e.Line == 0 || e.Object == "" {
			t.Errorf("error without file/line/object: %#v", e)
		}
	}
	if after := s.snapshot(); after != before {
		t.Errorf("an invalid configuration changed the database: %+v -> %+v", before, after)
	}
	if n := s.count(`SELECT count(*) FROM checks WHERE name IN ('new1', 'new2')`); n != 0 {
		t.Errorf("hosts of an invalid configuration were created")
	}
}

const secret = "Zq9-unguessable-s3cret-7781"

func TestCredentialsAreSealed(t *testing.T) {
	s := newSite(t)
	s.mustApply(loadBase(t))
	s.mustApply(parse(t, `<bergamot site="test.site">
<credential name="app_db"><summary>App DB</summary><username>appuser</username><password>`+secret+`</password></credential>
<command name="check-with-cred" engine="nagios"><parameter name="command_line">/bin/echo #{resolve_credentials('app_db').password}</parameter></command>
<host name="db1" address="127.0.0.1"><service name="db"><check-command command="check-with-cred"/></service></host>
</bergamot>`))
	owner, err := pgx.Connect(context.Background(), s.db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(context.Background())
	// A dump of every table, as the owner (RLS does not hide rows from it).
	rows, err := owner.Query(context.Background(), `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name)
		FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("found only %d tables", len(tables))
	}
	var hits []string
	for _, tbl := range tables {
		var n int
		if err := owner.QueryRow(context.Background(), fmt.Sprintf(`SELECT count(*) FROM %s t WHERE t::text LIKE '%%' || $1 || '%%'`, tbl), secret).Scan(&n); err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		if n > 0 {
			hits = append(hits, tbl)
		}
	}
	if len(hits) > 0 {
		t.Errorf("the plaintext secret is stored in %v", hits)
	}
	if n := s.count(`SELECT count(*) FROM credentials WHERE name = 'app_db' AND length(sealed) > 0`); n != 1 {
		t.Errorf("credential app_db not stored sealed")
	}
	// The stored check holds a placeholder, not the secret.
	if n := s.count(`SELECT count(*) FROM checks WHERE name = 'db' AND parameters->>'command_line' LIKE '%' || $1 || '%'`, store.CredentialPlaceholder); n != 1 {
		t.Errorf("check parameters do not carry a credential placeholder")
	}
	// The document rebuilt for export opens the seal.
	err = tenants.InSite(s.ctx(), s.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		doc, err := s.cfgs.LoadDocument(ctx, tx)
		if err != nil {
			return err
		}
		out, err := config.Export(doc, config.WithSecrets())
		if !strings.Contains(string(out), secret) {
			t.Errorf("export with secrets does not have the credential's password")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTemplateChangeReachesInheritingChecks(t *testing.T) {
	s := newSite(t)
	tpl := func(v string) *config.Document {
		return parse(t, `<bergamot site="t">
<command name="dummy" engine="dummy"><parameter name="output">#{msg}</parameter></command>
<service name="svc" template="yes"><parameter name="msg">`+v+`</parameter><check-command command="dummy"/></service>
<host name="h1" address="127.0.0.1"><service name="a" extends="svc"/><service name="b" extends="svc"/></host>
<host name="h2" address="127.0.0.1"><service name="a" extends="svc"/></host>
</bergamot>`)
	}
	s.mustApply(tpl("one"))
	ids := s.checkIDs()
	if n := s.count(`SELECT count(*) FROM checks WHERE kind = 'service' AND parameters->>'output' = 'one'`); n != 3 {
		t.Fatalf("%d services with output one; want 3", n)
	}
	res := s.mustApply(parse(t, `<bergamot site="t"><service name="svc" template="yes"><parameter name="msg">two</parameter><check-command command="dummy"/></service></bergamot>`))
	if res.Changed != 1 {
		t.Errorf("changing the template: %d objects changed, want 1", res.Changed)
	}
	if n := s.count(`SELECT count(*) FROM checks WHERE kind = 'service' AND parameters->>'output' = 'two'`); n != 3 {
		t.Errorf("%d of 3 inheriting services follow the template change", n)
	}
	for k, id := range s.checkIDs() {
		if ids[k] != id {
			t.Errorf("check %s changed id: %s -> %s", k, ids[k], id)
		}
	}
}
