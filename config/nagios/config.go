package nagios

import (
	"fmt"
	"sort"
	"strings"
)

// Service is one service instance on one host. Services defined on several
// hosts or hostgroups share their source Object.
type Service struct {
	Host        string
	Description string
	Obj         *Object
}

// Group is a resolved host, service or contact group with its final
// members (services are "host,description" pairs joined by a comma).
type Group struct {
	Obj     *Object
	Members []string
}

// Config is a resolved and validated Nagios configuration.
type Config struct {
	// Objects holds every parsed object (templates included), resolved in
	// place, in file order.
	Objects       []*Object
	Hosts         map[string]*Object
	HostOrder     []string
	Services      []*Service
	HostGroups    map[string]*Group
	ServiceGroups map[string]*Group
	ContactGroups map[string]*Group
	Contacts      map[string]*Object
	Timeperiods   map[string]*Object
	Commands      map[string]*Object
	// Other holds registered dependency, escalation and extinfo objects.
	Other []*Object
	// Resources holds $USERn$ values, keyed "USER1".
	Resources map[string]string
	// IntervalLength is the main configuration's interval_length in
	// seconds: the unit of check_interval, retry_interval,
	// notification_interval and first_notification_delay. 0 means nagios4's
	// default of 60.
	IntervalLength int
	// Dependencies are the hostdependency and servicedependency objects
	// expanded to one entry per master and dependent.
	Dependencies []*Dependency
	// Escalations and ExtInfo are the escalation and extinfo objects
	// expanded to the hosts and services they apply to.
	Escalations, ExtInfo []Target
	// Warnings are forms nagios4 accepts that resolve to nothing or are
	// not converted (e.g. a dependency of an object on itself).
	Warnings []Warning

	svcIndex map[string][]string
}

// Resolve applies template inheritance and memberships to objs and
// validates the result like nagios4's pre-flight check. All problems are
// returned together as Errors, each naming file and line.
func Resolve(objs []*Object, resources map[string]string) (*Config, error) {
	idx, errs := newTemplateIndex(objs)
	for _, o := range objs {
		errs = append(errs, idx.resolveTemplates(o)...)
	}
	c := &Config{
		Objects: objs, Hosts: map[string]*Object{}, HostGroups: map[string]*Group{},
		ServiceGroups: map[string]*Group{}, ContactGroups: map[string]*Group{},
		Contacts: map[string]*Object{}, Timeperiods: map[string]*Object{},
		Commands: map[string]*Object{}, Resources: resources,
	}
	errs = append(errs, c.register()...)
	errs = append(errs, c.expandHostGroups()...)
	errs = append(errs, c.expandServices()...)
	errs = append(errs, c.expandServiceGroups()...)
	errs = append(errs, c.expandContactGroups()...)
	errs = append(errs, c.expandOther()...)
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return c, errs.sorted()
	}
	return c, nil
}

func (c *Config) register() Errors {
	var errs Errors
	named := func(o *Object, m map[string]*Object) {
		id := identityKey[o.Type]
		n := o.Get(id)
		if n == "" {
			errs = append(errs, &Error{o.Pos, fmt.Sprintf("%s definition has no %s", o.Type, id)})
			return
		}
		if prev, dup := m[n]; dup {
			errs = append(errs, &Error{o.Pos, fmt.Sprintf("duplicate definition found for %s '%s' (first defined at %s)", o.Type, n, prev.Pos)})
			return
		}
		m[n] = o
	}
	group := func(o *Object, m map[string]*Group) {
		tmp := map[string]*Object{}
		for k, g := range m {
			tmp[k] = g.Obj
		}
		named(o, tmp)
		if n := o.Get(identityKey[o.Type]); n != "" && m[n] == nil {
			m[n] = &Group{Obj: o}
		}
	}
	for _, o := range c.Objects {
		if o.Templat {
			continue
		}
		switch o.Type {
		case "host":
			before := len(c.Hosts)
			named(o, c.Hosts)
			if len(c.Hosts) > before {
				c.HostOrder = append(c.HostOrder, o.Get("host_name"))
			}
		case "contact":
			named(o, c.Contacts)
		case "timeperiod":
			named(o, c.Timeperiods)
		case "command":
			named(o, c.Commands)
		case "hostgroup":
			group(o, c.HostGroups)
		case "servicegroup":
			group(o, c.ServiceGroups)
		case "contactgroup":
			group(o, c.ContactGroups)
		case "service":
			// expanded later
		default:
			c.Other = append(c.Other, o)
		}
	}
	return errs
}

