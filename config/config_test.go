package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

// base is Bergamot's own default site configuration (the shared fixtures).
func base(t testing.TB) string {
	t.Helper()
	return fixtures.Path(t, "bergamot-config/base")
}

func TestBaseLoadsAndResolves(t *testing.T) {
	doc, err := LoadPaths(base(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if doc.Len() < 250 {
		t.Fatalf("loaded %d objects, want the whole fixture set", doc.Len())
	}
	m, err := Resolve(doc)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if len(m.Hosts) != 4 {
		t.Errorf("concrete hosts = %d, want the 4 internal hosts", len(m.Hosts))
	}
	h := findHost(t, m, "bergamot-workers-office")
	if h.Location != "office" || h.Command.Engine != "internal" || h.Command.Executor != "workers" {
		t.Errorf("workers-office = %+v / %+v", h, h.Command)
	}
	if h.Command.Parameters["warning"] != "1" || h.Command.Parameters["critical"] != "1" {
		t.Errorf("if(site.deployment_mode ...) gave %v", h.Command.Parameters)
	}
	if h.Schedule.RetryEvery != 150*time.Second || h.State.FailedAfter != 5 {
		t.Errorf("schedule/state inherited from generic-host wrong: %+v %+v", h.Schedule, h.State)
	}
	// The unused broken postgresql command; the internal engine the
	// internal hosts use is one of Bergamot's engines (checks/self).
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings.Error(), `unknown template "bergamot-postgresql-jdbc-check"`) {
		t.Errorf("warnings = %v, want only the unused broken postgresql command", m.Warnings)
	}
	if tp := m.TimePeriods["24x7-except-uk-holidays"]; tp == nil || len(tp.Ranges) != 7 || tp.Excludes[0] != "uk-holidays" {
		t.Errorf("time period = %+v", tp)
	}
	if g := m.Groups["network-devices"]; g == nil || len(g.Parents) != 1 || g.Parents[0] != "hosts" {
		t.Errorf("group tree: %+v", g)
	}
	if c := m.Commands["haproxy-stats-check"]; c == nil || c.Category != "Network" || c.Application != "HAProxy" || !strings.Contains(c.Script, "parseStats") {
		t.Errorf("haproxy command = %+v", c)
	}
	if tm := m.Teams["linux-admins"]; tm == nil || tm.AccessControls[0].SecurityDomain != "linux" || tm.Teams[0] != "admins" {
		t.Errorf("team = %+v", tm)
	}
}

func findHost(t *testing.T, m *Model, name string) *Check {
	t.Helper()
	for _, h := range m.Hosts {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no host %q", name)
	return nil
}

func loadWith(t *testing.T, extra ...string) (*Model, error) {
	t.Helper()
	doc, err := LoadPaths(append([]string{base(t)}, extra...)...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return Resolve(doc)
}

func TestLinuxServerNRPEHost(t *testing.T) {
	m, err := loadWith(t, "testdata/linux-host.xml")
	if err != nil {
		t.Fatal(err)
	}
	h := findHost(t, m, "web1.example")
	if h.Summary != "Web One" || h.Address != "10.0.0.5" || h.Location != "office" {
		t.Errorf("host = %+v", h)
	}
	// groups: linux-servers from the template removed by -linux-servers, internal added.
	if strings.Join(h.Groups, ",") != "internal" {
		t.Errorf("groups = %v", h.Groups)
	}
	// generic-host notifies admins, linux-server-nrpe adds linux-admins.
	if strings.Join(h.Notifications.Teams, ",") != "admins,linux-admins" {
		t.Errorf("teams = %v", h.Notifications.Teams)
	}
	if h.Command.Name != "check-host-alive" || h.Command.Parameters["command_line"] != "/usr/lib/nagios/plugins//check_ping -H 10.0.0.5 -w 3000.0,80% -c 5000.0,100% -p 5" {
		t.Errorf("host command = %+v", h.Command)
	}
	want := map[string]string{ // service -> NRPE command, from templates/hosts/linux/nrpe.xml and the commands it names
		"memory": "check_mem", "load": "check_load_strict", "users": "check_users", "zombie-procs": "check_zombie_procs",
		"total-procs": "check_total_procs", "disk-space-root": "check_disk_space_root", "local-ntp-offset": "check_ntp_offset",
	}
	got := map[string]*Check{}
	for _, s := range h.Services {
		got[s.Name] = s
	}
	if len(h.Services) != 8 {
		t.Errorf("services = %d, want 8", len(h.Services))
	}
	for name, cmd := range want {
		s := got[name]
		if s == nil {
			t.Errorf("missing service %s", name)
			continue
		}
		if s.Command.Engine != "nrpe" || s.Command.Parameters["command"] != cmd || s.Command.Parameters["host"] != "10.0.0.5" {
			t.Errorf("service %s command = %+v", name, s.Command)
		}
		if s.Schedule.Every != 5*time.Minute && name != "load" {
			t.Errorf("service %s every = %v", name, s.Schedule.Every)
		}
	}
	ssh := got["service-ssh"]
	if ssh == nil || ssh.Command.Engine != "nagios" || ssh.Command.Parameters["command_line"] != "/usr/lib/nagios/plugins//check_ssh 10.0.0.5" {
		t.Errorf("ssh = %+v", ssh)
	}
	load := got["load"]
	if load.Schedule.Every != time.Minute || load.Schedule.RetryEvery != 150*time.Second || load.Summary != "Load" {
		t.Errorf("load override = %+v", load)
	}
	// linux-system-services: groups inherited through linux-service.
	if strings.Join(load.Groups, ",") != "linux-services,linux-system-services" {
		t.Errorf("load groups = %v", load.Groups)
	}
	if strings.Join(load.Notifications.Teams, ",") != "admins,linux-admins" || load.Command.Parameters["ui-icon"] != "/images/icons/64/cpu.png" {
		t.Errorf("load = %+v %+v", load.Notifications, load.Command)
	}
}

func TestLinuxServerNRPEMissingCommands(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "h.xml"), []byte(`<bergamot><host name="h" extends="linux-server-nrpe"/></bergamot>`), 0o644)
	_, err := loadWith(t, dir)
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, c := range []string{"check-zombie-procs", "check-total-procs", "check-disk-space-root", "check-local-ntp-offset"} {
		if !strings.Contains(msg, `service "`) || !strings.Contains(msg, `unknown command "`+c+`"`) {
			t.Errorf("missing error for %s in:\n%s", c, msg)
		}
	}
	if len(list) != 4 {
		t.Errorf("want 4 errors, got:\n%s", msg)
	}
}

func TestExtendsOrderAndSets(t *testing.T) {
	doc, err := ParseFile("testdata/extends-order.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Resolve(doc)
	if err != nil {
		t.Fatal(err)
	}
	h := findHost(t, m, "h")
	if strings.Join(h.Groups, ",") != "g2,g3" {
		t.Errorf("host groups = %v", h.Groups)
	}
	svc := map[string]*Check{}
	for _, s := range h.Services {
		svc[s.Name] = s
	}
	if len(h.Services) != 3 {
		t.Fatalf("services = %d", len(h.Services))
	}
	s1, s2, s3 := svc["s1"], svc["s2"], svc["s3"]
	// Later parents win: s1 extends a, b -> b's summary and schedule.
	if s1.Summary != "B" || s1.Schedule.Every != 20*time.Minute || s1.Schedule.TimePeriod != "tp1" {
		t.Errorf("s1 = %+v %+v", s1.Summary, s1.Schedule)
	}
	if s2.Summary != "mine" || s2.Schedule.Every != 10*time.Minute {
		t.Errorf("s2 = %+v %+v", s2.Summary, s2.Schedule)
	}
	if strings.Join(s1.Groups, ",") != "g1,g2" || strings.Join(s3.Groups, ",") != "" {
		t.Errorf("groups s1=%v s3=%v", s1.Groups, s3.Groups)
	}
	if s1.Command.Parameters["y"] != "1-h" || s2.Command.Parameters["y"] != "2-h" {
		t.Errorf("params s1=%v s2=%v", s1.Command.Parameters, s2.Command.Parameters)
	}
	if s3.Schedule.ChangingEvery != DefaultChangingEvery || s3.State.FailedAfter != DefaultFailedAfter {
		t.Errorf("defaults = %+v %+v", s3.Schedule, s3.State)
	}
}

func TestTemplateChangePropagates(t *testing.T) {
	doc, err := ParseFile("testdata/extends-order.xml")
	if err != nil {
		t.Fatal(err)
	}
	over, err := Parse("over.xml", strings.NewReader(`<bergamot>
		<service name="svc-b" template="yes"><summary>B2</summary><schedule every="30"/></service>
		<team name="c" state="absent"/></bergamot>`))
	if err != nil {
		t.Fatal(err)
	}
	merged := doc.Merge(over)
	m, err := Resolve(merged)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range findHost(t, m, "h").Services {
		if s.Name == "s1" && (s.Summary != "B2" || s.Schedule.Every != 30*time.Minute) {
			t.Errorf("s1 after template change = %s %v", s.Summary, s.Schedule.Every)
		}
	}
	if m.Teams["c"] != nil {
		t.Error("state=absent did not remove team c")
	}
	changes := Diff(doc, merged)
	if len(changes) != 2 || changes[0].Kind != "team" || changes[0].Op != ChangeRemoved ||
		changes[1].Name != "svc-b" || changes[1].Op != ChangeChanged || !strings.Contains(changes[1].After, "B2") {
		t.Errorf("diff = %+v", changes)
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string]string{
		"invalid-cycle.xml":             `testdata/invalid-cycle.xml:2: host "a": cycle in extends: a -> b -> a`,
		"invalid-duplicate.xml":         `testdata/invalid-duplicate.xml:3: team "ops": duplicate team (first defined at testdata/invalid-duplicate.xml:2)`,
		"invalid-expression.xml":        `testdata/invalid-expression.xml:3: command "c": parameter "command_line": invalid expression at offset 6: unterminated #{`,
		"invalid-interval.xml":          `testdata/invalid-interval.xml:2: service "s": every: invalid interval "soon" (want minutes, or a number with s, m or h)`,
		"invalid-malformed.xml":         `testdata/invalid-malformed.xml:3: malformed XML: element <host> closed by </bergamot>`,
		"invalid-missing-template.xml":  `testdata/invalid-missing-template.xml:2: host "web1": unknown template "foo"`,
		"invalid-unknown-attribute.xml": `testdata/invalid-unknown-attribute.xml:2: team "a": unknown attribute "colour" on <team> (allowed: extends, grants, name, revokes, security-domains, state, teams, template)`,
		"invalid-unknown-element.xml":   `testdata/invalid-unknown-element.xml:3: host "a": unknown element <frobnicate> inside <host>`,
		"invalid-time-range.xml":        `testdata/invalid-time-range.xml:3: time-period "bad": time-range "funday 09:00-17:00": unknown day "funday" in "funday 09:00-17:00"`,
		"invalid-yes-no.xml": strings.Join([]string{
			`testdata/invalid-yes-no.xml:2: metrics-export "otel": own-series must be yes or no, not "maybe"`,
			`testdata/invalid-yes-no.xml:3: metrics-export "prom": enabled must be yes or no, not "sometimes"`}, "\n"),
		"invalid-depends.xml": strings.Join([]string{
			`testdata/invalid-depends.xml:4: host "b": depends: dependency cycle: b -> c/web -> b`,
			`testdata/invalid-depends.xml:7: service "web" on host "c": depends: unknown check "nosuch" (want a service of the same host, a host, or host/service)`,
			`testdata/invalid-depends.xml:7: service "web" on host "c": depends: "c/web" is the check itself`,
			`testdata/invalid-depends.xml:8: service "db" on host "c": depends: "db" is the check itself`,
			`testdata/invalid-depends.xml:10: host "d": depends: dependency cycle: d -> d/ping -> d`,
			`testdata/invalid-depends.xml:11: cluster "k": depends: unknown check "e/nothing" (want a service of the same host, a host, or host/service)`}, "\n"),
		"invalid-missing-refs.xml": strings.Join([]string{
			`testdata/invalid-missing-refs.xml:2: host "web1": unknown group "nogroup"`,
			`testdata/invalid-missing-refs.xml:2: host "web1": unknown location "nowhere"`,
			`testdata/invalid-missing-refs.xml:3: host "web1": unknown command "nocommand"`,
			`testdata/invalid-missing-refs.xml:4: host "web1": unknown time period "notime"`,
			`testdata/invalid-missing-refs.xml:5: host "web1": unknown team "noteam"`,
			`testdata/invalid-missing-refs.xml:5: host "web1": unknown contact "nocontact"`}, "\n"),
		"invalid-unknown-name.xml": strings.Join([]string{
			`testdata/invalid-unknown-name.xml:3: host "h1": parameter "a": #{host.nosuch}: unknown field "nosuch"`,
			`testdata/invalid-unknown-name.xml:4: host "h1": parameter "b": #{global.missing}: unknown field "missing"`,
			`testdata/invalid-unknown-name.xml:5: host "h1": parameter "c": #{resolve_credentials('nope').password}: unknown credential "nope"`,
			`testdata/invalid-unknown-name.xml:6: host "h1": parameter "d": #{arg1}: unknown name "arg1"`}, "\n"),
	}
	files, _ := filepath.Glob("testdata/invalid-*.xml")
	if len(files) != len(cases) {
		t.Errorf("%d invalid-*.xml files but %d cases", len(files), len(cases))
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			doc, err := ParseFile(filepath.Join("testdata", file))
			if err == nil {
				_, err = Resolve(doc)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v, want an ErrorList", err)
			}
			if err.Error() != want {
				t.Errorf("got:\n%s\nwant:\n%s", err, want)
			}
		})
	}
}

