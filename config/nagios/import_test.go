package nagios

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRejectedConfigs checks that the configurations nagios4 rejects are
// rejected with comparable messages naming file and line. nagios4 4.4.6
// says (nagios4 -v):
//
//	v1: Template 'web1' specified in host definition could not be not found (config file '.../edge-v1-errors.cfg', starting on line 75)
//	v1: Could not parse timerange #1 for day 2 of timeperiod (config file '.../edge-v1-errors.cfg', starting on line 2)
//	v2: Template ' generic-host' specified in host definition could not be not found (config file '.../edge-v2-errors.cfg', starting on line 65)
//	v2: Invalid max_check_attempts value for host 'db1' / Could not register host (... starting on line 83)
func TestRejectedConfigs(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"edge-v1-errors.cfg", []string{
			"edge-v1-errors.cfg:75: template 'web1' specified in host definition could not be found",
			"edge-v1-errors.cfg:6: could not parse time range 'tuesday-thursday 09:00-17:00' of timeperiod 'tp-edge'",
		}},
		{"edge-v2-errors.cfg", []string{
			"edge-v2-errors.cfg:65: template ' generic-host' specified in host definition could not be found",
			"edge-v2-errors.cfg:83: invalid max_check_attempts value for host 'db1'",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Import(edgeInputs(t, tc.file)...)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want Errors, got %v", err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, filepath.Join(importDir(t), w)) {
					t.Errorf("missing %q in:\n%s", w, msg)
				}
			}
		})
	}
}

func TestDebianSamplesImportCleanly(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(importDir(t), "debian-samples", "*.cfg"))
	plugins, _ := filepath.Glob("/etc/nagios-plugins/config/*.cfg") // as Debian's nagios.cfg does
	files = append(files, plugins...)
	res, err := ImportContext(context.Background(), Options{Site: "debian"}, files...)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	checkWellFormed(t, res.XML)
	// nagios4 -v on the shipped configuration (localhost only) checked 8
	// services and 1 host; printer/switch/windows add their own.
	if res.Stats.Hosts != 4 || res.Stats.Services < 8 {
		t.Errorf("stats = %+v", res.Stats)
	}
}

func checkWellFormed(t *testing.T, data []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("XML not well-formed: %v", err)
		}
	}
}

// bergamotDoc is the structure of the produced document, decoded with
// encoding/xml to check what a Bergamot loader would see.
type bergamotDoc struct {
	Site       string `xml:"site,attr"`
	Parameters []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	} `xml:"parameter"`
	TimePeriods []struct {
		Name     string   `xml:"name,attr"`
		Excludes string   `xml:"excludes,attr"`
		Ranges   []string `xml:"time-range"`
	} `xml:"time-period"`
	Commands []struct {
		Name   string `xml:"name,attr"`
		Engine string `xml:"engine,attr"`
		Params []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",chardata"`
		} `xml:"parameter"`
	} `xml:"command"`
	Teams []struct {
		Name string `xml:"name,attr"`
	} `xml:"team"`
	Contacts []struct {
		Name     string `xml:"name,attr"`
		Template string `xml:"template,attr"`
		Teams    string `xml:"teams,attr"`
		Email    string `xml:"email"`
	} `xml:"contact"`
	Hosts []xmlHost `xml:"host"`
}

type xmlHost struct {
	Name     string `xml:"name,attr"`
	Template string `xml:"template,attr"`
	Extends  string `xml:"extends,attr"`
	Address  string `xml:"address,attr"`
	Groups   string `xml:"groups,attr"`
	Summary  string `xml:"summary"`
	State    struct {
		FailedAfter string `xml:"failed-after,attr"`
	} `xml:"state"`
	Schedule struct {
		Every string `xml:"every,attr"`
	} `xml:"schedule"`
	Notify struct {
		Teams string `xml:"teams,attr"`
	} `xml:"notify"`
	Check struct {
		Command string `xml:"command,attr"`
		Params  []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:",chardata"`
		} `xml:"parameter"`
	} `xml:"check-command"`
	Params []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	} `xml:"parameter"`
	Depends       string `xml:"depends"`
	Notifications struct {
		Escalate []xmlEscalate `xml:"escalate"`
	} `xml:"notifications"`
	Services []xmlHost `xml:"service"`
}

type xmlEscalate struct {
	After      string `xml:"after,attr"`
	TimePeriod string `xml:"time-period,attr"`
	Ignore     string `xml:"ignore,attr"`
	Notify     struct {
		Teams    string `xml:"teams,attr"`
		Contacts string `xml:"contacts,attr"`
	} `xml:"notify"`
}

