package nagios

import (
	"fmt"
	"strconv"
	"strings"
)

// Ref names a host (Service empty) or one service of a host.
type Ref struct {
	Host, Service string
}

func (r Ref) String() string {
	if r.Service == "" {
		return r.Host
	}
	return r.Host + "/" + r.Service
}

// Dependency is one expanded host or service dependency: Dependent
// depends on Master. Obj is the hostdependency or servicedependency it
// came from (inherits_parent, failure criteria and period are read there).
type Dependency struct {
	Obj       *Object
	Master    Ref
	Dependent Ref
}

// Target is an escalation or extinfo object applied to one host or
// service.
type Target struct {
	Obj *Object
	Ref Ref
}

// servicesOnHost expands one host,services pair like nagios4's
// xodtemplate_expand_services with regular expression matching off: the
// host name is not expanded, '*' is every service of the host and '!desc'
// excludes a service (an unknown exclusion is no error). Members are
// "host,description" strings.
func (c *Config) servicesOnHost(host, services string, pos Position, what string) (members, reject []string, errs Errors) {
	descs := c.serviceIndex()[host]
	for _, d := range splitList(services) {
		switch {
		case d == "*":
			for _, sd := range descs {
				members = append(members, host+","+sd)
			}
		case strings.HasPrefix(d, "!"):
			if contains(descs, d[1:]) {
				reject = append(reject, host+","+d[1:])
			}
		case contains(descs, d):
			members = append(members, host+","+d)
		default:
			msg := fmt.Sprintf("could not find a service matching host name '%s' and description '%s' (%s)", host, d, what)
			if strings.ContainsAny(host, "*!") {
				msg += "; nagios4 does not expand '*' or '!' in the host name of a host,service pair (only with use_regexp_matches)"
			}
			errs = append(errs, &Error{pos, msg})
		}
	}
	return members, reject, errs
}