// matchNames expands a Nagios name list with '*' and '!name' against the
// known names; unknown positive names are reported through missing.
func matchNames(list string, known []string, exists func(string) bool, missing func(string)) (pos, neg []string) {
	for _, n := range splitList(list) {
		excl := strings.HasPrefix(n, "!")
		n = strings.TrimPrefix(n, "!")
		var names []string
		switch {
		case n == "*":
			names = known
		case exists(n):
			names = []string{n}
		default:
			missing(n) // nagios4 rejects unknown exclusions too
		}
		if excl {
			neg = append(neg, names...)
		} else {
			pos = append(pos, names...)
		}
	}
	return pos, neg
}

// setMinus returns the unique elements of pos not in neg, keeping order.
func setMinus(pos, neg []string) []string {
	drop := map[string]bool{}
	for _, n := range neg {
		drop[n] = true
	}
	var out []string
	for _, p := range pos {
		if !drop[p] {
			out = append(out, p)
			drop[p] = true
		}
	}
	return out
}

func appendUnique(list []string, v ...string) []string {
	for _, x := range v {
		found := false
		for _, y := range list {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			list = append(list, x)
		}
	}
	return list
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *Config) expandHostGroups() Errors {
	var errs Errors
	hostExists := func(n string) bool { return c.Hosts[n] != nil }
	for _, name := range sortedKeys(c.HostGroups) {
		g := c.HostGroups[name]
		a := g.Obj.Attrs["members"]
		pos, neg := matchNames(g.Obj.Get("members"), c.HostOrder, hostExists, func(n string) {
			errs = append(errs, &Error{a.Pos, fmt.Sprintf("could not find any host matching '%s' (member of hostgroup '%s')", n, name)})
		})
		g.Members = setMinus(pos, neg)
	}
	for _, hn := range c.HostOrder {
		h := c.Hosts[hn]
		for _, gn := range splitList(h.Get("hostgroups")) {
			g := c.HostGroups[gn]
			if g == nil {
				errs = append(errs, &Error{h.Attrs["hostgroups"].Pos, fmt.Sprintf("could not find hostgroup '%s' specified in host '%s'", gn, hn)})
				continue
			}
			g.Members = appendUnique(g.Members, hn)
		}
	}
	errs = append(errs, expandSubgroups(c.HostGroups, "hostgroup_members")...)
	return errs
}

// expandSubgroups adds the members of each group's *_members subgroups.
func expandSubgroups(groups map[string]*Group, key string) Errors {
	var errs Errors
	done := map[string]bool{}
	var visit func(name string, stack map[string]bool)
	visit = func(name string, stack map[string]bool) {
		g := groups[name]
		if done[name] || stack[name] {
			return
		}
		stack[name] = true
		for _, sub := range splitList(g.Obj.Get(key)) {
			sg := groups[sub]
			if sg == nil {
				errs = append(errs, &Error{g.Obj.Attrs[key].Pos, fmt.Sprintf("could not find member group '%s' specified in %s '%s'", sub, g.Obj.Type, name)})
				continue
			}
			visit(sub, stack)
			g.Members = appendUnique(g.Members, sg.Members...)
		}
		done[name] = true
	}
	for _, n := range sortedKeys(groups) {
		visit(n, map[string]bool{})
	}
	return errs
}

// hostsOf expands o's host and hostgroup lists like nagios4's
// xodtemplate_expand_hostgroups_and_hosts: hosts named explicitly stay
// unless excluded as hosts ('!host'); hosts from hostgroups are dropped
// when excluded as hosts or through an excluded hostgroup ('!group').
func (c *Config) hostsOf(o *Object, hostKey, groupKey string) ([]string, Errors) {
	var errs Errors
	hostExists := func(n string) bool { return c.Hosts[n] != nil }
	pos, neg := matchNames(o.Get(hostKey), c.HostOrder, hostExists, func(n string) {
		errs = append(errs, &Error{o.Attrs[hostKey].Pos, fmt.Sprintf("could not find any host matching '%s' (%s definition '%s')", n, o.Type, o.displayName())})
	})
	groupNames := sortedKeys(c.HostGroups)
	gpos, gneg := matchNames(o.Get(groupKey), groupNames, func(n string) bool { return c.HostGroups[n] != nil }, func(n string) {
		errs = append(errs, &Error{o.Attrs[groupKey].Pos, fmt.Sprintf("could not find any hostgroup matching '%s' (%s definition '%s')", n, o.Type, o.displayName())})
	})
	out := setMinus(pos, neg)
	reject := append([]string(nil), neg...)
	for _, g := range gneg {
		reject = append(reject, c.HostGroups[g].Members...)
	}
	var fromGroups []string
	for _, g := range gpos {
		fromGroups = append(fromGroups, c.HostGroups[g].Members...)
	}
	return appendUnique(out, setMinus(fromGroups, reject)...), errs
}

