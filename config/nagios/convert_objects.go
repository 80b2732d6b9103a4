package nagios

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

func (cv *converter) commands(root *element) {
	for _, n := range sortedKeys(cv.c.Commands) {
		o := cv.c.Commands[n]
		what := "command '" + n + "'"
		cv.reportUnconverted(o, what)
		line := o.Get("command_line")
		e := root.add(newEl("command", "name", bergamotName(n)))
		cv.stats.Commands++
		if nrpe, ok := nrpeCommand(line); ok {
			e.attr("engine", "nrpe")
			e.child("summary", "Check NRPE (imported from Nagios command "+n+")")
			host := newEl("parameter", "name", "host")
			host.text = "#{host.address}"
			e.add(host)
			for _, kv := range nrpe.params {
				p := newEl("parameter", "name", kv[0])
				p.text = kv[1]
				e.add(p)
			}
			for _, x := range nrpe.ignored {
				cv.warnKind(o.Attrs["command_line"].Pos, what, "command_line", "nrpe "+x, fmt.Sprintf("check_nrpe option %q has no Bergamot nrpe engine equivalent and was not converted", x))
			}
			continue
		}
		e.attr("engine", "nagios")
		for _, m := range macroRE.FindAllStringSubmatch(line, -1) {
			if strings.HasPrefix(m[1], "USER") && isInt(m[1][4:]) {
				pos := o.Attrs["command_line"].Pos
				if prev, ok := cv.usedUser[m[1]]; !ok || pos.File < prev.File || pos.File == prev.File && pos.Line < prev.Line {
					cv.usedUser[m[1]] = pos // the first use, in file and line order
				}
			}
		}
		conv, unknown := convertMacros(line)
		for _, m := range unknown {
			cv.unknownMacro(o.Attrs["command_line"].Pos, what, "command_line", m)
		}
		p := newEl("parameter", "name", "command_line")
		p.text = conv
		e.add(p)
		// A plugin exiting outside 0-3 (or missing) is CRITICAL, as in
		// nagios4, not Bergamot's ERROR: see docs/nagios-import.md.
		x := newEl("parameter", "name", "exit_out_of_bounds")
		x.text = "critical"
		e.add(x)
	}
}

type nrpeCall struct {
	params  [][2]string // nrpe engine parameters besides host, in order
	ignored []string
}

// nrpeCommand recognises a check_nrpe command line and maps its options
// to the parameters of Bergamot's nrpe engine: -c command, -a args_line
// (the rest of the line, split into NRPE arguments at run time as nagios4
// splits it), -p port, -t timeout (seconds; the
// ":STATE" suffix is dropped), -2 version 2, -n plain transport.
func nrpeCommand(line string) (nrpeCall, bool) {
	f := strings.Fields(line)
	if len(f) == 0 || path.Base(f[0]) != "check_nrpe" {
		return nrpeCall{}, false
	}
	var call nrpeCall
	cmd := "#{arg1}"
	var rest [][2]string
	for i := 1; i < len(f); i++ {
		opt := f[i]
		val := ""
		if i+1 < len(f) {
			val = f[i+1]
		}
		unq := func(v string) string { c, _ := convertMacros(strings.Trim(v, `'"`)); return c }
		switch opt {
		case "-H", "--host":
			i++
		case "-c", "--command":
			cmd = unq(val)
			i++
		case "-p", "--port":
			rest = append(rest, [2]string{"port", unq(val)})
			i++
		case "-t", "--timeout":
			t, state, _ := strings.Cut(unq(val), ":")
			rest = append(rest, [2]string{"timeout", t})
			if state != "" {
				call.ignored = append(call.ignored, "-t ...:"+state+" (the state on timeout; Bergamot reports TIMEOUT)")
			}
			i++
		case "-2", "--v2-packets-only":
			rest = append(rest, [2]string{"version", "2"})
		case "-n", "--no-ssl":
			rest = append(rest, [2]string{"transport", "plain"})
		case "-a", "--args":
			// nagios4 expands the macros, then splits the line into words:
			// an $ARGn$ with spaces gives several NRPE arguments, a quoted
			// one stays whole. args_line keeps the words as written (quotes
			// included) for the nrpe engine to split the same way after
			// Bergamot has expanded them.
			if i+1 < len(f) {
				raw := strings.TrimSpace(line[fieldOffset(line, i+1):])
				conv, _ := convertMacros(raw)
				rest = append(rest, [2]string{"args_line", conv})
			}
			i = len(f)
		default:
			call.ignored = append(call.ignored, opt)
		}
	}
	call.params = append([][2]string{{"command", cmd}}, rest...)
	return call, true
}

