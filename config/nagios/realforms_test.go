package nagios

import (
	"strings"
	"testing"

	"github.com/bergamot-monitoring/bergamot/config"
)

func address(c *config.Check) any { return c.Address }
func commandParam(name string) func(*config.Check) any {
	return func(c *config.Check) any {
		if c.Command == nil {
			return nil
		}
		return c.Command.Parameters[name]
	}
}

// TestRealConfigForms: forms that real configurations use and nagios4
// 4.4.6 accepts (each checked with nagios4 -vp) are imported the way
// nagios4 resolves them.
func TestRealConfigForms(t *testing.T) {
	runSnippetCases(t, []snippetCase{
		{
			name: "empty directive value",
			cfg: `
define service{
	use s-tmpl
	host_name A
	service_description E
	notes
	action_url
}`,
			checks: []checkWant{{"A", "E", "description", description, ""}},
		},
		{
			name: "host, hosts and hostgroup aliases",
			cfg: `
define service{
	use s-tmpl
	host A
	service_description H1
}
define service{
	use s-tmpl
	hosts B
	service_description H2
}
define service{
	use s-tmpl
	hostgroup hg-a
	service_description H3
}`,
			checks: []checkWant{
				{"A", "H1", "failed-after", failedAfter, 3},
				{"B", "H2", "failed-after", failedAfter, 3},
				{"A", "H3", "failed-after", failedAfter, 3},
			},
		},
		{
			name: "duplicate service keeps the last",
			cfg: `
define service{
	use s-tmpl
	host_name A
	service_description D
	max_check_attempts 2
}
define service{
	use s-tmpl
	hostgroup_name hg-a
	service_description D
	max_check_attempts 7
}`,
			checks:   []checkWant{{"A", "D", "failed-after", failedAfter, 7}},
			warnings: []wantWarning{{2, []string{"duplicate definition", "replaces it"}}},
		},
		{
			name: "host without address",
			cfg: `
define command{
	command_name ping
	command_line /usr/lib/nagios/plugins/check_ping -H '$HOSTADDRESS$' -w 1,1% -c 2,2%
}
define host{
	host_name noaddr.example
	use h-tmpl
	check_command ping
}`,
			checks: []checkWant{
				{"noaddr.example", "", "address", address, "noaddr.example"},
				{"noaddr.example", "", "command_line", commandParam("command_line"), "/usr/lib/nagios/plugins/check_ping -H 'noaddr.example' -w 1,1% -c 2,2%"},
			},
		},
		{
			name: "check_nrpe options and arguments",
			cfg: `
define command{
	command_name nrpe-args
	command_line $USER1$/check_nrpe -2 -t 60:UNKNOWN -p 5667 -H $HOSTADDRESS$ -c $ARG1$ -a $ARG2$ $ARG3$
}
define service{
	use s-tmpl
	host_name A
	service_description N
	check_command nrpe-args!check_disk!-w 10%!/
}`,
			checks: []checkWant{
				{"A", "N", "host", commandParam("host"), "10.0.0.1"},
				{"A", "N", "command", commandParam("command"), "check_disk"},
				{"A", "N", "args_line", commandParam("args_line"), "-w 10% /"},
				{"A", "N", "version", commandParam("version"), "2"},
				{"A", "N", "timeout", commandParam("timeout"), "60"},
				{"A", "N", "port", commandParam("port"), "5667"},
			},
			warnings: []wantWarning{{4, []string{"check_nrpe option", "-t ...:UNKNOWN"}}},
		},
		{
			name: "parents and a hostdependency the other way",
			cfg: `
define host{
	host_name child
	use h-tmpl
	address 10.0.0.9
	parents A
}
define hostdependency{
	host_name child
	dependent_host_name A
	notification_failure_criteria d,u
}`,
			checks:   []checkWant{{"child", "", "depends", depends, []string{"A"}}, {"A", "", "depends", depends, []string(nil)}},
			warnings: []wantWarning{{8, []string{"hostdependency", "keeps parents and dependencies apart", "not converted"}}},
		},
		{
			name: "values equal to nagios4's defaults are not warned",
			cfg: `
define service{
	use s-tmpl
	host_name A
	service_description Q
	process_perf_data 1
	obsess_over_service 1
	is_volatile 0
	parallelize_check 1
	failure_prediction_enabled 1
}`,
			quiet: []wantWarning{{6, []string{"process_perf_data"}}, {7, []string{"obsess"}}, {8, []string{"is_volatile"}},
				{9, []string{"parallelize_check"}}, {10, []string{"failure_prediction"}}},
		},
	})
}

