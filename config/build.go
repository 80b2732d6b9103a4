package config

import (
	"sort"

	"github.com/bergamot-monitoring/bergamot/config/timeperiod"
)

// buildSupport fills the model's non-check objects from resolved nodes,
// checking their references.
func (r *resolver) buildSupport(m *Model) {
	periodNodes := map[string]*Node{}
	for _, o := range r.doc.Objects() {
		n := r.memo[key(o.Kind(), o.Name())]
		if n == nil || o.Template() {
			continue
		}
		label := objectLabel(o.Kind(), o.Name())
		name := o.Name()
		sd := r.checkRefs(n, label, "security-domain", n.AttrValue("security-domains"))
		switch o.Kind() {
		case "security-domain":
			m.SecurityDomains[name] = &SecurityDomain{Name: name, Summary: text(n, "summary"), Description: text(n, "description"), Source: src(n)}
		case "team":
			m.Teams[name] = &Team{Name: name, Summary: text(n, "summary"), Description: text(n, "description"),
				Teams: r.checkRefs(n, label, "team", n.AttrValue("teams")), Grants: splitList(n.AttrValue("grants")),
				Revokes: splitList(n.AttrValue("revokes")), SecurityDomains: sd, AccessControls: r.accessControls(n, label),
				Parameters: r.params(n), Source: src(n)}
		case "contact":
			m.Contacts[name] = &Contact{Name: name, Summary: text(n, "summary"), Description: text(n, "description"),
				FirstName: text(n, "first-name"), PreferredName: text(n, "preferred-name"), FamilyName: text(n, "family-name"),
				FullName: text(n, "full-name"), Email: text(n, "email"), Pager: text(n, "pager"), Mobile: text(n, "mobile"),
				Phone: text(n, "phone"), IM: text(n, "im"), Teams: r.checkRefs(n, label, "team", n.AttrValue("teams")),
				Grants: splitList(n.AttrValue("grants")), Revokes: splitList(n.AttrValue("revokes")), SecurityDomains: sd,
				AccessControls: r.accessControls(n, label), Notifications: r.notifications(n, label),
				Parameters: r.params(n), Source: src(n)}
		case "time-period":
			m.TimePeriods[name] = r.timePeriod(n, label)
			periodNodes[name] = n
		case "location":
			r.checkRef(n, label, "location", n.AttrValue("location"))
			m.Locations[name] = &Location{Name: name, Summary: text(n, "summary"), Description: text(n, "description"),
				Parent: n.AttrValue("location"), WorkerPool: n.AttrValue("worker-pool"), Parameters: r.params(n), Source: src(n)}
		case "group":
			parents := r.checkRefs(n, label, "group", n.AttrValue("groups"))
			if g := n.AttrValue("group"); g != "" { // legacy spelling found in Bergamot's own templates
				parents = append(parents, r.checkRefs(n, label, "group", g)...)
			}
			m.Groups[name] = &Group{Name: name, Summary: text(n, "summary"), Description: text(n, "description"),
				Parents: parents, Parameters: r.params(n), SLAs: r.slas(n, label), Source: src(n)}
		case "credential":
			m.Credentials[name] = &Credential{Name: name, Summary: text(n, "summary"), Username: text(n, "username"),
				Password: text(n, "password"), KeyID: text(n, "key-id"), KeySecret: text(n, "key-secret"), Source: src(n)}
		case "command":
			m.Commands[name] = commandOf(name, n)
		case "metrics-export":
			m.MetricsExports[name] = r.metricsExport(n, label)
		}
	}
	r.checkExcludes(m, periodNodes)
	for name, l := range m.Locations {
		if p := m.Locations[l.Parent]; p != nil {
			p.Children = append(p.Children, name)
		}
	}
	for name, g := range m.Groups {
		for _, pn := range g.Parents {
			if p := m.Groups[pn]; p != nil {
				p.Children = append(p.Children, name)
			}
		}
	}
	for _, l := range m.Locations {
		sort.Strings(l.Children)
	}
	for _, g := range m.Groups {
		sort.Strings(g.Children)
	}
}