// fieldOffset is the byte offset in line of its n-th field (strings.Fields).
func fieldOffset(line string, n int) int {
	inField, k := false, -1
	for i, r := range line {
		space := r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
		if !space && !inField {
			k++
			if k == n {
				return i
			}
		}
		inField = !space
	}
	return len(line)
}

// checkElement renders a host or service from its resolved attributes, as
// a Bergamot template when asTemplate is set.
func (cv *converter) checkElement(kind string, o *Object, name, what string, asTemplate bool) *element {
	e := newEl(kind, "name", name)
	e.attr("extends", cv.extends(o))
	if kind == "host" {
		addr := o.Get("address")
		if addr == "" && !asTemplate {
			addr = o.Get("host_name") // nagios4's $HOSTADDRESS$ without an address
		}
		e.attr("address", addr)
	}
	if o.Get("active_checks_enabled") == "0" {
		e.attr("enabled", "no")
	} else if cv.anyAncestor(o, func(t *Object) bool { return t.Get("active_checks_enabled") == "0" }) {
		e.attr("enabled", "yes") // override a template's enabled="no"
	}
	var groups []string
	for _, g := range splitList(o.Get("hostgroups") + "," + o.Get("servicegroups")) {
		groups = appendUnique(groups, bergamotName(g))
	}
	if o.Templat {
		e.attr("groups", strings.Join(groups, ", "))
	}
	summary := o.Get("display_name")
	if summary == "" {
		summary = o.Get("alias")
	}
	if summary == "" {
		summary = o.Get("service_description")
	}
	e.child("summary", summary)
	e.child("description", o.Get("notes"))
	for _, k := range infoParams {
		if a, ok := o.Attrs[k]; ok && !a.Null {
			cv.infoParameter(e, k, a, what)
		}
	}
	if n := cv.notificationsElement(o, what, asTemplate); n != nil {
		e.add(n)
	}
	cv.reportApproximations(o, what)
	if o.Has("contact_groups") || o.Has("contacts") {
		n := e.add(newEl("notify"))
		n.attr("teams", joinNames(o.Get("contact_groups")))
		n.attr("contacts", joinNames(o.Get("contacts")))
	}
	if v := o.Get("max_check_attempts"); v != "" {
		e.add(newEl("state", "failed-after", v, "recovers-after", "1"))
	}
	// Bergamot's default schedule is nagios4's (5 and 1 minutes) only when
	// an interval unit is a minute.
	if o.Has("check_interval") || o.Has("retry_interval") || o.Has("check_period") || !asTemplate && cv.intervalLength() != defaultIntervalLength {
		s := e.add(newEl("schedule", "every", cv.intervalAttr(o, "check_interval", what), "retry-every", cv.intervalAttr(o, "retry_interval", what)))
		if tp := o.Get("check_period"); tp != "" {
			s.attr("time-period", bergamotName(tp))
		}
	}
	if cc := o.Get("check_command"); cc != "" {
		cmd, args := splitCheckCommand(cc)
		c := e.add(newEl("check-command", "command", bergamotName(cmd)))
		// Nagios expands $ARGn$ not passed to "": pass them explicitly.
		for n := cv.maxArg(cmd); len(args) < n; {
			args = append(args, "")
		}
		for i, a := range args {
			p := c.add(newEl("parameter", "name", fmt.Sprintf("arg%d", i+1)))
			conv, unknown := convertMacros(a)
			for _, m := range unknown {
				cv.unknownMacro(o.Attrs["check_command"].Pos, what, "check_command", m)
			}
			p.text = conv
		}
	}
	for _, k := range sortedKeys(o.Attrs) {
		if strings.HasPrefix(k, "_") && !o.Attrs[k].Null {
			p := e.add(newEl("parameter", "name", paramName(k), "description", "Nagios custom variable "+k))
			p.text = o.Attrs[k].Value
		}
	}
	return e
}

// maxArg is the highest $ARGn$ that command name uses.
func (cv *converter) maxArg(name string) int {
	max := 0
	if o := cv.c.Commands[name]; o != nil {
		for _, m := range macroRE.FindAllStringSubmatch(o.Get("command_line"), -1) {
			if n, err := strconv.Atoi(strings.TrimPrefix(m[1], "ARG")); err == nil && strings.HasPrefix(m[1], "ARG") && n > max {
				max = n
			}
		}
	}
	return max
}

func joinNames(list string) string {
	var out []string
	for _, n := range splitList(list) {
		out = append(out, bergamotName(n))
	}
	return strings.Join(out, ", ")
}

