package nagios

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

// This file compares nagios4's own resolved objects (objects.precache of
// `nagios4 -vp`, run in the test) with the model Bergamot's config.Resolve
// builds from the imported XML, attribute by attribute. Every difference
// must be listed in the "Intended differences" table of
// docs/nagios-import.md.

const nagios4Bin = "/usr/sbin/nagios4"

// nagios4Precache runs `nagios4 -vp` on a main configuration made of the
// lines of mainCfg (cfg_file, cfg_dir and resource_file paths already
// absolute) and returns the objects nagios4 resolved. Every file nagios4
// writes goes to a temporary directory.
func nagios4Precache(t *testing.T, mainCfg []string) []cacheObject {
	t.Helper()
	if _, err := os.Stat(nagios4Bin); err != nil {
		t.Skipf("%s missing (Debian package nagios4-core; make deps-test installs it): %v", nagios4Bin, err)
	}
	// nagios4 drops to its own user: t.TempDir's parent is private.
	tmp, err := os.MkdirTemp("", "nagios4-fidelity-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	lines := append([]string(nil), mainCfg...)
	for _, kv := range [][2]string{
		{"log_file", "nagios.log"}, {"object_cache_file", "objects.cache"}, {"precached_object_file", "objects.precache"},
		{"status_file", "status.dat"}, {"temp_file", "nagios.tmp"}, {"temp_path", ""}, {"lock_file", "nagios.lock"},
		{"command_file", "nagios.cmd"}, {"check_result_path", ""}, {"log_archive_path", ""},
		{"state_retention_file", "retention.dat"}, {"debug_file", "nagios.debug"},
	} {
		lines = append(lines, kv[0]+"="+filepath.Join(tmp, kv[1]))
	}
	cfg := filepath.Join(tmp, "nagios.cfg")
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nagios4Bin, "-vp", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("nagios4 -vp rejects the configuration: %v\n%s", err, out)
	}
	return parseObjectsCache(t, filepath.Join(tmp, "objects.precache"))
}

// absMainConfig reads a fixture's nagios.cfg with its object and resource
// paths made absolute.
func absMainConfig(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ln := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(ln, "="); ok && (k == "cfg_file" || k == "cfg_dir" || k == "resource_file") && !filepath.IsAbs(v) {
			ln = k + "=" + filepath.Join(filepath.Dir(path), v)
		}
		out = append(out, ln)
	}
	return out
}

// readResources reads $USERn$=value lines.
func readResources(t *testing.T, mainCfg []string) map[string]string {
	t.Helper()
	res := map[string]string{}
	for _, ln := range mainCfg {
		p, ok := strings.CutPrefix(ln, "resource_file=")
		if !ok {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && strings.HasPrefix(k, "$") {
				res[k] = v
			}
		}
		f.Close()
	}
	return res
}

// view is one side of the comparison: object key ("host web1") to
// attribute to normalised value.
type view map[string]map[string]string

func (v view) set(obj, attr, val string) {
	if v[obj] == nil {
		v[obj] = map[string]string{}
	}
	v[obj][attr] = val
}

