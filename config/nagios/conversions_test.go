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
	doc, err := config.Parse("import.xml", bytes.NewReader(res.XML))
	if err != nil {
		t.Fatalf("bergamot parse: %v\n%s", err, res.XML)
	}
	m, err := config.Resolve(doc)
	if err != nil {
		t.Fatalf("bergamot resolve: %v\n%s", err, res.XML)
	}
	return m, res
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
		if line != 0 && w.Pos.Line != line {
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

// baseLines is where the snippet's own lines start.
var baseLines = strings.Count(snippetBase, "\n")

func TestDependencies(t *testing.T) {
	m, res := importSnippet(t, `define servicedependency{
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
`)
	for _, tc := range []struct {
		host, svc string
		want      []string
	}{
		{"B", "Y-web", []string{"A/X", "X"}}, // cross-host, then same-host from hg-ab
		{"A", "Y-web", []string{"X"}},        // same-host dependency ('*,!X' on A)
		{"C", "Y-web", nil},
		{"B", "", []string{"A"}},
		{"A", "", nil},                // A on itself is skipped; C->A never fails
		{"C", "", []string{"B", "A"}}, // inherits_parent: B's own dependency on A
	} {
		if got := findCheck(t, m, tc.host, tc.svc).Depends; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s/%s depends = %q, want %q", tc.host, tc.svc, got, tc.want)
		}
	}
	for _, w := range []struct {
		line  int
		words []string
	}{
		{7, []string{"dependency_period", "dropped"}},
		{9, []string{"some master states only", "unknown or warning"}},
		{13, []string{"execution_failure_criteria", "keeps running"}},
		{15, []string{"'A' would depend on itself"}},
		{20, []string{"some master states only", "unreachable"}},
		{26, []string{"nagios4 never applies it"}},
	} {
		if !hasWarning(res, baseLines+w.line, w.words...) {
			t.Errorf("no warning at line %d with %q:\n%v", baseLines+w.line, w.words, res.Warnings)
		}
	}
}

func TestParentsBecomeDependencies(t *testing.T) {
	m, res := importSnippet(t, `define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	parents A,B
}
`)
	if got := findCheck(t, m, "D", "").Depends; !reflect.DeepEqual(got, []string{"A", "B"}) {
		t.Errorf("D depends = %q", got)
	}
	if !hasWarning(res, baseLines+5, "parents", "all of them") {
		t.Errorf("no warning about several parents: %v", res.Warnings)
	}
}

func TestDependencyErrors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{"define hostdependency{\n dependent_host_name A\n}\n", "no host_name or hostgroup_name"},
		{"define hostdependency{\n host_name nope\n dependent_host_name A\n}\n", "could not find any host matching 'nope'"},
		{"define servicedependency{\n host_name A\n service_description nope\n dependent_service_description X\n}\n", "could not find a service matching host name 'A' and description 'nope'"},
		{"define serviceescalation{\n host_name A\n contacts bob\n first_notification 1\n}\n", "has hosts but no service_description"},
	} {
		_, err := importText(t, tc.cfg)
		var es Errors
		if !errors.As(err, &es) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "objects.cfg:") {
			t.Errorf("%q: error %v, want %q with file:line", tc.cfg, err, tc.want)
		}
	}
}