func (cv *converter) groups(root *element) {
	seen := map[string]*Group{}
	emit := func(g *Group) {
		n := bergamotName(g.Obj.Get(identityKey[g.Obj.Type]))
		what := fmt.Sprintf("%s '%s'", g.Obj.Type, g.Obj.Get(identityKey[g.Obj.Type]))
		cv.reportUnconverted(g.Obj, what)
		if prev := seen[n]; prev != nil {
			cv.warn(g.Obj.Pos, what, "", fmt.Sprintf("shares the Bergamot group '%s' with %s at %s", n, prev.Obj.Type, prev.Obj.Pos))
			return
		}
		seen[n] = g
		e := root.add(newEl("group", "name", n))
		e.child("summary", g.Obj.Get("alias"))
		e.child("description", g.Obj.Get("notes"))
		cv.stats.Groups++
	}
	for _, n := range sortedKeys(cv.c.HostGroups) {
		emit(cv.c.HostGroups[n])
	}
	for _, n := range sortedKeys(cv.c.ServiceGroups) {
		emit(cv.c.ServiceGroups[n])
	}
}

func (cv *converter) teams(root *element) {
	for _, n := range sortedKeys(cv.c.ContactGroups) {
		g := cv.c.ContactGroups[n]
		cv.reportUnconverted(g.Obj, "contactgroup '"+n+"'")
		e := root.add(newEl("team", "name", bergamotName(n)))
		e.child("summary", g.Obj.Get("alias"))
		cv.stats.Teams++
	}
}

func (cv *converter) contactElement(o *Object, name, what string) *element {
	e := newEl("contact", "name", name)
	e.attr("extends", cv.extends(o))
	e.child("summary", o.Get("alias"))
	e.child("email", o.Get("email"))
	e.child("pager", o.Get("pager"))
	hp, sp := o.Get("host_notification_period"), o.Get("service_notification_period")
	if hp != "" || sp != "" {
		if hp != "" && sp != "" && hp != sp {
			cv.warn(o.Attrs["host_notification_period"].Pos, what, "host_notification_period", fmt.Sprintf("differs from service_notification_period; Bergamot has one notification time period, '%s' was used", sp))
		}
		tp := sp
		if tp == "" {
			tp = hp
		}
		en := "yes"
		hOff, sOff := o.Get("host_notifications_enabled") == "0", o.Get("service_notifications_enabled") == "0"
		switch {
		case hOff && sOff:
			en = "no"
		case hOff:
			cv.warn(o.Attrs["host_notifications_enabled"].Pos, what, "host_notifications_enabled", "is 0 but service notifications are on; Bergamot has one switch per contact, so host notifications stay enabled")
		case sOff:
			cv.warn(o.Attrs["service_notifications_enabled"].Pos, what, "service_notifications_enabled", "is 0 but host notifications are on; Bergamot has one switch per contact, so service notifications stay enabled")
		}
		n := e.add(newEl("notifications", "enabled", en, "time-period", bergamotName(tp)))
		cv.contactNotificationOptions(o, what, n)
		return e
	}
	n := newEl("notifications")
	cv.contactNotificationOptions(o, what, n)
	if len(n.attrs) > 0 {
		e.add(n)
	}
	return e
}

// contactStates are the letters of a contact's host_ and
// service_notification_options naming problem states, as Bergamot
// statuses (a down host is a problem status, as for escalations).
var contactStates = map[string]map[byte][]string{
	"host_notification_options":    escalationStates["hostescalation"],
	"service_notification_options": escalationStates["serviceescalation"],
}

// contactNotificationOptions maps a contact's host_notification_options and
// service_notification_options to alerts, recovery and ignore on its
// <notifications>. Bergamot has one setting per contact: when the two
// differ, the contact is notified of what either would notify (warned).
func (cv *converter) contactNotificationOptions(o *Object, what string, n *element) {
	type side struct {
		alerts, recovery bool
		ignore           []string
		pos              Position
	}
	var sides []side
	for _, key := range []string{"host_notification_options", "service_notification_options"} {
		a, ok := o.Attrs[key]
		if !ok || a.Null {
			continue
		}
		states := contactStates[key]
		opts := map[byte]bool{}
		for _, l := range splitList(a.Value) {
			switch {
			case l == "a" || l == "all":
				for k := range states {
					opts[k] = true
				}
				opts['r'], opts['f'], opts['s'] = true, true, true
			case l == "n" || l == "none":
				opts = map[byte]bool{}
			case len(l) == 1:
				opts[l[0]] = true
			}
		}
		ig := unselected(states, opts)
		sd := side{alerts: len(ig) < len(unselected(states, nil)), recovery: opts['r'], pos: a.Pos}
		if sd.alerts {
			sd.ignore = ig
		}
		if !opts['f'] || !opts['s'] {
			cv.warnKind(a.Pos, what, key, "contact f s", "omits 'f' (flapping) or 's' (downtime), but Bergamot always sends flapping and downtime notifications to a contact it notifies (approximation)")
		}
		sides = append(sides, sd)
	}
	if len(sides) == 0 {
		return
	}
	res := sides[0]
	if len(sides) == 2 {
		h, sv := sides[0], sides[1]
		res = side{alerts: h.alerts || sv.alerts, recovery: h.recovery || sv.recovery}
		switch {
		case !h.alerts:
			res.ignore = sv.ignore
		case !sv.alerts:
			res.ignore = h.ignore
		default:
			for _, x := range h.ignore {
				if contains(sv.ignore, x) {
					res.ignore = append(res.ignore, x)
				}
			}
		}
		if h.alerts != sv.alerts || h.recovery != sv.recovery || strings.Join(h.ignore, ",") != strings.Join(sv.ignore, ",") {
			cv.warnKind(sv.pos, what, "service_notification_options", "contact options differ",
				"differs from host_notification_options; Bergamot has one setting per contact, so the contact gets what either would send (approximation)")
		}
	}
	if !res.alerts {
		n.attr("alerts", "no")
	}
	if !res.recovery {
		n.attr("recovery", "no")
	}
	n.attr("ignore", strings.Join(res.ignore, ", "))
}