func TestConvertEdge(t *testing.T) {
	res, err := ImportContext(context.Background(), Options{Site: "edge.example"}, edgeInputs(t, "edge.cfg")...)
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, res.XML)
	var doc bergamotDoc
	if err := xml.Unmarshal(res.XML, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Site != "edge.example" {
		t.Errorf("site = %q", doc.Site)
	}
	hosts := map[string]xmlHost{}
	for _, h := range doc.Hosts {
		if h.Template == "" {
			hosts[h.Name] = h
		} else {
			hosts["template:"+h.Name] = h
		}
	}
	web1, ok := hosts["web1"]
	if !ok {
		t.Fatalf("no host web1 in:\n%s", res.XML)
	}
	if web1.Address != "127.0.0.1" || web1.Summary != "Web 1" || web1.State.FailedAfter != "4" || web1.Schedule.Every != "7m" || web1.Notify.Teams != "ops" {
		t.Errorf("web1 = %+v", web1)
	}
	if web1.Groups != "hg-a, hg-all-but-db, hg-web" {
		t.Errorf("web1 groups = %q", web1.Groups)
	}
	if web1.Extends != "web1-tmpl" {
		t.Errorf("web1 extends = %q", web1.Extends)
	}
	if tm, ok := hosts["template:web1-tmpl"]; !ok || tm.Extends != "tmpl-a, tmpl-b, generic-host" {
		t.Errorf("template web1-tmpl = %+v", tm)
	}
	// action_url is inherited from tmpl-b; icon_image is cancelled by null.
	if len(web1.Params) != 2 || web1.Params[0].Name != "action_url" || web1.Params[0].Value != "from-b" ||
		web1.Params[1].Name != "snmpcommunity" || web1.Params[1].Value != "testcomm" {
		t.Errorf("web1 parameters = %+v", web1.Params)
	}
	svc := map[string]xmlHost{}
	for _, s := range hosts["db1"].Services {
		svc[s.Name] = s
	}
	ssh, ok := svc["SSH-edge"]
	if !ok || len(hosts["web1"].Services) != 2 {
		t.Fatalf("db1 services = %+v, web1 services = %+v", hosts["db1"].Services, web1.Services)
	}
	if ssh.Check.Command != "check_edge_args" || len(ssh.Check.Params) != 2 || ssh.Check.Params[1].Value != "arg two" || ssh.Groups != "sg-http" {
		t.Errorf("SSH-edge = %+v", ssh)
	}
	cmds := map[string]string{}
	engines := map[string]string{}
	for _, c := range doc.Commands {
		engines[c.Name] = c.Engine
		for _, p := range c.Params {
			cmds[c.Name+"/"+p.Name] = p.Value
		}
	}
	if got, want := cmds["check_edge_args/command_line"], `#{global.nagios_path}/check_dummy #{arg1} "#{host.name} #{host.address} #{host.getParameter('snmpcommunity')} #{arg2}"`; got != want {
		t.Errorf("command_line = %q, want %q", got, want)
	}
	if engines["check_nrpe"] != "nrpe" || cmds["check_nrpe/command"] != "#{arg1}" || cmds["check_nrpe/host"] != "#{host.address}" {
		t.Errorf("check_nrpe: engine %q params %q %q", engines["check_nrpe"], cmds["check_nrpe/command"], cmds["check_nrpe/host"])
	}
	var edgeTP []string
	for _, tp := range doc.TimePeriods {
		if tp.Name == "tp-edge" {
			edgeTP = tp.Ranges
			if tp.Excludes != "tp-holidays" {
				t.Errorf("tp-edge excludes %q", tp.Excludes)
			}
		}
	}
	if len(edgeTP) != 9 || edgeTP[0] != "monday 00:00-09:00,17:00-24:00" || edgeTP[2] != "monday 1 - wednesday 3 10:00-11:00" {
		t.Errorf("tp-edge ranges = %q", edgeTP)
	}
	for _, c := range doc.Contacts {
		if c.Name == "alice" && (c.Teams != "ops" || c.Email != "alice@example.com") {
			t.Errorf("alice = %+v", c)
		}
	}
	// db1's parent web1 becomes a dependency.
	if d := hosts["db1"].Depends; d != "web1" {
		t.Errorf("db1 depends = %q, want web1", d)
	}
	// Directives Bergamot cannot represent are reported, with file and
	// line: edge.cfg:28 host_notification_commands. Contact notification
	// options are converted (all of d,u,r,f,s: nothing to warn about).
	var found, optionsWarned bool
	for _, w := range res.Warnings {
		for _, p := range append([]Position{w.Pos}, w.Also...) {
			if w.Directive == "host_notification_commands" && strings.HasSuffix(p.File, "edge.cfg") && p.Line == 28 {
				found = true
			}
			if w.Directive == "host_notification_options" && strings.HasSuffix(p.File, "edge.cfg") {
				optionsWarned = true
			}
		}
	}
	if !found || optionsWarned {
		t.Errorf("want a warning for host_notification_commands at edge.cfg:28 and none for host_notification_options; warnings:\n%v", res.Warnings)
	}
}

