package nagios

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/config"
)

// snippetBase is a small valid configuration the focused tests add to:
// hosts A, B, C (hostgroup hg-ab = A, B; hg-a = A), services X and
// "Y web" on every host, contacts alice (team ops) and bob.
const snippetBase = `
define command{
	command_name ok
	command_line /bin/true
}
define timeperiod{
	timeperiod_name 24x7
	monday 00:00-24:00
}
define timeperiod{
	timeperiod_name workhours
	monday 09:00-17:00
}
define contact{
	contact_name alice
	email alice@example.com
}
define contact{
	contact_name bob
	email bob@example.com
}
define contactgroup{
	contactgroup_name ops
	members alice
}
define host{
	name h-tmpl
	register 0
	max_check_attempts 3
	check_command ok
	notification_interval 10
}
define host{
	host_name A
	use h-tmpl
	address 10.0.0.1
}
define host{
	host_name B
	use h-tmpl
	address 10.0.0.2
}
define host{
	host_name C
	use h-tmpl
	address 10.0.0.3
}
define hostgroup{
	hostgroup_name hg-ab
	members A,B
}
define hostgroup{
	hostgroup_name hg-a
	members A
}
define service{
	name s-tmpl
	register 0
	max_check_attempts 3
	check_command ok
	notification_interval 15
}
define service{
	use s-tmpl
	host_name *
	service_description X
}
define service{
	use s-tmpl
	host_name *
	service_description Y web
}
`

// importSnippet imports snippetBase plus extra and loads the result with
// Bergamot's own configuration package, which must accept it.
func importSnippet(t *testing.T, extra string) (*config.Model, *Result) {
	t.Helper()
	res, err := importText(t, extra)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return loadImported(t, res), res
}

// loadImported parses and resolves an import's XML with Bergamot's own
// configuration package, which must accept it.
func loadImported(t *testing.T, res *Result) *config.Model {
	t.Helper()
	doc, err := config.Parse("import.xml", bytes.NewReader(res.XML))
	if err != nil {
		t.Fatalf("bergamot parse: %v\n%s", err, res.XML)
	}
	m, err := config.Resolve(doc)
	if err != nil {
		t.Fatalf("bergamot resolve: %v\n%s", err, res.XML)
	}
	return m
}

func importText(t *testing.T, extra string) (*Result, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "objects.cfg")
	if err := os.WriteFile(p, []byte(snippetBase+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return ImportContext(context.Background(), Options{Site: "snippet"}, p)
}

func findCheck(t *testing.T, m *config.Model, host, svc string) *config.Check {
	t.Helper()
	for _, h := range m.Hosts {
		if h.Name != host {
			continue
		}
		if svc == "" {
			return h
		}
		for _, s := range h.Services {
			if s.Name == svc {
				return s
			}
		}
	}
	t.Fatalf("no check %s/%s", host, svc)
	return nil
}

// hasWarning reports whether a warning at line mentions all of words.
func hasWarning(res *Result, line int, words ...string) bool {
	for _, w := range res.Warnings {
		if line != 0 && w.Pos.Line != line && !alsoAt(w, line) {
			continue
		}
		ok := true
		for _, word := range words {
			ok = ok && strings.Contains(w.String(), word)
		}
		if ok {
			return true
		}
	}
	return false
}

func alsoAt(w Warning, line int) bool {
	for _, p := range w.Also {
		if p.Line == line {
			return true
		}
	}
	return false
}

// baseLines is where the snippet's own lines start.
var baseLines = strings.Count(snippetBase, "\n")

// wantWarning is a warning expected at a line of a snippet (counted from
// the snippet's first line) that mentions all of words.
type wantWarning struct {
	line  int
	words []string
}

// checkWant is a value expected of one converted check, as Bergamot's own
// configuration package resolves it.
type checkWant struct {
	host, svc string
	what      string                  // names the value in failures
	get       func(*config.Check) any // reads it
	want      any
}

// snippetCase is a configuration added to snippetBase, the checks it must
// produce and the warnings it must (and must not) give.
type snippetCase struct {
	name     string
	cfg      string
	checks   []checkWant
	warnings []wantWarning
	// quiet are warnings that must not be given: a value that Bergamot's
	// fixed behaviour matches is nothing to warn about.
	quiet []wantWarning
	// xml are strings the produced document must contain.
	xml []string
}

func runSnippetCases(t *testing.T, cases []snippetCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, res := importSnippet(t, tc.cfg)
			for _, c := range tc.checks {
				if got := c.get(findCheck(t, m, c.host, c.svc)); !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s/%s %s = %#v, want %#v", c.host, c.svc, c.what, got, c.want)
				}
			}
			for _, w := range tc.warnings {
				if !hasWarning(res, baseLines+w.line, w.words...) {
					t.Errorf("no warning at line %d with %q:\n%v", baseLines+w.line, w.words, res.Warnings)
				}
			}
			for _, w := range tc.quiet {
				if hasWarning(res, baseLines+w.line, w.words...) {
					t.Errorf("unexpected warning at line %d with %q:\n%v", baseLines+w.line, w.words, res.Warnings)
				}
			}
			for _, x := range tc.xml {
				if !bytes.Contains(res.XML, []byte(x)) {
					t.Errorf("no %s in:\n%s", x, res.XML)
				}
			}
		})
	}
}

