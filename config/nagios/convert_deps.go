package nagios

import (
	"fmt"
	"strings"
)

// checkExtras is what dependency, escalation and extinfo objects add to
// one converted host or service.
type checkExtras struct {
	depends     []string
	escalations []*element
	info        map[string]Attr // extinfo directives by name
	infoObj     map[string]*Object
}

func (cv *converter) extra(r Ref) *checkExtras {
	x := cv.extras[r]
	if x == nil {
		x = &checkExtras{info: map[string]Attr{}, infoObj: map[string]*Object{}}
		cv.extras[r] = x
	}
	return x
}

// serviceNames assigns every service its Bergamot name (the description
// made valid, "-2", "-3"... when two descriptions collide on a host).
func (cv *converter) serviceNames() {
	used := map[string]bool{}
	for _, s := range cv.c.Services {
		base := bergamotName(s.Description)
		n := base
		for i := 2; used[s.Host+"\x00"+n]; i++ {
			n = fmt.Sprintf("%s-%d", base, i)
		}
		used[s.Host+"\x00"+n] = true
		cv.svcName[Ref{s.Host, s.Description}] = n
		cv.svcObj[Ref{s.Host, s.Description}] = s.Obj
	}
}

// dependsEntry is how dependent refers to master in its <depends>: a host
// name, a service of the same host by name, or host/service.
func (cv *converter) dependsEntry(master, dependent Ref) string {
	if master.Service == "" {
		return bergamotName(master.Host)
	}
	n := cv.svcName[master]
	if master.Host == dependent.Host {
		return n
	}
	return bergamotName(master.Host) + "/" + n
}

func (cv *converter) addDepends(master, dependent Ref) {
	x := cv.extra(dependent)
	x.depends = appendUnique(x.depends, cv.dependsEntry(master, dependent))
	if cv.dependsOn == nil {
		cv.dependsOn = map[Ref][]Ref{}
	}
	cv.dependsOn[dependent] = append(cv.dependsOn[dependent], master)
}

// reaches reports whether from depends on to, directly or through other
// checks, in the <depends> graph built so far (a service depends on its
// host implicitly in Bergamot).
func (cv *converter) reaches(from, to Ref) bool {
	seen := map[Ref]bool{}
	stack := []Ref{from}
	for len(stack) > 0 {
		r := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if r == to {
			return true
		}
		if seen[r] {
			continue
		}
		seen[r] = true
		stack = append(stack, cv.dependsOn[r]...)
		if r.Service != "" {
			stack = append(stack, Ref{Host: r.Host})
		}
	}
	return false
}

// addDependency adds a hostdependency or servicedependency edge unless it
// would close a cycle with the host parents and dependencies converted
// before it: nagios4 keeps the parent tree and dependencies apart, while
// Bergamot has one dependency graph and rejects cycles. Such a dependency
// is not converted (the parent relation wins) and reported.
func (cv *converter) addDependency(master, dependent Ref, o *Object) {
	if cv.reaches(master, dependent) {
		cv.warnKind(o.Pos, o.Type+" definition", "", "cycle",
			fmt.Sprintf("makes %s depend on %s, which already depends on it through host parents or other dependencies; nagios4 keeps parents and dependencies apart, Bergamot has one dependency graph without cycles: not converted",
				refLabel(dependent), refLabel(master)))
		return
	}
	cv.addDepends(master, dependent)
}

func refLabel(r Ref) string {
	if r.Service == "" {
		return "host '" + r.Host + "'"
	}
	return fmt.Sprintf("service '%s' on host '%s'", r.Service, r.Host)
}