// serviceIndex lists the service descriptions of every host in
// definition order.
func (c *Config) serviceIndex() map[string][]string {
	if c.svcIndex == nil {
		c.svcIndex = map[string][]string{}
		for _, s := range c.Services {
			c.svcIndex[s.Host] = append(c.svcIndex[s.Host], s.Description)
		}
	}
	return c.svcIndex
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// servicesOf expands the services an escalation, extinfo or dependency
// names: services of the hosts (hostKey, groupKey) matching svcKey, plus
// the members of the servicegroups in sgKey ('*' and '!group' allowed).
func (c *Config) servicesOf(o *Object, hostKey, groupKey, svcKey, sgKey string) ([]Ref, Errors) {
	var pos, neg []string
	var errs Errors
	if o.Has(hostKey) || o.Has(groupKey) {
		hosts, e := c.hostsOf(o, hostKey, groupKey)
		errs = append(errs, e...)
		if !o.Has(svcKey) {
			errs = append(errs, &Error{o.Pos, fmt.Sprintf("%s definition has hosts but no %s", o.Type, svcKey)})
		}
		for _, h := range hosts {
			p, n, e := c.servicesOnHost(h, o.Get(svcKey), o.Attrs[svcKey].Pos, o.Type+" definition")
			pos, neg, errs = append(pos, p...), append(neg, n...), append(errs, e...)
		}
	}
	if sgKey != "" && o.Has(sgKey) {
		gp, gn := matchNames(o.Get(sgKey), sortedKeys(c.ServiceGroups), func(n string) bool { return c.ServiceGroups[n] != nil }, func(n string) {
			errs = append(errs, &Error{o.Attrs[sgKey].Pos, fmt.Sprintf("could not find any servicegroup matching '%s' (%s definition)", n, o.Type)})
		})
		for _, g := range gp {
			pos = append(pos, c.ServiceGroups[g].Members...)
		}
		for _, g := range gn {
			neg = append(neg, c.ServiceGroups[g].Members...)
		}
	}
	var out []Ref
	for _, m := range setMinus(pos, neg) {
		h, d, _ := strings.Cut(m, ",")
		out = append(out, Ref{h, d})
	}
	return out, errs
}

// expandOther expands registered dependency, escalation and extinfo
// objects into Dependencies, Escalations and ExtInfo.
func (c *Config) expandOther() Errors {
	var errs Errors
	for _, o := range c.Other {
		var e Errors
		switch o.Type {
		case "hostdependency":
			e = c.expandHostDependency(o)
		case "servicedependency":
			e = c.expandServiceDependency(o)
		case "hostescalation", "hostextinfo":
			e = c.expandHostTargets(o)
		case "serviceescalation", "serviceextinfo":
			e = c.expandServiceTargets(o)
		}
		errs = append(errs, e...)
	}
	return errs
}

func (c *Config) addTarget(o *Object, r Ref) {
	if strings.HasSuffix(o.Type, "escalation") {
		c.Escalations = append(c.Escalations, Target{o, r})
	} else {
		c.ExtInfo = append(c.ExtInfo, Target{o, r})
	}
}

func (c *Config) expandHostTargets(o *Object) Errors {
	if !o.Has("host_name") && !o.Has("hostgroup_name") {
		return Errors{{o.Pos, fmt.Sprintf("%s definition has no host_name or hostgroup_name", o.Type)}}
	}
	hosts, errs := c.hostsOf(o, "host_name", "hostgroup_name")
	for _, h := range hosts {
		c.addTarget(o, Ref{Host: h})
	}
	return errs
}

func (c *Config) expandServiceTargets(o *Object) Errors {
	sg := "servicegroup_name"
	if o.Type == "serviceextinfo" {
		sg = ""
	}
	if !o.Has("host_name") && !o.Has("hostgroup_name") && (sg == "" || !o.Has(sg)) {
		return Errors{{o.Pos, fmt.Sprintf("%s definition has no host_name, hostgroup_name or servicegroup_name", o.Type)}}
	}
	svcs, errs := c.servicesOf(o, "host_name", "hostgroup_name", "service_description", sg)
	for _, r := range svcs {
		c.addTarget(o, r)
	}
	return errs
}

func (c *Config) expandHostDependency(o *Object) Errors {
	var errs Errors
	if !o.Has("host_name") && !o.Has("hostgroup_name") {
		errs = append(errs, &Error{o.Pos, "hostdependency definition has no host_name or hostgroup_name (master host)"})
	}
	if !o.Has("dependent_host_name") && !o.Has("dependent_hostgroup_name") {
		errs = append(errs, &Error{o.Pos, "hostdependency definition has no dependent_host_name or dependent_hostgroup_name"})
	}
	if len(errs) > 0 {
		return errs
	}
	masters, e1 := c.hostsOf(o, "host_name", "hostgroup_name")
	deps, e2 := c.hostsOf(o, "dependent_host_name", "dependent_hostgroup_name")
	errs = append(errs, e1...)
	errs = append(errs, e2...)
	for _, m := range masters {
		for _, d := range deps {
			c.addDependency(o, Ref{Host: m}, Ref{Host: d})
		}
	}
	return errs
}

// expandServiceDependency expands a servicedependency. Without any
// dependent host, hostgroup or servicegroup the dependent services are on
// the same host as each master service (nagios4's same-host dependencies).
func (c *Config) expandServiceDependency(o *Object) Errors {
	if !o.Has("host_name") && !o.Has("hostgroup_name") && !o.Has("servicegroup_name") {
		return Errors{{o.Pos, "servicedependency definition has no host_name, hostgroup_name or servicegroup_name (master service)"}}
	}
	if !o.Has("dependent_service_description") && !o.Has("dependent_servicegroup_name") {
		return Errors{{o.Pos, "servicedependency definition has no dependent_service_description or dependent_servicegroup_name"}}
	}
	masters, errs := c.servicesOf(o, "host_name", "hostgroup_name", "service_description", "servicegroup_name")
	if !o.Has("dependent_host_name") && !o.Has("dependent_hostgroup_name") && !o.Has("dependent_servicegroup_name") {
		for _, m := range masters {
			deps, rej, e := c.servicesOnHost(m.Host, o.Get("dependent_service_description"), o.Attrs["dependent_service_description"].Pos, "servicedependency definition")
			errs = append(errs, e...)
			for _, d := range setMinus(deps, rej) {
				c.addDependency(o, m, Ref{m.Host, strings.SplitN(d, ",", 2)[1]})
			}
		}
		return dedupErrors(errs)
	}
	deps, e := c.servicesOf(o, "dependent_host_name", "dependent_hostgroup_name", "dependent_service_description", "dependent_servicegroup_name")
	errs = append(errs, e...)
	for _, m := range masters {
		for _, d := range deps {
			c.addDependency(o, m, d)
		}
	}
	return dedupErrors(errs)
}

// addDependency records one dependency; nagios4 drops a dependency of an
// object on itself, and so does the importer (with a warning).
func (c *Config) addDependency(o *Object, master, dependent Ref) {
	if master == dependent {
		c.Warnings = append(c.Warnings, Warning{Pos: o.Pos, Object: o.Type + " definition", Msg: fmt.Sprintf("'%s' would depend on itself; not converted", master)})
		return
	}
	c.Dependencies = append(c.Dependencies, &Dependency{Obj: o, Master: master, Dependent: dependent})
}

// notificationNumber parses first_notification/last_notification.
func notificationNumber(o *Object, key string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(o.Get(key)))
	return n, err == nil && n >= 0
}
