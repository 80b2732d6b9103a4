package nagios

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Warning is a directive or object the converter could not represent in
// Bergamot, reported with where it was written.
type Warning struct {
	Pos       Position
	Object    string // e.g. "host 'web1'"
	Directive string // empty when the whole object is not converted
	Msg       string
	// Also lists the other places the same warning applies to: a kind of
	// problem is reported once, not once per object.
	Also []Position
	kind string // groups warnings of one kind; Directive+Msg when empty
}

func (w Warning) String() string {
	also := ""
	if n := len(w.Also); n > 0 {
		var ps []string
		for i, p := range w.Also {
			if i == maxAlso {
				ps = append(ps, fmt.Sprintf("and %d more", n-maxAlso))
				break
			}
			ps = append(ps, p.String())
		}
		also = fmt.Sprintf(" (the same for %d more: %s)", n, strings.Join(ps, ", "))
	}
	if w.Directive != "" {
		return fmt.Sprintf("%s: %s: directive '%s' %s%s", w.Pos, w.Object, w.Directive, w.Msg, also)
	}
	return fmt.Sprintf("%s: %s: %s%s", w.Pos, w.Object, w.Msg, also)
}

// maxAlso is how many other places a grouped warning names.
const maxAlso = 5

// groupWarnings reports each kind of warning once, at its first place in
// file order, with the other places in Also.
func groupWarnings(ws []Warning) []Warning {
	var out []Warning
	first := map[string]int{}
	for _, w := range ws {
		k := w.kind
		if k == "" {
			k = w.Directive + "\x00" + w.Msg
		}
		if i, ok := first[k]; ok {
			out[i].Also = append(out[i].Also, w.Pos)
			continue
		}
		first[k] = len(out)
		out = append(out, w)
	}
	return out
}

// Stats counts what was converted.
type Stats struct {
	Hosts, Services, Groups, Contacts, Teams, TimePeriods, Commands, Templates int
}

// Result is the outcome of a conversion.
type Result struct {
	// XML is one <bergamot site="..."> document.
	XML      []byte
	Warnings []Warning
	Stats    Stats
}

// converted lists, per object type, the directives the converter maps.
// Host and service directives Bergamot has no setting for, but may match
// by its fixed behaviour, are in checkApproximations instead.
var converted = map[string]map[string]bool{
	"host":         set("host_name", "alias", "display_name", "address", "hostgroups", "check_command", "contact_groups", "contacts", "notification_period", "notification_interval", "notification_options", "check_period", "check_interval", "retry_interval", "max_check_attempts", "notes", "active_checks_enabled", "notifications_enabled", "parents", "notes_url", "action_url", "icon_image", "icon_image_alt"),
	"service":      set("host_name", "hostgroup_name", "service_description", "display_name", "servicegroups", "parents", "check_command", "contact_groups", "contacts", "notification_period", "notification_interval", "notification_options", "check_period", "check_interval", "retry_interval", "max_check_attempts", "notes", "active_checks_enabled", "notifications_enabled", "notes_url", "action_url", "icon_image", "icon_image_alt"),
	"hostgroup":    set("hostgroup_name", "alias", "members", "hostgroup_members", "notes"),
	"servicegroup": set("servicegroup_name", "alias", "members", "servicegroup_members", "notes"),
	"contactgroup": set("contactgroup_name", "alias", "members", "contactgroup_members"),
	"contact":      set("contact_name", "alias", "email", "pager", "contactgroups", "service_notification_period", "host_notification_period", "host_notifications_enabled", "service_notifications_enabled", "host_notification_options", "service_notification_options"),
	"timeperiod":   set("timeperiod_name", "alias", "exclude"),
	"command":      set("command_name", "command_line"),
	// Dependency and escalation directives are mapped (or warned about
	// individually) by convert_deps.go and convert_escalate.go.
	"hostdependency":    set("host_name", "hostgroup_name", "dependent_host_name", "dependent_hostgroup_name", "inherits_parent", "execution_failure_criteria", "notification_failure_criteria", "dependency_period"),
	"servicedependency": set("host_name", "hostgroup_name", "servicegroup_name", "service_description", "dependent_host_name", "dependent_hostgroup_name", "dependent_servicegroup_name", "dependent_service_description", "inherits_parent", "execution_failure_criteria", "notification_failure_criteria", "dependency_period"),
	"hostescalation":    set("host_name", "hostgroup_name", "contacts", "contact_groups", "first_notification", "last_notification", "notification_interval", "escalation_period", "escalation_options"),
	"serviceescalation": set("host_name", "hostgroup_name", "servicegroup_name", "service_description", "contacts", "contact_groups", "first_notification", "last_notification", "notification_interval", "escalation_period", "escalation_options"),
}