func TestExportRoundTrip(t *testing.T) {
	doc, err := LoadPaths(base(t), "testdata/linux-host.xml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Export(doc, WithSecrets())
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("export.xml", bytes.NewReader(out))
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	if again.Len() != doc.Len() || again.Site != doc.Site || len(again.Parameters) != len(doc.Parameters) {
		t.Fatalf("re-loaded %d objects, site %q; want %d, %q", again.Len(), again.Site, doc.Len(), doc.Site)
	}
	if d := Diff(doc, again); len(d) != 0 {
		t.Fatalf("round trip changed %d objects, first: %+v", len(d), d[0])
	}
	out2, _ := Export(again, WithSecrets())
	if !bytes.Equal(out, out2) {
		t.Error("second export differs from the first")
	}
	m1, err1 := Resolve(doc)
	m2, err2 := Resolve(again)
	if err1 != nil || err2 != nil || len(m1.Hosts) != len(m2.Hosts) {
		t.Errorf("resolve after round trip: %v %v", err1, err2)
	}
}

func TestExportHidesSecrets(t *testing.T) {
	doc, err := Parse("c.xml", strings.NewReader(`<bergamot site="s"><credential name="db"><username>mon</username><password>hunter2</password><key-secret>k3y</key-secret></credential></bergamot>`))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Export(doc)
	for _, secret := range []string{"hunter2", "k3y"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("export contains %q:\n%s", secret, out)
		}
		for _, o := range doc.Objects() {
			if strings.Contains(o.Canonical(), secret) {
				t.Errorf("canonical text contains %q", secret)
			}
		}
	}
	if !bytes.Contains(out, []byte("mon")) {
		t.Error("username missing from export")
	}
	with, _ := Export(doc, WithSecrets())
	if !bytes.Contains(with, []byte("hunter2")) {
		t.Error("WithSecrets export lacks the password")
	}
	other, _ := Parse("c.xml", strings.NewReader(`<bergamot site="s"><credential name="db"><username>mon</username><password>changed</password><key-secret>k3y</key-secret></credential></bergamot>`))
	if d := Diff(doc, other); len(d) != 1 || d[0].Op != ChangeChanged || strings.Contains(d[0].After, "changed") {
		t.Errorf("password change diff = %+v", d)
	}
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"5": 5 * time.Minute, "150s": 150 * time.Second, "1m": time.Minute, "1h": time.Hour} {
		if got, err := ParseInterval(in); err != nil || got != want {
			t.Errorf("ParseInterval(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-5", "5x", "m"} {
		if _, err := ParseInterval(bad); err == nil {
			t.Errorf("ParseInterval(%q) accepted", bad)
		}
	}
}