// TestWarningsOncePerKind: the same unsupported directive on several
// objects is one warning naming the other places.
func TestWarningsOncePerKind(t *testing.T) {
	_, res := importSnippet(t, `
define host{
	host_name P1
	use h-tmpl
	address 10.0.0.11
	process_perf_data 0
}
define host{
	host_name P2
	use h-tmpl
	address 10.0.0.12
	process_perf_data 0
}
define command{
	command_name notify
	command_line /bin/echo $NOTIFICATIONTYPE$ $HOSTSTATE$
}
define command{
	command_name notify2
	command_line /bin/echo $HOSTSTATE$ $LONGDATETIME$
}`)
	var perf, macro []Warning
	for _, w := range res.Warnings {
		switch {
		case w.Directive == "process_perf_data":
			perf = append(perf, w)
		case strings.Contains(w.Msg, "macros"):
			macro = append(macro, w)
		}
	}
	if len(perf) != 1 || perf[0].Pos.Line != baseLines+6 || len(perf[0].Also) != 1 || perf[0].Also[0].Line != baseLines+12 {
		t.Errorf("process_perf_data warnings = %v, want one at line %d naming line %d", perf, baseLines+6, baseLines+12)
	}
	if len(macro) != 1 || !strings.Contains(macro[0].String(), "$HOSTSTATE$ $LONGDATETIME$ $NOTIFICATIONTYPE$") || !strings.Contains(macro[0].String(), "the same for 1 more") {
		t.Errorf("macro warnings = %v, want one listing all three", macro)
	}
}

// TestContactNotificationOptions: a contact's host_ and
// service_notification_options become alerts, recovery and ignore on its
// <notifications> (they used to be dropped with a warning).
func TestContactNotificationOptions(t *testing.T) {
	m, res := importSnippet(t, `
define contact{
	contact_name crit-only
	email c@example.com
	service_notification_options c,r
}
define contact{
	contact_name never
	email n@example.com
	host_notification_options n
	service_notification_options n
}
define contact{
	contact_name no-recovery
	email r@example.com
	host_notification_options d,u,f,s
	service_notification_options w,u,c,f,s
}
define contact{
	contact_name mixed
	email m@example.com
	host_notification_options d,r,f,s
	service_notification_options c,f,s
}`)
	type want struct {
		alerts, recovery bool
		ignore           []string
	}
	for name, w := range map[string]want{
		"crit-only":   {true, true, []string{"warning", "unknown"}},
		"never":       {false, false, nil},
		"no-recovery": {true, false, nil},
		"mixed":       {true, true, nil},
	} {
		c := m.Contacts[name]
		if c == nil {
			t.Fatalf("no contact %s", name)
		}
		n := c.Notifications
		if n.Alerts != w.alerts || n.Recovery != w.recovery || sortedSet(n.Ignore).([]string) != nil && w.ignore == nil ||
			w.ignore != nil && !equalAny(sortedSet(n.Ignore), sortedSet(w.ignore)) {
			t.Errorf("%s: alerts %v recovery %v ignore %v, want %+v", name, n.Alerts, n.Recovery, n.Ignore, w)
		}
	}
	if !hasWarning(res, baseLines+23, "service_notification_options", "one setting per contact") {
		t.Errorf("no warning about mixed's differing options:\n%v", res.Warnings)
	}
	if hasWarning(res, 0, "notification_options", "not supported") {
		t.Errorf("contact notification options still reported as unsupported:\n%v", res.Warnings)
	}
}

// TestServiceParents: a service's parents (nagios4 reads "host,service"
// pairs, a last single name being a service of the same host; checked
// with nagios4 -vp) become <depends>, like host parents.
func TestServiceParents(t *testing.T) {
	runSnippetCases(t, []snippetCase{{
		name: "service parents",
		cfg: `
define service{
	use s-tmpl
	host_name A
	service_description P
	parents X
}
define service{
	use s-tmpl
	host_name B
	service_description P
	parents A,X,Y web
}`,
		checks: []checkWant{
			{"A", "P", "depends", depends, []string{"X"}},
			{"B", "P", "depends", depends, []string{"A/X", "Y-web"}},
		},
		quiet: []wantWarning{{6, []string{"parents"}}, {12, []string{"parents"}}},
	}})
}