// dependencies converts host parents, hostdependency and
// servicedependency objects to <depends> on the dependent checks.
func (cv *converter) dependencies() {
	for _, hn := range cv.c.HostOrder {
		h := cv.c.Hosts[hn]
		parents := splitList(h.Get("parents"))
		for _, p := range parents {
			cv.addDepends(Ref{Host: p}, Ref{Host: hn})
		}
		if len(parents) > 1 {
			cv.warn(h.Attrs["parents"].Pos, "host '"+hn+"'", "parents", "lists several parents: nagios4 marks the host UNREACHABLE only when all of them are down, Bergamot holds back its alerts when any of them is down")
		}
	}
	svcExists := map[Ref]bool{}
	for _, sv := range cv.c.Services {
		svcExists[Ref{sv.Host, sv.Description}] = true
	}
	for _, sv := range cv.c.Services {
		a, ok := sv.Obj.Attrs["parents"]
		if !ok || a.Null {
			continue
		}
		// nagios4 reads "host,service" pairs; a last single name is a
		// service of the same host.
		l := splitList(a.Value)
		for i := 0; i < len(l); i += 2 {
			m := Ref{sv.Host, l[i]}
			if i+1 < len(l) {
				m = Ref{l[i], l[i+1]}
			}
			what := fmt.Sprintf("service '%s' on host '%s'", sv.Description, sv.Host)
			if !svcExists[m] {
				cv.warn(a.Pos, what, "parents", fmt.Sprintf("names %s, which does not exist (nagios4 refuses this configuration); skipped", refLabel(m)))
				continue
			}
			cv.addDependency(m, Ref{sv.Host, sv.Description}, sv.Obj)
		}
	}
	applies := map[*Object]bool{}
	byDependent := map[Ref][]*Dependency{}
	for _, d := range cv.c.Dependencies {
		ok, seen := applies[d.Obj]
		if !seen {
			ok = cv.dependencyApplies(d.Obj)
			applies[d.Obj] = ok
		}
		if ok {
			byDependent[d.Dependent] = append(byDependent[d.Dependent], d)
		}
	}
	for _, d := range cv.c.Dependencies {
		if !applies[d.Obj] {
			continue
		}
		cv.addDependency(d.Master, d.Dependent, d.Obj)
		if d.Obj.Get("inherits_parent") == "1" {
			for _, m := range inheritedMasters(d.Master, byDependent, map[Ref]bool{d.Dependent: true}) {
				cv.addDependency(m, d.Dependent, d.Obj)
			}
		}
	}
}

// inheritedMasters is what nagios4's inherits_parent makes a dependency
// also depend on: the masters of every dependency of master, and further
// up through those that inherit themselves.
func inheritedMasters(master Ref, byDependent map[Ref][]*Dependency, seen map[Ref]bool) []Ref {
	if seen[master] {
		return nil
	}
	seen[master] = true
	var out []Ref
	for _, d := range byDependent[master] {
		if !seen[d.Master] {
			out = append(out, d.Master)
		}
		if d.Obj.Get("inherits_parent") == "1" {
			out = append(out, inheritedMasters(d.Master, byDependent, seen)...)
		}
	}
	return out
}

// failureStates are the criteria letters naming a problem state of the
// master, per dependency type, and what they mean.
var failureStates = map[string]map[byte]string{
	"hostdependency":    {'d': "down", 'u': "unreachable"},
	"servicedependency": {'w': "warning", 'u': "unknown", 'c': "critical"},
}

// dependencyApplies maps a dependency's failure criteria and period to
// Bergamot, where a dependency fails while its master is in a hard problem
// state and then holds back the dependent's alerts (the check still
// runs). It warns about every approximation and reports false when
// nagios4 would never apply the dependency.
func (cv *converter) dependencyApplies(o *Object) bool {
	what := o.Type + " definition"
	states := failureStates[o.Type]
	failing := map[byte]bool{}
	var exec bool
	for _, key := range []string{"execution_failure_criteria", "notification_failure_criteria"} {
		a, ok := o.Attrs[key]
		if !ok || a.Null {
			continue
		}
		for _, l := range splitList(a.Value) {
			switch {
			case len(l) == 1 && states[l[0]] != "":
				failing[l[0]] = true
				exec = exec || key == "execution_failure_criteria"
			case l == "o" || l == "p":
				name := map[string]string{"o": "ok/up", "p": "pending"}[l]
				cv.warn(a.Pos, what, key, fmt.Sprintf("option '%s' (master %s) has no Bergamot equivalent: a Bergamot dependency fails only while its master is in a hard problem state; dropped", l, name))
			case l == "n":
			default:
				cv.warn(a.Pos, what, key, fmt.Sprintf("unknown option '%s' ignored", l))
			}
		}
	}
	if len(failing) == 0 {
		cv.warn(o.Pos, what, "", "names no problem state in execution_failure_criteria or notification_failure_criteria, so nagios4 never applies it; not converted")
		return false
	}
	if len(failing) < len(states) {
		var missing []string
		for _, l := range []byte("cduw") {
			if states[l] == "" {
				continue
			}
			if !failing[l] {
				missing = append(missing, states[l])
			}
		}
		cv.warn(o.Pos, what, "", fmt.Sprintf("applies to some master states only; Bergamot's <depends> also applies while the master is %s (approximation)", strings.Join(missing, " or ")))
	}
	if exec {
		cv.warn(o.Attrs["execution_failure_criteria"].Pos, what, "execution_failure_criteria", "nagios4 skips the dependent's checks while the master fails; Bergamot keeps running them and holds back their alerts instead (approximation)")
	}
	if a, ok := o.Attrs["dependency_period"]; ok && !a.Null {
		cv.warn(a.Pos, what, "dependency_period", "has no Bergamot equivalent: the dependency always applies; dropped")
	}
	return true
}