// Readers of converted check values, for checkWant.
func depends(c *config.Check) any     { return c.Depends }
func groups(c *config.Check) any      { return c.Groups }
func escalations(c *config.Check) any { return c.Notifications.Escalations }
func parameter(name string) func(*config.Check) any {
	return func(c *config.Check) any { return c.Parameters[name] }
}
func description(c *config.Check) any { return c.Description }
func serviceNames(c *config.Check) any {
	var out []string
	for _, s := range c.Services {
		out = append(out, s.Name)
	}
	return out
}

func TestConversions(t *testing.T) {
	runSnippetCases(t, []snippetCase{
		{
			name: "dependencies",
			cfg: `define servicedependency{
	host_name A
	service_description X
	dependent_host_name B
	dependent_service_description Y web
	notification_failure_criteria w,u,c
	dependency_period workhours
}
define servicedependency{
	hostgroup_name hg-ab
	service_description X
	dependent_service_description *,!X
	execution_failure_criteria c
}
define hostdependency{
	host_name A
	dependent_hostgroup_name hg-ab
	notification_failure_criteria d,u
}
define hostdependency{
	host_name B
	dependent_host_name C
	inherits_parent 1
	notification_failure_criteria d
}
define hostdependency{
	host_name C
	dependent_host_name A
}
`,
			checks: []checkWant{
				{"B", "Y-web", "depends", depends, []string{"A/X", "X"}}, // cross-host, then same-host from hg-ab
				{"A", "Y-web", "depends", depends, []string{"X"}},        // same-host dependency ('*,!X' on A)
				{"C", "Y-web", "depends", depends, []string(nil)},
				{"B", "", "depends", depends, []string{"A"}},
				{"A", "", "depends", depends, []string(nil)},      // A on itself is skipped; C->A never fails
				{"C", "", "depends", depends, []string{"B", "A"}}, // inherits_parent: B's own dependency on A
			},
			warnings: []wantWarning{
				{7, []string{"dependency_period", "dropped"}},
				{9, []string{"some master states only", "unknown or warning"}},
				{13, []string{"execution_failure_criteria", "keeps running"}},
				{15, []string{"'A' would depend on itself"}},
				{20, []string{"some master states only", "unreachable"}},
				{26, []string{"nagios4 never applies it"}},
			},
		},
		{
			name: "parents become dependencies",
			cfg: `define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	parents A,B
}
`,
			checks:   []checkWant{{"D", "", "depends", depends, []string{"A", "B"}}},
			warnings: []wantWarning{{5, []string{"parents", "all of them"}}},
		},
		{
			name: "escalations",
			cfg: `define serviceescalation{
	host_name A
	service_description X
	first_notification 3
	last_notification 0
	notification_interval 15
	contact_groups ops
	escalation_period workhours
	escalation_options c,r
}
define hostescalation{
	hostgroup_name hg-ab
	host_name !B
	first_notification 2
	last_notification 4
	notification_interval 60
	contacts bob
}
define hostescalation{
	host_name A
	first_notification 1
	last_notification 0
	contact_groups ops
	contacts alice,bob
}
define serviceescalation{
	host_name C
	service_description Y web
	first_notification 2
	contacts bob
}
define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	notification_interval 0
}
define hostescalation{
	host_name D
	first_notification 2
	contacts bob
}
`,
			checks: []checkWant{
				// (3-1) x X's notification_interval of 15 minutes.
				{"A", "X", "escalations", escalations, []config.Escalation{
					{After: 30 * time.Minute, TimePeriod: "workhours", Ignore: []string{"unknown", "warning"}, Teams: []string{"ops"}}}},
				// Levels in time order: first_notification 1, then 2 x 10 minutes.
				{"A", "", "escalations", escalations, []config.Escalation{
					{After: 0, Teams: []string{"ops"}, Contacts: []string{"alice", "bob"}},
					{After: 10 * time.Minute, Contacts: []string{"bob"}}}},
				{"B", "", "escalations (excluded by !B)", escalations, []config.Escalation(nil)},
				{"C", "Y-web", "escalations", escalations, []config.Escalation{{After: 15 * time.Minute, Contacts: []string{"bob"}}}},
				{"D", "", "escalations (D notifies once, so they cannot fire)", escalations, []config.Escalation(nil)},
			},
			warnings: []wantWarning{
				{15, []string{"last_notification", "notification 4"}},
				{16, []string{"notification_interval", "every 60m"}},
				{40, []string{"never sends notification 2"}},
			},
		},
		{
			name: "servicegroup patterns",
			cfg: `define servicegroup{
	servicegroup_name sg
	members A,*,A,!X,B,X
}
define service{
	use s-tmpl
	host_name A
	hostgroup_name *,!hg-a
	service_description Z
}
`,
			checks: []checkWant{
				{"A", "Y-web", "groups", groups, []string{"sg"}},
				{"A", "X", "groups (excluded by !X)", groups, []string(nil)},
				{"B", "X", "groups", groups, []string{"sg"}},
				// An explicitly named host stays even when an excluded
				// hostgroup holds it (nagios4: "if they're explicitly added
				// we must obey"); C is in no hostgroup.
				{"A", "", "services", serviceNames, []string{"X", "Y-web", "Z"}},
				{"B", "", "services", serviceNames, []string{"X", "Y-web", "Z"}},
				{"C", "", "services", serviceNames, []string{"X", "Y-web"}},
			},
		},
		{
			name: "extinfo",
			cfg: `define hostextinfo{
	host_name A
	notes_url http://wiki.example.com/$HOSTNAME$
	icon_image server.png
	vrml_image server.wrl
}
define serviceextinfo{
	host_name B
	service_description X
	notes Ask the web team
	action_url http://graphs.example.com/$HOSTADDRESS$
}
`,
			checks: []checkWant{
				{"A", "", "notes_url", parameter("notes_url"), "http://wiki.example.com/A"},
				{"A", "", "icon_image", parameter("icon_image"), "server.png"},
				{"B", "X", "description", description, "Ask the web team"},
				{"B", "X", "action_url", parameter("action_url"), "http://graphs.example.com/10.0.0.2"},
			},
			warnings: []wantWarning{{5, []string{"vrml_image", "not converted"}}},
		},
	})
}

// TestImportErrors: configurations nagios4 rejects are rejected, naming
// the file and line.
func TestImportErrors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{"define hostdependency{\n dependent_host_name A\n}\n", "no host_name or hostgroup_name"},
		{"define hostdependency{\n host_name nope\n dependent_host_name A\n}\n", "could not find any host matching 'nope'"},
		{"define servicedependency{\n host_name A\n service_description nope\n dependent_service_description X\n}\n", "could not find a service matching host name 'A' and description 'nope'"},
		{"define serviceescalation{\n host_name A\n contacts bob\n first_notification 1\n}\n", "has hosts but no service_description"},
		{"define servicegroup{\n servicegroup_name bad\n members *,X\n}\n", "nagios4 does not expand '*'"},
		{"define hostgroup{\n hostgroup_name bad\n members A,!nohost\n}\n", "could not find any host matching 'nohost'"},
	} {
		_, err := importText(t, tc.cfg)
		var es Errors
		if !errors.As(err, &es) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "objects.cfg:") {
			t.Errorf("%q: error %v, want %q with file:line", tc.cfg, err, tc.want)
		}
	}
}