func (cv *converter) contacts(root *element) {
	teamsOf := map[string][]string{}
	for _, gn := range sortedKeys(cv.c.ContactGroups) {
		for _, m := range cv.c.ContactGroups[gn].Members {
			teamsOf[m] = append(teamsOf[m], bergamotName(gn))
		}
	}
	for _, n := range sortedKeys(cv.c.Contacts) {
		o := cv.c.Contacts[n]
		what := "contact '" + n + "'"
		cv.reportUnconverted(o, what)
		e := cv.contactElement(o, bergamotName(n), what)
		e.attrs = append(e.attrs[:1], append([][2]string{{"teams", strings.Join(teamsOf[n], ", ")}}, e.attrs[1:]...)...)
		if len(teamsOf[n]) == 0 {
			e.attrs = append(e.attrs[:1], e.attrs[2:]...)
		}
		root.add(e)
		cv.stats.Contacts++
	}
}

func (cv *converter) hosts(root *element) {
	groupsOf := map[string][]string{}
	for _, gn := range sortedKeys(cv.c.HostGroups) {
		for _, m := range cv.c.HostGroups[gn].Members {
			groupsOf[m] = append(groupsOf[m], bergamotName(gn))
		}
	}
	svcGroupsOf := map[string][]string{}
	for _, gn := range sortedKeys(cv.c.ServiceGroups) {
		for _, m := range cv.c.ServiceGroups[gn].Members {
			svcGroupsOf[m] = append(svcGroupsOf[m], bergamotName(gn))
		}
	}
	svcOf := map[string][]*Service{}
	for _, s := range cv.c.Services {
		svcOf[s.Host] = append(svcOf[s.Host], s)
	}
	for _, hn := range cv.c.HostOrder {
		h := cv.c.Hosts[hn]
		what := "host '" + hn + "'"
		cv.reportUnconverted(h, what)
		e := cv.checkElement("host", h, bergamotName(hn), what, false)
		e.attr("groups", strings.Join(groupsOf[hn], ", "))
		if t, ok := cv.tmplName[h]; ok {
			setAttr(e, "extends", t) // the host's own template carries its `use`
		}
		root.add(e)
		cv.stats.Hosts++
		cv.applyExtras(e, Ref{Host: hn}, what)
		for _, s := range svcOf[hn] {
			swhat := fmt.Sprintf("service '%s' on host '%s'", s.Description, hn)
			cv.reportUnconverted(s.Obj, swhat)
			r := Ref{hn, s.Description}
			se := cv.checkElement("service", s.Obj, cv.svcName[r], swhat, false)
			se.attr("groups", strings.Join(svcGroupsOf[hn+","+s.Description], ", "))
			if t, ok := cv.tmplName[s.Obj]; ok {
				setAttr(se, "extends", t)
			}
			cv.applyExtras(se, r, swhat)
			e.add(se)
			cv.stats.Services++
		}
	}
}

func setAttr(e *element, k, v string) {
	for i := range e.attrs {
		if e.attrs[i][0] == k {
			e.attrs[i][1] = v
			return
		}
	}
	e.attr(k, v)
}

// others reports the directives of dependency and escalation objects
// that are not mapped; extinfo objects are reported by extinfo.
func (cv *converter) others() {
	for _, o := range cv.c.Other {
		if converted[o.Type] != nil {
			cv.reportUnconverted(o, o.Type+" definition")
		}
	}
}