// setOf normalises a list to a sorted, de-duplicated comma list.
func setOf(items []string) string {
	m := map[string]bool{}
	for _, x := range items {
		if x = strings.TrimSpace(x); x != "" {
			m[x] = true
		}
	}
	out := make([]string, 0, len(m))
	for x := range m {
		out = append(out, x)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func names(list string) []string {
	var out []string
	for _, x := range splitList(list) {
		out = append(out, bergamotName(x))
	}
	return out
}

func secs(units string, il int) string {
	f, err := strconv.ParseFloat(units, 64)
	if err != nil {
		return "bad:" + units
	}
	return (time.Duration(f*float64(il)) * time.Second).String()
}

var nagiosMacro = regexp.MustCompile(`\$([A-Za-z0-9_]+)\$`)

// expandNagios expands a check_command the way nagios4 runs it, for the
// macros the importer converts; others are left as written.
func expandNagios(cmds map[string]cacheObject, res map[string]string, checkCommand string, macros map[string]string) string {
	parts := strings.Split(checkCommand, "!")
	c, ok := cmds[parts[0]]
	if !ok {
		return "unknown command " + parts[0]
	}
	sub := func(s string, args []string) string {
		return nagiosMacro.ReplaceAllStringFunc(s, func(m string) string {
			name := m[1 : len(m)-1]
			if n, err := strconv.Atoi(strings.TrimPrefix(name, "ARG")); err == nil && strings.HasPrefix(name, "ARG") {
				if n <= len(args) {
					return args[n-1]
				}
				return ""
			}
			if v, ok := res[m]; ok {
				return v
			}
			if v, ok := macros[name]; ok {
				return v
			}
			if strings.HasPrefix(name, "_HOST") || strings.HasPrefix(name, "_SERVICE") {
				return "" // an undefined custom variable
			}
			return m
		})
	}
	var args []string
	for _, a := range parts[1:] {
		args = append(args, sub(a, nil))
	}
	return sub(c.attrs["command_line"], args)
}

// canonicalNRPE renders a check_nrpe command line as the nrpe engine's
// parameters, so the two sides compare; ok is false for other commands.
func canonicalNRPE(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) == 0 || filepath.Base(f[0]) != "check_nrpe" {
		return "", false
	}
	p := map[string]string{}
	for i := 1; i < len(f); i++ {
		switch f[i] {
		case "-H":
			i++
			p["host"] = f[i]
		case "-c":
			i++
			p["command"] = f[i]
		case "-p":
			i++
			p["port"] = f[i]
		case "-t":
			i++
			p["timeout"] = strings.SplitN(f[i], ":", 2)[0]
		case "-2":
			p["version"] = "2"
		case "-n":
			p["transport"] = "plain"
		case "-a":
			p["args"] = strings.Join(f[i+1:], "!")
			i = len(f)
		default:
			p["unknown"] += f[i] + " "
		}
	}
	return nrpeString(p), true
}

func nrpeString(p map[string]string) string {
	var b strings.Builder
	b.WriteString("nrpe")
	for _, k := range []string{"host", "port", "command", "args", "version", "timeout", "transport", "unknown"} {
		if p[k] != "" {
			fmt.Fprintf(&b, " %s=%s", k, p[k])
		}
	}
	return b.String()
}

// notificationLetters are the notification_options letters Bergamot
// distinguishes: problem states and recovery.
func notificationLetters(kind, opts string) string {
	all := map[string]string{"host": "d,u,r", "service": "w,u,c,r"}[kind]
	var out []string
	for _, l := range splitList(opts) {
		switch l {
		case "a", "all":
			out = append(out, splitList(all)...)
		case "f", "s", "n", "none":
		default:
			out = append(out, l)
		}
	}
	return setOf(out)
}

// nagiosView normalises nagios4's objects.precache.
func nagiosView(objs []cacheObject, res map[string]string, il int) view {
	v := view{}
	cmds := map[string]cacheObject{}
	for _, o := range objs {
		if o.typ == "command" {
			cmds[o.attrs["command_name"]] = o
		}
	}
	memberOf := map[string][]string{} // "host X" / "service H/S" / "contact C" -> groups
	hostAddr := map[string]string{}
	hostVars := map[string]map[string]string{} // $_HOSTX$ of each host
	for _, o := range objs {
		if o.typ == "host" {
			hostAddr[o.attrs["host_name"]] = o.attrs["address"]
			hostVars[o.attrs["host_name"]] = map[string]string{}
			for key, val := range o.attrs {
				if strings.HasPrefix(key, "_") {
					hostVars[o.attrs["host_name"]]["_HOST"+strings.ToUpper(key[1:])] = val
				}
			}
		}
	}
	for _, o := range objs {
		a := o.attrs
		switch o.typ {
		case "hostgroup", "servicegroup":
			k := "group " + bergamotName(a[o.typ+"_name"])
			v.set(k, "summary", a["alias"])
			v.set(k, "notes", a["notes"])
			var members []string
			if o.typ == "hostgroup" {
				for _, m := range splitList(a["members"]) {
					members = append(members, bergamotName(m))
					memberOf["host "+m] = append(memberOf["host "+m], bergamotName(a["hostgroup_name"]))
				}
			} else {
				l := splitList(a["members"])
				for i := 0; i+1 < len(l); i += 2 {
					members = append(members, bergamotName(l[i])+"/"+bergamotName(l[i+1]))
					memberOf["service "+l[i]+"/"+l[i+1]] = append(memberOf["service "+l[i]+"/"+l[i+1]], bergamotName(a["servicegroup_name"]))
				}
			}
			v.set(k, "members", setOf(members))
		case "contactgroup":
			k := "team " + bergamotName(a["contactgroup_name"])
			v.set(k, "summary", a["alias"])
			v.set(k, "members", setOf(names(a["members"])))
		case "contact":
			k := "contact " + bergamotName(a["contact_name"])
			v.set(k, "summary", a["alias"])
			v.set(k, "email", a["email"])
			v.set(k, "pager", a["pager"])
			v.set(k, "notification_period", optName(a["service_notification_period"]))
			v.set(k, "notifications_enabled", boolWord(a["host_notifications_enabled"] != "0" || a["service_notifications_enabled"] != "0"))
			v.set(k, "notification_options", contactLetters(a["host_notification_options"], a["service_notification_options"]))
		case "timeperiod":
			k := "time-period " + bergamotName(a["timeperiod_name"])
			v.set(k, "summary", a["alias"])
			var ranges []string
			for key, val := range a {
				if key != "timeperiod_name" && key != "alias" && key != "exclude" && key != "name" {
					ranges = append(ranges, key+" "+val)
				}
			}
			v.set(k, "ranges", rangeSet(ranges))
			v.set(k, "excludes", setOf(names(a["exclude"])))
		case "command":
			v.set("command "+bergamotName(a["command_name"]), "defined", "yes")
		}
	}
	deps := nagiosDepends(objs)
	for _, o := range objs {
		a := o.attrs
		if o.typ != "host" && o.typ != "service" {
			continue
		}
		var k, label string
		macros := map[string]string{"HOSTNAME": a["host_name"], "HOSTADDRESS": hostAddr[a["host_name"]]}
		for key, val := range hostVars[a["host_name"]] {
			macros[key] = val
		}
		for key, val := range a {
			if strings.HasPrefix(key, "_") {
				macros["_"+strings.ToUpper(o.typ)+strings.ToUpper(key[1:])] = val
			}
		}
		if o.typ == "host" {
			k = "host " + bergamotName(a["host_name"])
			label = "host " + a["host_name"]
			v.set(k, "address", a["address"])
			summary := a["display_name"]
			if summary == "" || summary == a["host_name"] {
				summary = a["alias"]
			}
			v.set(k, "summary", summary)
		} else {
			k = "service " + bergamotName(a["host_name"]) + "/" + bergamotName(a["service_description"])
			label = "service " + a["host_name"] + "/" + a["service_description"]
			macros["SERVICEDESC"] = a["service_description"]
			summary := a["display_name"]
			if summary == "" {
				summary = a["service_description"]
			}
			v.set(k, "summary", summary)
		}
		v.set(k, "groups", setOf(memberOf[label]))
		v.set(k, "depends", setOf(deps[label]))
		v.set(k, "notes", a["notes"])
		for _, ip := range infoParams {
			if val, ok := a[ip]; ok && val != "" {
				v.set(k, ip, expandMacros(val, macros))
			}
		}
		for key, val := range a {
			if strings.HasPrefix(key, "_") {
				v.set(k, "custom variables", v[k]["custom variables"]+paramName(key)+"="+val+";")
			}
		}
		v.set(k, "custom variables", sortedItems(v[k]["custom variables"]))
		v.set(k, "teams", setOf(names(a["contact_groups"])))
		v.set(k, "contacts", setOf(names(a["contacts"])))
		v.set(k, "failed_after", a["max_check_attempts"])
		v.set(k, "check_interval", secs(a["check_interval"], il))
		v.set(k, "retry_interval", secs(a["retry_interval"], il))
		v.set(k, "check_period", optName(a["check_period"]))
		v.set(k, "notification_interval", secs(a["notification_interval"], il))
		v.set(k, "notification_period", optName(a["notification_period"]))
		v.set(k, "notifications_enabled", boolWord(a["notifications_enabled"] != "0"))
		v.set(k, "active_checks_enabled", boolWord(a["active_checks_enabled"] != "0"))
		v.set(k, "notification_options", notificationLetters(o.typ, a["notification_options"]))
		v.set(k, "notification_options f/s", setOf(fsLetters(a["notification_options"])))
		if cc := a["check_command"]; cc != "" {
			line := expandNagios(cmds, res, cc, macros)
			if n, ok := canonicalNRPE(line); ok {
				line = n
			}
			v.set(k, "check_command", strings.Join(strings.Fields(line), " "))
		} else {
			v.set(k, "check_command", "")
		}
	}
	return v
}

// rangeSet normalises time ranges ("day 14:00-24:00,00:00-06:00") to a
// sorted list of day and sorted times.
func rangeSet(ranges []string) string {
	var out []string
	for _, r := range ranges {
		f := strings.Fields(r)
		if len(f) == 0 {
			continue
		}
		times := splitList(f[len(f)-1])
		sort.Strings(times)
		out = append(out, strings.Join(f[:len(f)-1], " ")+" "+strings.Join(times, ","))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// nagiosDepends is what a check depends on in nagios4, written as
// Bergamot <depends> entries: a host's or service's parents and the masters of the
// host and service dependencies whose criteria name a problem state
// (with inherits_parent, also their masters' masters), keyed by
// "host H" / "service H/S".
func nagiosDepends(objs []cacheObject) map[string][]string {
	type ref struct{ host, svc string }
	type dep struct {
		master           ref
		inherits, parent bool
	}
	byDependent := map[ref][]dep{}
	problem := map[string]string{"hostdependency": "du", "servicedependency": "wuc"}
	for _, o := range objs {
		a := o.attrs
		switch o.typ {
		case "host":
			for _, p := range splitList(a["parents"]) {
				byDependent[ref{host: a["host_name"]}] = append(byDependent[ref{host: a["host_name"]}], dep{master: ref{host: p}, parent: true})
			}
		case "service":
			l := splitList(a["parents"])
			d := ref{a["host_name"], a["service_description"]}
			for i := 0; i < len(l); i += 2 {
				m := ref{a["host_name"], l[i]}
				if i+1 < len(l) {
					m = ref{l[i], l[i+1]}
				}
				byDependent[d] = append(byDependent[d], dep{master: m, parent: true})
			}
		case "hostdependency", "servicedependency":
			if !strings.ContainsAny(a["execution_failure_options"]+a["notification_failure_options"], problem[o.typ]) {
				continue // never fails in nagios4; not converted
			}
			d := ref{a["dependent_host_name"], a["dependent_service_description"]}
			byDependent[d] = append(byDependent[d], dep{master: ref{a["host_name"], a["service_description"]}, inherits: a["inherits_parent"] == "1"})
		}
	}
	entry := func(m, d ref) string {
		switch {
		case m.svc == "":
			return bergamotName(m.host)
		case m.host == d.host:
			return bergamotName(m.svc)
		}
		return bergamotName(m.host) + "/" + bergamotName(m.svc)
	}
	out := map[string][]string{}
	for d, ds := range byDependent {
		label := "host " + d.host
		if d.svc != "" {
			label = "service " + d.host + "/" + d.svc
		}
		for _, x := range ds {
			out[label] = append(out[label], entry(x.master, d))
			if !x.inherits {
				continue
			}
			seen := map[ref]bool{d: true}
			var up func(m ref)
			up = func(m ref) {
				if seen[m] {
					return
				}
				seen[m] = true
				for _, y := range byDependent[m] {
					if y.parent {
						continue
					}
					if y.master != d && !y.parent { // not itself; inherits_parent follows dependencies, not parents
						out[label] = append(out[label], entry(y.master, d))
					}
					if y.inherits {
						up(y.master)
					}
				}
			}
			up(x.master)
		}
	}
	return out
}

// bergamotLetters renders Bergamot notification settings as the
// notification_options letters of a host or service (problem states and
// recovery; a host's 'u' comes with 'd': an unreachable host's alerts are
// held back, see the table).
func bergamotLetters(n config.Notifications, kind string, _ []string) string {
	states := map[string][][2]string{
		"host":    {{"d", "critical"}},
		"service": {{"w", "warning"}, {"u", "unknown"}, {"c", "critical"}},
	}[kind]
	var letters []string
	if n.Alerts {
		for _, s := range states {
			ignored := false
			for _, x := range n.Ignore {
				ignored = ignored || strings.EqualFold(x, s[1])
			}
			if !ignored {
				letters = append(letters, s[0])
			}
		}
		if kind == "host" && len(letters) > 0 {
			letters = append(letters, "u")
		}
	}
	if n.Recovery {
		letters = append(letters, "r")
	}
	return setOf(letters)
}

// contactLetters is what a contact's two option lists mean to Bergamot's
// one setting per contact: host and service letters, "host|service".
func contactLetters(host, service string) string {
	h := notificationLetters("host", host)
	if host == "" {
		h = notificationLetters("host", "a")
	}
	if strings.Contains(h, "d") && !strings.Contains(h, "u") {
		h = setOf(append(splitList(h), "u"))
	}
	sv := notificationLetters("service", service)
	if service == "" {
		sv = notificationLetters("service", "a")
	}
	return h + "|" + sv
}

// expandMacros expands the macros the importer converts in a display
// directive (notes_url...).
func expandMacros(s string, macros map[string]string) string {
	return nagiosMacro.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := macros[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// sortedItems sorts the "a=1;b=2;" items of a list.
func sortedItems(s string) string {
	items := strings.Split(strings.TrimSuffix(s, ";"), ";")
	sort.Strings(items)
	return strings.Join(items, ";")
}

func fsLetters(opts string) []string {
	var out []string
	for _, l := range splitList(opts) {
		if l == "f" || l == "s" {
			out = append(out, l)
		}
		if l == "a" || l == "all" {
			out = append(out, "f", "s")
		}
	}
	return out
}

// optName is the Bergamot name of an optional reference.
func optName(n string) string {
	if n == "" {
		return ""
	}
	return bergamotName(n)
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// bergamotView normalises Bergamot's resolved model the same way.
func bergamotView(m *config.Model) view {
	v := view{}
	groupMembers := map[string][]string{}
	for _, h := range m.Hosts {
		checkView(v, h, "host "+h.Name, groupMembers, h.Name)
		for _, s := range h.Services {
			checkView(v, s, "service "+h.Name+"/"+s.Name, groupMembers, h.Name+"/"+s.Name)
		}
	}
	for n, g := range m.Groups {
		k := "group " + n
		v.set(k, "summary", g.Summary)
		v.set(k, "notes", g.Description)
		v.set(k, "members", setOf(groupMembers[n]))
	}
	teamMembers := map[string][]string{}
	for n, c := range m.Contacts {
		k := "contact " + n
		v.set(k, "summary", c.Summary)
		v.set(k, "email", c.Email)
		v.set(k, "pager", c.Pager)
		v.set(k, "notification_period", c.Notifications.TimePeriod)
		v.set(k, "notifications_enabled", boolWord(c.Notifications.Enabled))
		v.set(k, "notification_options", bergamotLetters(c.Notifications, "host", nil)+"|"+bergamotLetters(c.Notifications, "service", nil))
		for _, t := range c.Teams {
			teamMembers[t] = append(teamMembers[t], n)
		}
	}
	for n, t := range m.Teams {
		k := "team " + n
		v.set(k, "summary", t.Summary)
		v.set(k, "members", setOf(teamMembers[n]))
	}
	for n, tp := range m.TimePeriods {
		k := "time-period " + n
		v.set(k, "summary", tp.Summary)
		var ranges []string
		for _, r := range tp.Ranges {
			ranges = append(ranges, r.Text)
		}
		v.set(k, "ranges", rangeSet(ranges))
		v.set(k, "excludes", setOf(tp.Excludes))
	}
	for n := range m.Commands {
		v.set("command "+n, "defined", "yes")
	}
	return v
}

func checkView(v view, c *config.Check, k string, groupMembers map[string][]string, member string) {
	if c.Kind == "host" {
		v.set(k, "address", c.Address)
	}
	v.set(k, "summary", c.Summary)
	v.set(k, "groups", setOf(c.Groups))
	v.set(k, "notes", c.Description)
	v.set(k, "depends", setOf(c.Depends))
	custom := ""
	for name, val := range c.Parameters {
		if contains(infoParams, name) {
			v.set(k, name, val)
		} else {
			custom += name + "=" + val + ";"
		}
	}
	v.set(k, "custom variables", sortedItems(custom))
	for _, g := range c.Groups {
		groupMembers[g] = append(groupMembers[g], member)
	}
	n := c.Notifications
	v.set(k, "teams", setOf(n.Teams))
	v.set(k, "contacts", setOf(n.Contacts))
	v.set(k, "failed_after", strconv.Itoa(c.State.FailedAfter))
	v.set(k, "check_interval", c.Schedule.Every.String())
	v.set(k, "retry_interval", c.Schedule.RetryEvery.String())
	v.set(k, "check_period", c.Schedule.TimePeriod)
	v.set(k, "notification_interval", n.RenotifyEvery.String())
	v.set(k, "notification_period", n.TimePeriod)
	v.set(k, "notifications_enabled", boolWord(n.Enabled))
	v.set(k, "active_checks_enabled", boolWord(c.Enabled))
	v.set(k, "notification_options", bergamotLetters(n, c.Kind, nil))
	v.set(k, "notification_options f/s", "f,s") // always sent
	switch {
	case c.Command == nil:
		v.set(k, "check_command", "")
	case c.Command.Engine == "nrpe":
		p := maps.Clone(c.Command.Parameters)
		if l, ok := p["args_line"]; ok {
			words, err := checks.SplitWords(l) // as the nrpe engine sends them
			if err != nil {
				words = []string{"(" + err.Error() + ")"}
			}
			p["args"] = strings.Join(words, "!")
		}
		v.set(k, "check_command", nrpeString(p))
	default:
		v.set(k, "check_command", strings.Join(strings.Fields(c.Command.Parameters["command_line"]), " "))
	}
}

// intendedDifferences reads the table under "### Intended differences" in
// docs/nagios-import.md: its first two columns name object kinds and
// attributes of this comparison (comma-separated lists).
func intendedDifferences(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, row := range intendedRows(t) {
		for _, k := range row {
			out[k] = true
		}
	}
	return out
}

// intendedRows is the table's rows, each the "kind attribute" pairs its
// first two columns name.
func intendedRows(t *testing.T) [][]string {
	t.Helper()
	data, err := os.ReadFile("../../docs/nagios-import.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "### Intended differences")
	if !ok {
		t.Fatal("docs/nagios-import.md has no '### Intended differences' section")
	}
	var out [][]string
	for _, ln := range strings.Split(table, "\n")[1:] {
		if strings.HasPrefix(ln, "#") {
			break
		}
		cols := strings.Split(ln, "|")
		if len(cols) < 4 || strings.HasPrefix(strings.TrimSpace(cols[1]), "---") || strings.TrimSpace(cols[1]) == "object" {
			continue
		}
		var row []string
		for _, kind := range strings.Split(cols[1], ",") {
			for _, attr := range strings.Split(cols[2], ",") {
				row = append(row, strings.Trim(strings.TrimSpace(kind), "`")+" "+strings.Trim(strings.TrimSpace(attr), "`"))
			}
		}
		out = append(out, row)
	}
	return out
}

// intendedUsed records the intended differences (kind and attribute) some
// fixture actually showed, so that rows no configuration needs are noticed.
var intendedUsed = map[string]bool{}

// fidelityCases counts the configurations compared in this run.
var fidelityCases int

// compareViews reports every difference not in the intended table.
func compareViews(t *testing.T, nag, berg view, intended map[string]bool) {
	t.Helper()
	keys := make([]string, 0, len(nag))
	for k := range nag {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs, diffs := 0, 0
	for _, k := range keys {
		b, ok := berg[k]
		if !ok {
			t.Errorf("%s: resolved by nagios4, missing from Bergamot's model", k)
			continue
		}
		kind, _, _ := strings.Cut(k, " ")
		for _, a := range sortedKeys(nag[k]) {
			attrs++
			nv, bv := nag[k][a], b[a]
			if nv == bv || a == "summary" && bv == "" && strings.HasSuffix(k, " "+nv) {
				continue
			}
			if intended[kind+" "+a] {
				intendedUsed[kind+" "+a] = true
				diffs++
				continue
			}
			t.Errorf("%s: %s: nagios4 %q, Bergamot %q (not an intended difference in docs/nagios-import.md)", k, a, nv, bv)
		}
	}
	for k := range berg {
		if _, ok := nag[k]; !ok {
			t.Errorf("%s: in Bergamot's model but not resolved by nagios4", k)
		}
	}
	t.Logf("%d objects, %d attributes compared, %d intended differences", len(keys), attrs, diffs)
}

// comparedAttrs are, per object type, the nagios4 attributes the views
// above compare (custom variables "_X" and time ranges too). Every other
// attribute nagios4 stores must be in the intended differences table,
// so a new kind of attribute cannot go unexamined.
var comparedAttrs = map[string][]string{
	"host": {"host_name", "alias", "display_name", "address", "check_command", "contact_groups", "contacts", "max_check_attempts",
		"check_interval", "retry_interval", "check_period", "notification_interval", "notification_period", "notifications_enabled",
		"active_checks_enabled", "notification_options", "notes", "notes_url", "action_url", "icon_image", "icon_image_alt", "parents"},
	"service": {"host_name", "service_description", "display_name", "check_command", "contact_groups", "contacts", "max_check_attempts",
		"check_interval", "retry_interval", "check_period", "notification_interval", "notification_period", "notifications_enabled",
		"active_checks_enabled", "notification_options", "notes", "notes_url", "action_url", "icon_image", "icon_image_alt", "parents"},
	"hostgroup":    {"hostgroup_name", "alias", "members", "notes"},
	"servicegroup": {"servicegroup_name", "alias", "members", "notes"},
	"contactgroup": {"contactgroup_name", "alias", "members"},
	"contact": {"contact_name", "alias", "email", "pager", "service_notification_period", "host_notifications_enabled",
		"service_notifications_enabled", "host_notification_options", "service_notification_options"},
	"timeperiod": {"timeperiod_name", "alias", "exclude"},
	"command":    {"command_name", "command_line"},
}

// checkClassified reports nagios4 attributes that are neither compared nor
// listed as intended differences.
func checkClassified(t *testing.T, objs []cacheObject, intended map[string]bool) {
	t.Helper()
	reported := map[string]bool{}
	for _, o := range objs {
		for k := range o.attrs {
			switch {
			case strings.HasPrefix(k, "_") && (o.typ == "host" || o.typ == "service"):
			case o.typ == "timeperiod": // every other key is a time range
			case contains(comparedAttrs[o.typ], k):
			case intended[o.typ+" "+k]:
				intendedUsed[o.typ+" "+k] = true
			default:
				if !reported[o.typ+" "+k] {
					reported[o.typ+" "+k] = true
					t.Errorf("nagios4 stores %s attribute %q: compare it here or list it in the intended differences of docs/nagios-import.md", o.typ, k)
				}
			}
		}
	}
}

// fidelityCase imports a configuration and compares Bergamot's resolved
// model with nagios4's resolved objects.
func fidelityCase(t *testing.T, mainCfg []string, importPaths []string, il int) {
	t.Helper()
	objs := nagios4Precache(t, mainCfg)
	res, err := ImportContext(context.Background(), Options{Site: "fidelity"}, importPaths...)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	doc, err := config.Parse("import.xml", bytes.NewReader(res.XML))
	if err != nil {
		t.Fatalf("bergamot parse: %v", err)
	}
	m, err := config.Resolve(doc)
	if err != nil {
		t.Fatalf("bergamot resolve: %v", err)
	}
	intended := intendedDifferences(t)
	fidelityCases++
	checkClassified(t, objs, intended)
	compareViews(t, nagiosView(objs, readResources(t, mainCfg), il), bergamotView(m), intended)
}

// TestResolvedModelMatchesNagios4: for each real configuration in the
// shared fixtures and the edge-case fixture, nagios4 (run here) and
// Bergamot's resolved model of the import agree on every host, service,
// group, team, contact, time period and command, attribute by attribute,
// except the documented intended differences.
func TestResolvedModelMatchesNagios4(t *testing.T) {
	real := fixtures.Path(t, "nagios/real")
	dirs, _ := filepath.Glob(filepath.Join(real, "*", "nagios.cfg"))
	if len(dirs) == 0 {
		t.Fatalf("no */nagios.cfg under %s", real)
	}
	for _, cfg := range dirs {
		t.Run(filepath.Base(filepath.Dir(cfg)), func(t *testing.T) {
			fidelityCase(t, absMainConfig(t, cfg), []string{cfg}, 60)
		})
	}
	t.Run("edge", func(t *testing.T) {
		inputs := edgeInputs(t, "edge.cfg")
		res := filepath.Join(t.TempDir(), "resource.cfg")
		if err := os.WriteFile(res, []byte("$USER1$="+DefaultPluginDir+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		main := []string{"resource_file=" + res, "interval_length=60"}
		for _, f := range inputs {
			main = append(main, "cfg_file="+f)
		}
		fidelityCase(t, main, inputs, 60)
	})
	// The table stays accurate: every row is needed by some fixture (when
	// every fixture was compared: -run may pick one).
	if fidelityCases < len(dirs)+1 {
		return
	}
	for _, row := range intendedRows(t) {
		if !slices.ContainsFunc(row, func(k string) bool { return intendedUsed[k] }) {
			t.Errorf("intended differences row %v of docs/nagios-import.md: no fixture shows such a difference; remove or correct it", row)
		}
	}
}