func set(v ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range v {
		m[s] = true
	}
	return m
}

type converter struct {
	c        *Config
	site     string
	warnings []Warning
	warned   map[string]bool
	stats    Stats
	tmplName map[*Object]string
	usedUser map[string]Position
	svcName  map[Ref]string // Bergamot name of every service
	svcObj   map[Ref]*Object
	extras   map[Ref]*checkExtras
	// templateByName finds a template by type and name ("host\x00generic-host").
	templateByName map[string]*Object
	// dependsOn is the <depends> graph built so far: dependent -> masters.
	dependsOn map[Ref][]Ref
	macros    map[string]bool // Nagios macros kept as written
}

func (cv *converter) warn(pos Position, obj, directive, msg string) {
	cv.warnKind(pos, obj, directive, "", msg)
}

// warnKind records a warning; warnings of the same kind (or, without a
// kind, the same directive and message) are reported once, naming the
// other places.
func (cv *converter) warnKind(pos Position, obj, directive, kind, msg string) {
	k := fmt.Sprintf("%s|%s|%s|%s", pos, directive, kind, msg)
	if cv.warned[k] {
		return
	}
	cv.warned[k] = true
	cv.warnings = append(cv.warnings, Warning{Pos: pos, Object: obj, Directive: directive, Msg: msg, kind: kind})
}

// unknownMacro records a Nagios macro Bergamot has no equivalent for; all
// of them are reported in one warning, at the first place one is used.
func (cv *converter) unknownMacro(pos Position, obj, directive, macro string) {
	if cv.macros == nil {
		cv.macros = map[string]bool{}
	}
	cv.macros[macro] = true
	cv.warnKind(pos, obj, directive, "macro", "")
}

// obsolete are directives nagios4 itself accepts and ignores.
var obsolete = set("failure_prediction_enabled", "failure_prediction_options", "parallelize_check")

// reportUnconverted warns about every directive of o the converter does
// not map, at the place it was written (possibly in a template).
func (cv *converter) reportUnconverted(o *Object, what string) {
	for _, k := range sortedKeys(o.Attrs) {
		a := o.Attrs[k]
		if converted[o.Type][k] || strings.HasPrefix(k, "range:") || a.Null || obsolete[k] {
			continue
		}
		if def, ok := defaults[o.Type][k]; ok && sameOptionValue(a.Value, def) {
			continue // nagios4's own default: nothing is lost
		}
		if _, approx := checkApproximations[k]; approx && (o.Type == "host" || o.Type == "service") {
			continue // reported by reportApproximations when it matters
		}
		if strings.HasPrefix(k, "_") && (o.Type == "host" || o.Type == "service" || o.Type == "contact") {
			continue
		}
		cv.warn(a.Pos, what, k, "is not supported by Bergamot and was not converted")
	}
}

var invalidName = regexp.MustCompile(`[^A-Za-z0-9_.\-]+`)

// bergamotName makes a stable, valid Bergamot object name.
func bergamotName(s string) string {
	n := strings.Trim(invalidName.ReplaceAllString(s, "-"), "-")
	if n == "" {
		return "unnamed"
	}
	return n
}