func commandOf(name string, n *Node) *Command {
	c := &Command{Name: name, Summary: text(n, "summary"), Description: text(n, "description"),
		Engine: n.AttrValue("engine"), Executor: n.AttrValue("executor"), Script: text(n, "script"),
		Category: textOrAttr(n, "category"), Application: textOrAttr(n, "application"), Source: src(n)}
	for _, p := range n.ChildrenNamed("parameter") {
		c.Parameters = append(c.Parameters, Parameter{Name: p.AttrValue("name"), Value: paramValue(p), Description: p.AttrValue("description")})
	}
	return c
}

func (r *resolver) timePeriod(n *Node, label string) *TimePeriod {
	tp := &TimePeriod{Name: n.AttrValue("name"), Summary: text(n, "summary"), Description: text(n, "description"),
		Excludes: r.checkRefs(n, label, "time-period", n.AttrValue("excludes")), Source: src(n)}
	if tz := n.Child("time-zone"); tz != nil {
		tp.TimeZone = tz.AttrValue("id")
	}
	for _, tr := range n.ChildrenNamed("time-range") {
		tp.Ranges = append(tp.Ranges, TimeRange{Text: tr.Text, Source: src(tr)})
		if _, err := timeperiod.ParseRange(tr.Text); err != nil {
			r.sink.add(tr, label, "time-range %q: %v", tr.Text, err)
		}
	}
	return tp
}

func (r *resolver) accessControls(n *Node, label string) []AccessControl {
	var out []AccessControl
	for _, ac := range n.ChildrenNamed("access-control") {
		r.checkRef(ac, label, "security-domain", ac.AttrValue("security-domain"))
		out = append(out, AccessControl{SecurityDomain: ac.AttrValue("security-domain"),
			Grants: splitList(ac.AttrValue("grants")), Revokes: splitList(ac.AttrValue("revokes"))})
	}
	return out
}

// notifications reads <notifications> and <notify> of an object.
func (r *resolver) notifications(n *Node, label string) Notifications {
	nn := n.Child("notifications")
	out := Notifications{Enabled: boolAttr(nn, "enabled", true), Alerts: boolAttr(nn, "alerts", true),
		Recovery: boolAttr(nn, "recovery", true), Acknowledge: boolAttr(nn, "acknowledge", true),
		AllEngines: boolAttr(nn, "all-engines", true)}
	if nn != nil {
		out.TimePeriod = nn.AttrValue("time-period")
		r.checkRef(nn, label, "time-period", out.TimePeriod)
		if v := nn.AttrValue("renotify-every"); v != "" {
			// "0" says notify once, overriding a template that re-notifies.
			d, err := ParseInterval(v)
			if err != nil {
				r.sink.add(nn, label, "renotify-every %q is not an interval (e.g. 30m, 1h, or 0 to notify once)", v)
			} else {
				out.RenotifyEvery = d
			}
		}
		out.Ignore = splitList(nn.AttrValue("ignore"))
		for _, e := range nn.ChildrenNamed("notification-engine") {
			ne := NotificationEngine{Engine: e.AttrValue("engine"), Enabled: boolAttr(e, "enabled", true),
				Alerts: boolAttr(e, "alerts", boolAttr(e, "alert", true)), Recovery: boolAttr(e, "recovery", true),
				TimePeriod: e.AttrValue("time-period"), Ignore: splitList(e.AttrValue("ignore"))}
			r.checkRef(e, label, "time-period", ne.TimePeriod)
			out.Engines = append(out.Engines, ne)
		}
		for _, e := range nn.ChildrenNamed("escalate") {
			after, _ := ParseInterval(e.AttrValue("after"))
			esc := Escalation{After: after, TimePeriod: e.AttrValue("time-period"), Ignore: splitList(e.AttrValue("ignore")),
				Renotify: boolAttr(e, "renotify", false)}
			r.checkRef(e, label, "time-period", esc.TimePeriod)
			for _, nt := range e.ChildrenNamed("notify") {
				esc.Teams = append(esc.Teams, r.checkRefs(nt, label, "team", nt.AttrValue("teams"))...)
				esc.Contacts = append(esc.Contacts, r.checkRefs(nt, label, "contact", nt.AttrValue("contacts"))...)
			}
			out.Escalations = append(out.Escalations, esc)
		}
	}
	if nt := n.Child("notify"); nt != nil {
		out.Teams = r.checkRefs(nt, label, "team", nt.AttrValue("teams"))
		out.Contacts = r.checkRefs(nt, label, "contact", nt.AttrValue("contacts"))
	}
	return out
}