func TestMainConfigAndResource(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("resource.cfg", "# plugins\n$USER1$=/opt/plugins\n")
	_ = os.MkdirAll(filepath.Join(dir, "objs"), 0o755)
	obj := "define command{\n command_name c\n command_line $USER1$/check_x -H $HOSTADDRESS$ -w $ARG1$ ; comment\n}\n" +
		"define host{\n host_name h\n address 10.0.0.1\n max_check_attempts 3\n check_command c!5\n}\n" +
		"define hostdependency{\n host_name h\n dependent_host_name h\n}\n"
	_ = os.MkdirAll(filepath.Join(dir, "objs"), 0o755)
	write("objs/a.cfg", obj)
	main := write("nagios.cfg", "log_file=/var/log/x\ncfg_dir=objs\nresource_file=resource.cfg\n")
	res, err := ImportContext(context.Background(), Options{Site: "s"}, main)
	if err != nil {
		t.Fatal(err)
	}
	x := string(res.XML)
	for _, want := range []string{`name="nagios_path"`, `>/opt/plugins<`, `#{global.nagios_path}/check_x -H #{host.address} -w #{arg1}`, `<parameter name="arg1">5</parameter>`} {
		if !strings.Contains(x, want) {
			t.Errorf("missing %q in\n%s", want, x)
		}
	}
	var dep bool
	for _, w := range res.Warnings {
		if w.Pos.Line == 11 && w.Object == "hostdependency definition" && strings.Contains(w.Msg, "depend on itself") {
			dep = true
		}
	}
	if !dep {
		t.Errorf("hostdependency not reported: %v", res.Warnings)
	}
}

// TestUndefinedUserMacros: $USER1$ used without a resource file defaults to
// Debian's plugin directory (so imported checks find their plugins) and
// both it and other $USERn$ are reported at their first use.
func TestUndefinedUserMacros(t *testing.T) {
	dir := t.TempDir()
	obj := "define command{\n command_name b\n command_line $USER1$/check_b $USER3$\n}\n" +
		"define command{\n command_name a\n command_line $USER1$/check_a\n}\n" +
		"define host{\n host_name h\n address 10.0.0.1\n max_check_attempts 3\n check_command a\n}\n"
	p := filepath.Join(dir, "objs.cfg")
	if err := os.WriteFile(p, []byte(obj), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := ImportContext(context.Background(), Options{Site: "s"}, p)
	if err != nil {
		t.Fatal(err)
	}
	var doc bergamotDoc
	if err := xml.Unmarshal(res.XML, &doc); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, prm := range doc.Parameters {
		params[prm.Name] = prm.Value
	}
	if got := params["nagios_path"]; got != "/usr/lib/nagios/plugins" {
		t.Errorf("nagios_path = %q, want /usr/lib/nagios/plugins; parameters %v", got, params)
	}
	if v, ok := params["nagios_user3"]; !ok || v != "" {
		t.Errorf("nagios_user3 = %q (present %v), want present and empty", v, ok)
	}
	found := map[string]Warning{}
	for _, w := range res.Warnings {
		if w.Object == "resource macros" {
			found[w.Directive] = w
		}
	}
	w1, ok := found["$USER1$"]
	if !ok || w1.Pos.File != p || w1.Pos.Line != 3 || !strings.Contains(w1.Msg, "/usr/lib/nagios/plugins") || !strings.Contains(w1.Msg, "Debian") {
		t.Errorf("$USER1$ warning = %+v (want %s:3, naming the default); all: %v", w1, p, res.Warnings)
	}
	if w3, ok := found["$USER3$"]; !ok || w3.Pos.Line != 3 || !strings.Contains(w3.String(), "objs.cfg:3") {
		t.Errorf("$USER3$ warning = %+v; all: %v", w3, res.Warnings)
	}
}
