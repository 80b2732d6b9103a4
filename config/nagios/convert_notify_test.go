package nagios

import (
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

func renotify(c *config.Check) any { return c.Notifications.RenotifyEvery }
func notifyEnabled(c *config.Check) any {
	n := c.Notifications
	return [3]bool{n.Enabled, n.Alerts, n.Recovery}
}
func ignored(c *config.Check) any        { return c.Notifications.Ignore }
func notifyPeriod(c *config.Check) any   { return c.Notifications.TimePeriod }
func checkEnabled(c *config.Check) any   { return c.Enabled }
func failedAfter(c *config.Check) any    { return c.State.FailedAfter }
func schedule(c *config.Check) any       { return [2]time.Duration{c.Schedule.Every, c.Schedule.RetryEvery} }
func schedulePeriod(c *config.Check) any { return c.Schedule.TimePeriod }

// TestNotificationDirectives: notification_interval becomes renotify-every
// (through templates, 0 = once even below a template that re-notifies,
// nagios4's default of 30 when unset), notification_options the alerts,
// recovery and ignore settings, and an object's own value wins over a
// template's in Bergamot as in Nagios.
func TestNotificationDirectives(t *testing.T) {
	runSnippetCases(t, []snippetCase{
		{
			name: "notification_interval inherited from templates",
			checks: []checkWant{
				{"A", "", "renotify", renotify, 10 * time.Minute},  // h-tmpl
				{"B", "X", "renotify", renotify, 15 * time.Minute}, // s-tmpl
			},
			xml:   []string{`<host name="h-tmpl" template="yes">`, `<notifications renotify-every="10m"/>`},
			quiet: []wantWarning{{0, []string{"notification_interval"}}},
		},
		{
			name: "0 notifies once, also below a template that re-notifies",
			cfg: `define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	notification_interval 0
}
define service{
	use s-tmpl
	host_name D
	service_description Once
	notification_interval 0
}
`,
			checks: []checkWant{
				{"D", "", "renotify", renotify, time.Duration(0)},
				{"D", "Once", "renotify", renotify, time.Duration(0)},
				{"D", "X", "renotify", renotify, 15 * time.Minute},
			},
			xml: []string{`<notifications renotify-every="0"/>`},
		},
		{
			name: "unset and null mean nagios4's default of 30",
			cfg: `define host{
	host_name D
	address 10.0.0.4
	max_check_attempts 2
	check_command ok
}
define host{
	host_name E
	use h-tmpl
	address 10.0.0.5
	notification_interval null
}
define host{
	host_name F
	use h-tmpl
	address 10.0.0.6
	notification_interval 1.5
}
`,
			checks: []checkWant{
				{"D", "", "renotify", renotify, 30 * time.Minute},
				{"E", "", "renotify", renotify, 30 * time.Minute},
				{"F", "", "renotify", renotify, 90 * time.Second},
			},
		},
		{
			name: "not a number",
			cfg: `define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	notification_interval soon
}
`,
			checks:   []checkWant{{"D", "", "renotify", renotify, time.Duration(0)}},
			warnings: []wantWarning{{5, []string{"notification_interval", "'soon' is not an interval"}}},
		},
		{
			name: "notification_options",
			cfg: `define service{
	name s-quiet
	use s-tmpl
	register 0
	notification_options n
}
define service{
	use s-tmpl
	host_name A
	service_description Crit
	notification_options c,r,f,s
}
define service{
	use s-quiet
	host_name A
	service_description Quiet
}
define service{
	use s-quiet
	host_name A
	service_description Loud
	notification_options a
}
define service{
	use s-tmpl
	host_name A
	service_description NoRecovery
	notification_options w,u,c,f,s
}
define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	notification_options u,r,f,s
}
`,
			checks: []checkWant{
				{"A", "Crit", "ignore", ignored, []string{"unknown", "warning"}},
				{"A", "Crit", "enabled, alerts, recovery", notifyEnabled, [3]bool{true, true, true}},
				{"A", "Quiet", "enabled, alerts, recovery", notifyEnabled, [3]bool{true, false, false}},
				// 'a' overrides the template's 'n' in Bergamot too.
				{"A", "Loud", "enabled, alerts, recovery", notifyEnabled, [3]bool{true, true, true}},
				{"A", "NoRecovery", "enabled, alerts, recovery", notifyEnabled, [3]bool{true, true, false}},
				{"A", "NoRecovery", "ignore", ignored, []string(nil)},
				{"D", "", "enabled, alerts, recovery", notifyEnabled, [3]bool{true, false, true}},
			},
			warnings: []wantWarning{
				{5, []string{"service template 's-quiet'", "notification_options", "omits 'f' (flapping) and 's' (downtime)", "always sends"}},
				{34, []string{"notification_options", "'u' (unreachable) has no Bergamot equivalent"}},
			},
			quiet: []wantWarning{{11, []string{"notification_options"}}, {0, []string{"notification_options", "is not supported"}}},
		},
		{
			name: "an object's own value wins over its template's",
			cfg: `define host{
	name h-off
	use h-tmpl
	register 0
	notifications_enabled 0
	active_checks_enabled 0
	notification_period workhours
}
define host{
	host_name D
	use h-off
	address 10.0.0.4
	notifications_enabled 1
	active_checks_enabled 1
	notification_period 24x7
}
define host{
	host_name E
	use h-off
	address 10.0.0.5
}
`,
			checks: []checkWant{
				{"D", "", "notifications enabled, alerts, recovery", notifyEnabled, [3]bool{true, true, true}},
				{"D", "", "enabled", checkEnabled, true},
				{"D", "", "notification period", notifyPeriod, "24x7"},
				{"E", "", "notifications enabled, alerts, recovery", notifyEnabled, [3]bool{false, true, true}},
				{"E", "", "enabled", checkEnabled, false},
				{"E", "", "notification period", notifyPeriod, "workhours"},
			},
		},
		{
			name: "check scheduling directives",
			cfg: `define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	max_check_attempts 7
	check_interval 3
	retry_interval 0.5
	check_period workhours
}
`,
			checks: []checkWant{
				{"D", "", "failed-after", failedAfter, 7},
				{"D", "", "schedule", schedule, [2]time.Duration{3 * time.Minute, 30 * time.Second}},
				{"D", "", "schedule period", schedulePeriod, "workhours"},
			},
		},
	})
}

// TestApproximatedDirectives: directives Bergamot has no setting for are
// reported only when their value behaves differently from Bergamot's
// fixed behaviour, and then by name with what Bergamot does instead.
func TestApproximatedDirectives(t *testing.T) {
	runSnippetCases(t, []snippetCase{
		{
			name: "values Bergamot behaves like",
			cfg: `define service{
	use s-tmpl
	host_name A
	service_description Same
	first_notification_delay 0
	flap_detection_enabled 1
	low_flap_threshold 0
	high_flap_threshold 20
	flap_detection_options a
}
define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	flap_detection_options o,d,u
	low_flap_threshold 5.0
}
`,
			quiet: []wantWarning{{0, []string{"flap"}}, {0, []string{"first_notification_delay"}}},
		},
		{
			name: "values Bergamot cannot honour",
			cfg: `define service{
	use s-tmpl
	host_name A
	service_description Different
	first_notification_delay 5
	flap_detection_enabled 0
	low_flap_threshold 10
	high_flap_threshold 30.5
	flap_detection_options o,c
}
define host{
	name h-delay
	use h-tmpl
	register 0
	first_notification_delay 2.5
}
define host{
	host_name D
	use h-delay
	address 10.0.0.4
}
`,
			warnings: []wantWarning{
				{5, []string{"service 'Different' on host 'A'", "first_notification_delay", "by 5m", "as soon as an alert is hard"}},
				{6, []string{"flap_detection_enabled", "always detects flapping"}},
				{7, []string{"low_flap_threshold", "is 10%", "fixed at 5%"}},
				{8, []string{"high_flap_threshold", "is 30.5%", "fixed at 20%"}},
				{9, []string{"flap_detection_options", "counts every state change"}},
				{15, []string{"host template 'h-delay'", "first_notification_delay", "by 150s"}},
			},
			quiet: []wantWarning{{0, []string{"is not supported by Bergamot"}}},
		},
	})
}

// TestContactNotificationSwitches: Bergamot has one notification switch
// per contact, so turning off only host or only service notifications is
// reported rather than dropped.
func TestContactNotificationSwitches(t *testing.T) {
	runSnippetCases(t, []snippetCase{{
		name: "one of two switches off",
		cfg: `define contact{
	contact_name carol
	host_notification_period 24x7
	service_notification_period 24x7
	host_notifications_enabled 0
	service_notifications_enabled 1
}
`,
		warnings: []wantWarning{{5, []string{"contact 'carol'", "host_notifications_enabled", "host notifications stay enabled"}}},
	}})
}

// writeFiles writes name/body pairs to a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestIntervalLength: nagios.cfg's interval_length scales every interval
// directive, including nagios4's defaults and escalation delays.
func TestIntervalLength(t *testing.T) {
	objs := snippetBase + `define host{
	host_name D
	use h-tmpl
	address 10.0.0.4
	check_interval 10
	first_notification_delay 4
}
define hostescalation{
	host_name A
	first_notification 3
	contacts bob
}
`
	dir := writeFiles(t, map[string]string{"objects.cfg": objs, "nagios.cfg": "cfg_file=objects.cfg\ninterval_length=30\n"})
	res, err := ImportContext(context.Background(), Options{Site: "s"}, filepath.Join(dir, "nagios.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	m := loadImported(t, res)
	for _, c := range []checkWant{
		{"D", "", "schedule", schedule, [2]time.Duration{5 * time.Minute, 30 * time.Second}},
		{"A", "", "schedule (nagios4's defaults 5 and 1, in units)", schedule, [2]time.Duration{150 * time.Second, 30 * time.Second}},
		{"A", "", "renotify", renotify, 5 * time.Minute},    // 10 units
		{"A", "X", "renotify", renotify, 450 * time.Second}, // 15 units
		{"A", "", "escalations", escalations, []config.Escalation{{After: 10 * time.Minute, Contacts: []string{"bob"}}}},
	} {
		if got := c.get(findCheck(t, m, c.host, c.svc)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s/%s %s = %#v, want %#v", c.host, c.svc, c.what, got, c.want)
		}
	}
	if !hasWarning(res, baseLines+6, "first_notification_delay", "by 2m") {
		t.Errorf("no first_notification_delay warning in units: %v", res.Warnings)
	}

	bad := writeFiles(t, map[string]string{"objects.cfg": snippetBase, "nagios.cfg": "cfg_file=objects.cfg\ninterval_length=0\n"})
	_, err = Import(filepath.Join(bad, "nagios.cfg"))
	var es Errors
	if !errors.As(err, &es) || !strings.Contains(err.Error(), "nagios.cfg:2: interval_length '0' is not a positive whole number") {
		t.Errorf("interval_length=0: %v", err)
	}
	other := writeFiles(t, map[string]string{"objects.cfg": snippetBase, "nagios.cfg": "cfg_file=objects.cfg\ninterval_length=60\n"})
	_, err = Import(filepath.Join(dir, "nagios.cfg"), filepath.Join(other, "nagios.cfg"))
	if err == nil || !strings.Contains(err.Error(), "interval_length=60") || !strings.Contains(err.Error(), "sets 30") {
		t.Errorf("two main configs with different interval_length: %v", err)
	}
}

// TestConvertedChecksMatchObjectsCache: for every host and service of the
// edge fixture and Debian's samples, the settings Bergamot resolves from
// the imported XML are the ones nagios4 resolved into objects.cache
// (interval_length 60 there): re-notification, failed-after, schedule and
// both time periods.
func TestConvertedChecksMatchObjectsCache(t *testing.T) {
	res, err := ImportContext(context.Background(), Options{Site: "edge"}, edgeInputs(t, "edge.cfg")...)
	if err != nil {
		t.Fatal(err)
	}
	m := loadImported(t, res)
	units := func(v string) time.Duration {
		f, err := parseFloat(v)
		if err != nil {
			t.Fatalf("objects.cache value %q: %v", v, err)
		}
		return time.Duration(f * float64(time.Minute))
	}
	compared := 0
	for _, co := range parseObjectsCache(t, filepath.Join(importDir(t), "edge.objects.cache")) {
		if (co.typ != "host" && co.typ != "service") || fromVechost(co) {
			continue
		}
		svc := ""
		if co.typ == "service" {
			svc = bergamotName(co.attrs["service_description"])
		}
		c := findCheck(t, m, bergamotName(co.attrs["host_name"]), svc)
		n, err := parseFloat(co.attrs["max_check_attempts"])
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			what      string
			got, want any
		}{
			{"notification_interval", c.Notifications.RenotifyEvery, units(co.attrs["notification_interval"])},
			{"max_check_attempts", c.State.FailedAfter, int(n)},
			{"check_interval", c.Schedule.Every, units(co.attrs["check_interval"])},
			{"retry_interval", c.Schedule.RetryEvery, units(co.attrs["retry_interval"])},
			{"check_period", c.Schedule.TimePeriod, co.attrs["check_period"]},
			{"notification_period", c.Notifications.TimePeriod, co.attrs["notification_period"]},
			{"notifications_enabled", c.Notifications.Enabled, co.attrs["notifications_enabled"] != "0"},
		} {
			compared++
			if !reflect.DeepEqual(f.got, f.want) {
				t.Errorf("%s %s/%s: %s gives %v in Bergamot, nagios4 resolved %v", co.typ, co.attrs["host_name"], svc, f.what, f.got, f.want)
			}
		}
	}
	if compared < 50 {
		t.Errorf("compared only %d values", compared)
	}
}