func TestEscalations(t *testing.T) {
	m, res := importSnippet(t, `define serviceescalation{
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
`)
	x := findCheck(t, m, "A", "X").Notifications.Escalations
	if len(x) != 1 || x[0].After != 30*time.Minute || x[0].TimePeriod != "workhours" ||
		!reflect.DeepEqual(x[0].Ignore, []string{"unknown", "warning"}) || !reflect.DeepEqual(x[0].Teams, []string{"ops"}) {
		t.Errorf("A/X escalations = %+v", x)
	}
	a := findCheck(t, m, "A", "").Notifications.Escalations
	if len(a) != 2 || a[0].After != 0 || !reflect.DeepEqual(a[0].Contacts, []string{"alice", "bob"}) ||
		a[1].After != 10*time.Minute || !reflect.DeepEqual(a[1].Contacts, []string{"bob"}) {
		t.Errorf("A escalations = %+v", a)
	}
	if b := findCheck(t, m, "B", "").Notifications.Escalations; len(b) != 0 {
		t.Errorf("B excluded by !B, got %+v", b)
	}
	if c := findCheck(t, m, "C", "Y-web").Notifications.Escalations; len(c) != 1 || c[0].After != 15*time.Minute {
		t.Errorf("C/Y-web escalations = %+v", c)
	}
	if d := findCheck(t, m, "D", "").Notifications.Escalations; len(d) != 0 {
		t.Errorf("D notifies once, escalation cannot fire: %+v", d)
	}
	for _, w := range []struct {
		line  int
		words []string
	}{
		{15, []string{"last_notification", "notification 4"}},
		{16, []string{"notification_interval", "every 60 minutes"}},
		{40, []string{"never sends notification 2"}},
	} {
		if !hasWarning(res, baseLines+w.line, w.words...) {
			t.Errorf("no warning at line %d with %q:\n%v", baseLines+w.line, w.words, res.Warnings)
		}
	}
}

func TestServicegroupPatterns(t *testing.T) {
	m, _ := importSnippet(t, `define servicegroup{
	servicegroup_name sg
	members A,*,A,!X,B,X
}
define service{
	use s-tmpl
	host_name A
	hostgroup_name *,!hg-a
	service_description Z
}
`)
	if g := findCheck(t, m, "A", "Y-web").Groups; !reflect.DeepEqual(g, []string{"sg"}) {
		t.Errorf("A/Y-web groups = %q", g)
	}
	if g := findCheck(t, m, "A", "X").Groups; len(g) != 0 {
		t.Errorf("A/X excluded by !X, groups = %q", g)
	}
	if g := findCheck(t, m, "B", "X").Groups; !reflect.DeepEqual(g, []string{"sg"}) {
		t.Errorf("B/X groups = %q", g)
	}
	// An explicitly named host stays even when an excluded hostgroup
	// holds it (nagios4: "if they're explicitly added we must obey").
	for _, h := range []string{"A", "B"} {
		findCheck(t, m, h, "Z")
	}
	for _, s := range findCheck(t, m, "C", "").Services {
		if s.Name == "Z" {
			t.Errorf("C is in no hostgroup but got service Z")
		}
	}
	_, err := importText(t, "define servicegroup{\n servicegroup_name bad\n members *,X\n}\n")
	if err == nil || !strings.Contains(err.Error(), "nagios4 does not expand '*'") {
		t.Errorf("'*' host in servicegroup members: %v", err)
	}
	_, err = importText(t, "define hostgroup{\n hostgroup_name bad\n members A,!nohost\n}\n")
	if err == nil || !strings.Contains(err.Error(), "could not find any host matching 'nohost'") {
		t.Errorf("unknown exclusion: %v", err)
	}
}

func TestExtinfo(t *testing.T) {
	m, res := importSnippet(t, `define hostextinfo{
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
`)
	a := findCheck(t, m, "A", "")
	if a.Parameters["notes_url"] != "http://wiki.example.com/A" || a.Parameters["icon_image"] != "server.png" {
		t.Errorf("A parameters = %v", a.Parameters)
	}
	bx := findCheck(t, m, "B", "X")
	if bx.Description != "Ask the web team" || bx.Parameters["action_url"] != "http://graphs.example.com/10.0.0.2" {
		t.Errorf("B/X = %q %v", bx.Description, bx.Parameters)
	}
	if !hasWarning(res, baseLines+5, "vrml_image", "not converted") {
		t.Errorf("no vrml_image warning: %v", res.Warnings)
	}
}