// Convert renders a resolved configuration as one Bergamot XML document.
func Convert(c *Config, site string) *Result {
	if site == "" {
		site = "nagios-import"
	}
	cv := &converter{c: c, site: site, warned: map[string]bool{}, tmplName: map[*Object]string{}, usedUser: map[string]Position{},
		svcName: map[Ref]string{}, svcObj: map[Ref]*Object{}, extras: map[Ref]*checkExtras{}, templateByName: map[string]*Object{}}
	for _, o := range c.Objects {
		if k := o.Type + "\x00" + o.Name; o.Name != "" && cv.templateByName[k] == nil {
			cv.templateByName[k] = o
		}
	}
	for _, w := range c.Warnings {
		cv.warn(w.Pos, w.Object, w.Directive, w.Msg)
	}
	root := newEl("bergamot", "site", site)
	cv.templates(root)
	cv.timeperiods(root)
	cv.commands(root)
	cv.groups(root)
	cv.teams(root)
	cv.contacts(root)
	cv.serviceNames()
	cv.dependencies()
	cv.escalations()
	cv.extinfo()
	cv.hosts(root)
	cv.others()
	cv.siteParameters(root)
	fixInheritedSets(root)
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	root.write(&b, 0)
	sort.SliceStable(cv.warnings, func(i, j int) bool {
		a, z := cv.warnings[i].Pos, cv.warnings[j].Pos
		if a.File != z.File {
			return a.File < z.File
		}
		return a.Line < z.Line
	})
	ws := groupWarnings(cv.warnings)
	for i := range ws {
		if ws[i].kind == "macro" {
			ws[i].Msg = fmt.Sprintf("uses Nagios macros Bergamot has no equivalent for, kept as written: %s", strings.Join(sortedKeys(cv.macros), " "))
		}
	}
	return &Result{XML: b.Bytes(), Warnings: ws, Stats: cv.stats}
}

// DefaultPluginDir is the value given to $USER1$ (the site parameter
// nagios_path) when no resource file defines it: the directory of Debian's
// monitoring-plugins packages.
const DefaultPluginDir = "/usr/lib/nagios/plugins"

// siteParameters puts the $USERn$ values used by commands first in the
// document as site parameters.
func (cv *converter) siteParameters(root *element) {
	var ps []*element
	for _, k := range sortedKeys(cv.usedUser) {
		desc := "Nagios $" + k + "$ from resource.cfg"
		v, ok := cv.c.Resources[k]
		switch {
		case ok:
		case k == "USER1":
			v = DefaultPluginDir
			desc = "Nagios $USER1$ (no resource file defined it: the Debian plugin directory)"
			cv.warn(cv.usedUser[k], "resource macros", "$"+k+"$", "is used here (first use) but no resource file given defines it; the site parameter "+
				userParam(k)+" defaults to "+DefaultPluginDir+" (where Debian's monitoring-plugins live); give your resource.cfg or nagios.cfg, or change the parameter if your plugins are elsewhere")
		default:
			desc = "Nagios $" + k + "$ (no resource file defined it; set it by hand)"
			cv.warn(cv.usedUser[k], "resource macros", "$"+k+"$", "is used here (first use) but no resource file given defines it; the site parameter "+
				userParam(k)+" is empty: give your resource.cfg or nagios.cfg, or set the parameter by hand")
		}
		p := newEl("parameter", "name", userParam(k), "description", desc)
		p.text = v
		ps = append(ps, p)
	}
	root.kids = append(ps, root.kids...)
}

// templates emits every Nagios template (an object with `name`) as a
// Bergamot template; names that clash with a registered object of the
// same type get a "-template" suffix.
func (cv *converter) templates(root *element) {
	taken := map[string]bool{}
	for _, o := range cv.c.Objects {
		if !o.Templat {
			if id := o.Get(identityKey[o.Type]); id != "" {
				taken[o.Type+"\x00"+bergamotName(id)] = true
			}
		}
	}
	for _, o := range cv.c.Objects {
		if o.Name == "" {
			continue
		}
		n := bergamotName(o.Name)
		if taken[o.Type+"\x00"+n] {
			n += "-template"
		}
		cv.tmplName[o] = n
	}
	for _, o := range cv.c.Objects {
		n, ok := cv.tmplName[o]
		if !ok {
			continue
		}
		what := fmt.Sprintf("%s template '%s'", o.Type, o.Name)
		cv.reportUnconverted(o, what)
		var e *element
		switch o.Type {
		case "host":
			e = cv.checkElement("host", o, n, what, true)
		case "service":
			e = cv.checkElement("service", o, n, what, true)
		case "contact":
			e = cv.contactElement(o, n, what)
		case "timeperiod":
			e = cv.timeperiodElement(o, n)
		default:
			cv.warn(o.Pos, what, "", "templates of this type are resolved into the objects that use them; not converted as a template")
			continue
		}
		e.attrs = append([][2]string{e.attrs[0], {"template", "yes"}}, e.attrs[1:]...)
		root.add(e)
		cv.stats.Templates++
	}
}