func (c *Config) expandServices() Errors {
	var errs Errors
	seen := map[string]*Service{}
	for _, o := range c.Objects {
		if o.Type != "service" || o.Templat {
			continue
		}
		desc := o.Get("service_description")
		if desc == "" {
			errs = append(errs, &Error{o.Pos, "service has no service_description"})
			continue
		}
		if !o.Has("host_name") && !o.Has("hostgroup_name") {
			errs = append(errs, &Error{o.Pos, fmt.Sprintf("service '%s' has no host_name or hostgroup_name", desc)})
			continue
		}
		hosts, e := c.hostsOf(o, "host_name", "hostgroup_name")
		errs = append(errs, e...)
		if len(hosts) == 0 && len(e) == 0 {
			errs = append(errs, &Error{o.Pos, fmt.Sprintf("could not expand hostgroups and/or hosts specified in service '%s'", desc)})
		}
		for _, h := range hosts {
			k := h + "\x00" + desc
			if prev := seen[k]; prev != nil {
				// nagios4 4.4.6 warns and keeps the last definition,
				// whether it names the host or a hostgroup.
				c.Warnings = append(c.Warnings, Warning{Pos: prev.Obj.Pos, Object: fmt.Sprintf("service '%s' on host '%s'", desc, h),
					Msg: fmt.Sprintf("duplicate definition: the one at %s replaces it, as in nagios4", o.Pos)})
				prev.Obj = o
				continue
			}
			s := &Service{Host: h, Description: desc, Obj: o}
			seen[k] = s
			c.Services = append(c.Services, s)
		}
	}
	return errs
}

func (c *Config) expandServiceGroups() Errors {
	var errs Errors
	for _, name := range sortedKeys(c.ServiceGroups) {
		g := c.ServiceGroups[name]
		a := g.Obj.Attrs["members"]
		parts := splitList(g.Obj.Get("members"))
		if len(parts)%2 != 0 {
			errs = append(errs, &Error{a.Pos, fmt.Sprintf("servicegroup '%s' members must be host,service pairs (service description missing from list '%s')", name, g.Obj.Get("members"))})
			continue
		}
		var pos, neg []string
		for i := 0; i < len(parts); i += 2 {
			p, n, e := c.servicesOnHost(parts[i], parts[i+1], a.Pos, fmt.Sprintf("member of servicegroup '%s'", name))
			pos, neg, errs = append(pos, p...), append(neg, n...), append(errs, e...)
		}
		g.Members = setMinus(pos, neg)
	}
	for _, s := range c.Services {
		for _, gn := range splitList(s.Obj.Get("servicegroups")) {
			g := c.ServiceGroups[gn]
			if g == nil {
				errs = append(errs, &Error{s.Obj.Attrs["servicegroups"].Pos, fmt.Sprintf("could not find servicegroup '%s' specified in service '%s' on host '%s'", gn, s.Description, s.Host)})
				continue
			}
			g.Members = appendUnique(g.Members, s.Host+","+s.Description)
		}
	}
	errs = append(errs, expandSubgroups(c.ServiceGroups, "servicegroup_members")...)
	return dedupErrors(errs)
}

func (c *Config) expandContactGroups() Errors {
	var errs Errors
	names := sortedKeys(c.Contacts)
	for _, name := range sortedKeys(c.ContactGroups) {
		g := c.ContactGroups[name]
		pos, neg := matchNames(g.Obj.Get("members"), names, func(n string) bool { return c.Contacts[n] != nil }, func(n string) {
			errs = append(errs, &Error{g.Obj.Attrs["members"].Pos, fmt.Sprintf("could not find any contact matching '%s' (member of contactgroup '%s')", n, name)})
		})
		g.Members = setMinus(pos, neg)
	}
	for _, cn := range names {
		ct := c.Contacts[cn]
		for _, gn := range splitList(ct.Get("contactgroups")) {
			g := c.ContactGroups[gn]
			if g == nil {
				errs = append(errs, &Error{ct.Attrs["contactgroups"].Pos, fmt.Sprintf("could not find contactgroup '%s' specified in contact '%s'", gn, cn)})
				continue
			}
			g.Members = appendUnique(g.Members, cn)
		}
	}
	errs = append(errs, expandSubgroups(c.ContactGroups, "contactgroup_members")...)
	return errs
}

func dedupErrors(es Errors) Errors {
	seen := map[string]bool{}
	var out Errors
	for _, e := range es {
		if k := e.Error(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}
