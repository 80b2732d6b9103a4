package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/bergamot-monitoring/bergamot"

// pkg is one package of the module as `go list` sees it (production code:
// test imports are not part of the direction rules).
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -deps` over the module: its packages and
// everything they depend on.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goBin, "list", "-e", "-deps", "-json=ImportPath,Imports,Deps", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages: is the test running inside the module?", len(pkgs))
	}
	return pkgs
}

// rel strips the module path: "monitor/virtual", or "" for a package
// outside the module.
func rel(path string) string {
	if path == module {
		return "."
	}
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r
	}
	return ""
}

// under reports whether the module package r is root or inside it.
func under(r, root string) bool {
	return r == root || strings.HasPrefix(r, root+"/")
}

// appLayers are the packages that know about tenants, the database, the
// queues or the transport; the pure and the pluggable parts stay below them.
var appLayers = []string{"store", "tenants", "jobs", "live", "graph", "rest", "server", "cmd", "notifiers/dispatch", "internal/apitest", "internal/pgtest", "internal/devdb"}

// databasePackages are the imports that talk to a database or a queue.
var databasePackages = []string{"database/sql", "github.com/jackc/pgx", "github.com/riverqueue/river"}

// rule says what the packages it covers must not depend on.
type rule struct {
	name     string
	covers   func(r string) bool
	denyApp  []string // module packages (and their sub-packages) that may not be depended on
	denyPath []string // import path prefixes outside the module
}

var rules = []rule{
	{
		name:     "monitor is pure logic: no database, no application layer",
		covers:   func(r string) bool { return under(r, "monitor") },
		denyApp:  append([]string{"notifiers", "config"}, appLayers...),
		denyPath: databasePackages,
	},
	{
		name:     "engines know nothing of the store, the tenants or the pipeline",
		covers:   func(r string) bool { return under(r, "checks") },
		denyApp:  append([]string{"notifiers", "monitor"}, appLayers...),
		denyPath: []string{"github.com/riverqueue/river"},
	},
	{
		name:     "config is parsed and resolved without the store (the store depends on config, not the reverse)",
		covers:   func(r string) bool { return under(r, "config") },
		denyApp:  appLayers,
		denyPath: databasePackages,
	},
	{
		name:     "a notification channel is one package that knows nothing of the store or the queues",
		covers:   func(r string) bool { return under(r, "notifiers") && r != "notifiers/dispatch" },
		denyApp:  appLayers,
		denyPath: databasePackages,
	},
}

// TestDependencyDirections checks every rule against every package's
// dependencies, direct or not.
func TestDependencyDirections(t *testing.T) {
	pkgs := listPackages(t)
	byPath := map[string]pkg{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	for _, ru := range rules {
		covered := 0
		for _, p := range pkgs {
			r := rel(p.ImportPath)
			if r == "" || !ru.covers(r) {
				continue
			}
			covered++
			reported := map[string]bool{}
			for _, dep := range p.Deps {
				why := denied(ru, dep)
				if why == "" || reported[why] {
					continue
				}
				reported[why] = true
				t.Errorf("%s depends on %s (through its import of %s): %s", r, why, strings.Join(importsLeadingTo(p, byPath, ru, why), ", "), ru.name)
			}
		}
		if covered == 0 {
			t.Errorf("rule %q covers no package: a package moved, update the rule", ru.name)
		}
	}
}

// importsLeadingTo names p's direct imports that are, or depend on, what
// the entry why of ru forbids.
func importsLeadingTo(p pkg, byPath map[string]pkg, ru rule, why string) []string {
	var out []string
	for _, imp := range p.Imports {
		if denied(ru, imp) == why {
			out = append(out, imp)
			continue
		}
		for _, dep := range byPath[imp].Deps {
			if denied(ru, dep) == why {
				out = append(out, imp)
				break
			}
		}
	}
	return out
}

// denied says which entry of ru forbids dep, or "".
func denied(ru rule, dep string) string {
	if r := rel(dep); r != "" {
		for _, d := range ru.denyApp {
			if under(r, d) {
				return d
			}
		}
		return ""
	}
	if dep == "database/sql/driver" {
		// Interfaces only (uuid.UUID implements driver.Valuer): it talks to
		// no database.
		return ""
	}
	for _, d := range ru.denyPath {
		if dep == d || strings.HasPrefix(dep, d+"/") {
			return d
		}
	}
	return ""
}

// TestNothingImportsCmd: cmd/ is the wiring, the one place that knows every
// part; nothing may depend on it.
func TestNothingImportsCmd(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if r := rel(imp); r != "" && under(r, "cmd") {
				t.Errorf("%s imports %s: nothing imports cmd/", rel(p.ImportPath), r)
			}
		}
	}
}

// sqlOwners hold the SQL on tenant tables: store (one place per table
// family), tenants (sites, users, auth, the RLS helper) and the migrations.
var sqlOwners = []string{"store", "tenants", "migrations"}

// sqlDebt lists the files outside the owners that may hold SQL on tenant
// tables; remove a file here when it no longer holds such SQL (the test
// logs entries that became stale). A new file must not be added: call the
// store.
//
// What is left are test rigs only: packages under internal/ that no
// production code imports (depguard), which read from outside, on purpose,
// what every process of a multi-node test wrote, to judge it. Production
// code has no entry: the scheduler's claim is store/schedule.go, the
// worker gateway's table family store/gateway.go.
var sqlDebt = map[string]string{
	"internal/rigtest/ledger.go":     "test rig (test-only): the slot and alert ledgers read what every process wrote, from outside (triggers on result_inbox)",
	"internal/rigtest/subscriber.go": "test rig (test-only): the database's state the live subscribers must match",
}

// TestTenantSQLLivesInStore is a heuristic: it parses every non-test Go
// file outside the SQL owners and looks in its string literals for
// "FROM|JOIN|INSERT INTO|UPDATE|DELETE FROM|COPY <table>" (keywords in
// capitals, as this code base writes SQL) and for pgx.Identifier{"<table>"},
// where <table> is a tenant table: one the migrations create with a site_id
// column (or a partition of one). It misses SQL built from fragments and
// lower-case SQL; it does not read comments.
func TestTenantSQLLivesInStore(t *testing.T) {
	root := "../.."
	tables := tenantTables(t, filepath.Join(root, "migrations"))
	re := regexp.MustCompile(`\b(?:FROM|JOIN|INSERT INTO|UPDATE|DELETE FROM|COPY)\s+(` + strings.Join(tables, "|") + `)\b`)
	isTable := map[string]bool{}
	for _, tb := range tables {
		isTable[tb] = true
	}
	found := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(root, path)
		r = filepath.ToSlash(r)
		if d.IsDir() {
			if r != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" || r == "frontend") {
				return filepath.SkipDir
			}
			for _, o := range sqlOwners {
				if r == o {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(r, ".go") || strings.HasSuffix(r, "_test.go") {
			return nil
		}
		hits, err := tenantSQL(path, re, isTable)
		if err != nil {
			return err
		}
		if len(hits) > 0 {
			found[r] = hits
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, hits := range found {
		if _, ok := sqlDebt[file]; !ok {
			t.Errorf("%s holds SQL on tenant tables (%s): only %s do; call the owning store function instead", file, strings.Join(hits, ", "), strings.Join(sqlOwners, ", "))
		}
	}
	for file := range sqlDebt {
		if _, ok := found[file]; !ok {
			t.Logf("%s no longer holds SQL on tenant tables: remove it from sqlDebt", file)
		}
	}
}

// tenantSQL returns the tenant tables the file's string literals name in SQL.
func tenantSQL(path string, re *regexp.Regexp, isTable map[string]bool) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(n.Value)
			if err != nil {
				return true
			}
			for _, m := range re.FindAllStringSubmatch(s, -1) {
				seen[m[1]] = true
			}
		case *ast.CompositeLit:
			// pgx.Identifier{"metrics"} for CopyFrom.
			if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Identifier" {
				for _, e := range n.Elts {
					if lit, ok := e.(*ast.BasicLit); ok {
						if s, err := strconv.Unquote(lit.Value); err == nil && isTable[s] {
							seen[s] = true
						}
					}
				}
			}
		}
		return true
	})
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// tenantTables reads the up migrations for the tables created with a
// site_id column or as a partition of another table.
func tenantTables(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.up.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations under %s: %v", dir, err)
	}
	create := regexp.MustCompile(`(?is)CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*(\(.*?\n\)|PARTITION OF \w+)`)
	set := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range create.FindAllStringSubmatch(string(b), -1) {
			if strings.Contains(m[2], "site_id") || strings.HasPrefix(strings.ToUpper(m[2]), "PARTITION OF") {
				set[m[1]] = true
			}
		}
	}
	if !set["check_state"] || !set["checks"] {
		t.Fatalf("found tenant tables %v: the migrations' CREATE TABLE format changed, update tenantTables", set)
	}
	var out []string
	for tb := range set {
		out = append(out, tb)
	}
	// Longest first, so that "metrics_default" wins over "metrics".
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