// extends maps o's `use` list to Bergamot template names.
func (cv *converter) extends(o *Object) string {
	var out []string
	for _, u := range o.Use {
		for _, t := range cv.c.Objects {
			if t.Type == o.Type && t.Name == u {
				out = append(out, cv.tmplName[t])
				break
			}
		}
	}
	return strings.Join(out, ", ")
}

func (cv *converter) timeperiodElement(o *Object, name string) *element {
	e := newEl("time-period", "name", name)
	inherited, replaces := cv.timeperiodInheritance(o)
	if !replaces {
		e.attr("extends", cv.extends(o))
	}
	var ex []string
	for _, x := range splitList(o.Get("exclude")) {
		ex = append(ex, bergamotName(x))
	}
	e.attr("excludes", strings.Join(ex, ", "))
	e.child("summary", o.Get("alias"))
	keys := sortedKeys(o.Attrs)
	sort.SliceStable(keys, func(i, j int) bool { return o.Attrs[keys[i]].Pos.Line < o.Attrs[keys[j]].Pos.Line })
	for _, k := range keys {
		day, ok := strings.CutPrefix(k, "range:")
		if !ok {
			continue
		}
		a := o.Attrs[k]
		if a.Null || !replaces && inherited[k] {
			continue // Bergamot inherits it through extends
		}
		if strings.Contains(day, " - ") || strings.Contains(day, "/") {
			cv.warn(a.Pos, "timeperiod '"+o.displayName()+"'", day, "is a Nagios date range; Bergamot's documented time-range forms do not include ranges or skips, check it after import")
		}
		e.child("time-range", day+" "+a.Value)
	}
	return e
}

func (cv *converter) timeperiods(root *element) {
	for _, n := range sortedKeys(cv.c.Timeperiods) {
		o := cv.c.Timeperiods[n]
		cv.reportUnconverted(o, "timeperiod '"+n+"'")
		root.add(cv.timeperiodElement(o, bergamotName(n)))
		cv.stats.TimePeriods++
	}
}

// timeperiodInheritance compares a time period with the templates it uses.
// inherited holds the range keys o took unchanged from a template. replaces
// is set when o redefines or cancels (null) a day or the exclusions a
// template sets: nagios4 then replaces that day, while Bergamot would add
// the object's ranges to the template's, so such a period is written
// without extends, with all its resolved ranges.
func (cv *converter) timeperiodInheritance(o *Object) (inherited map[string]bool, replaces bool) {
	inherited = map[string]bool{}
	for _, u := range o.Use {
		t := cv.templateByName["timeperiod\x00"+u]
		if t == nil {
			continue
		}
		for k, ta := range t.Attrs {
			if !strings.HasPrefix(k, "range:") && k != "exclude" || ta.Null {
				continue
			}
			oa, ok := o.Attrs[k]
			switch {
			case !ok || oa.Null || oa.Value != ta.Value:
				replaces = true
			case oa.Pos == ta.Pos:
				inherited[k] = true
			}
		}
	}
	return inherited, replaces
}

// sameOptionValue compares a directive's value with a default: numbers
// numerically, option lists as sets.
func sameOptionValue(v, def string) bool {
	if strings.TrimSpace(v) == def {
		return true
	}
	if a, err := parseFloat(strings.TrimSpace(v)); err == nil {
		b, err := parseFloat(def)
		return err == nil && a == b
	}
	a, b := splitList(v), splitList(def)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, ",") == strings.Join(b, ",")
}
