package config

import (
	"slices"
	"strings"
)

// Permissions over the checks of a security domain, as <access-control
// grants="..." revokes="..."> and the grants/revokes attributes of teams
// and contacts name them. A pattern ending in "*" matches every permission
// it prefixes ("*" alone matches all; "read.*" matches "read.readings" but
// not "read"). Names the patterns match nothing of (Bergamot's "ui.*",
// "api.access", ...) are accepted and have no effect here: the site-wide
// layer is the member's role.
const (
	PermRead           = "read"            // see the check, its state, history, metrics, alerts, comments, downtimes
	PermExecute        = "execute"         // executeNow
	PermAcknowledge    = "acknowledge"     // acknowledge, unacknowledge
	PermSuppress       = "suppress"        // suppress, unsuppress
	PermSubmit         = "submit"          // passive results
	PermWriteComment   = "write.comment"   // addComment
	PermWriteDowntime  = "write.downtime"  // scheduleDowntime
	PermRemoveDowntime = "remove.downtime" // cancelDowntime
)

// Permissions is every permission a security domain's access controls can
// give, in a stable order: the registry grants and revokes expand against.
var Permissions = []string{PermRead, PermExecute, PermAcknowledge, PermSuppress, PermSubmit,
	PermWriteComment, PermWriteDowntime, PermRemoveDowntime}

// permMatches reports whether the grant or revoke pattern covers perm.
func permMatches(pattern, perm string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(perm, prefix)
	}
	return pattern == perm
}

// decide applies one level's rules for perm over domain: that domain's
// access controls first, then the level's general grants and revokes; at
// each, a revoke beats a grant. ok is false when the level says nothing.
func decide(acs []AccessControl, grants, revokes []string, domain, perm string) (allowed, ok bool) {
	match := func(patterns []string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return permMatches(p, perm) })
	}
	for _, ac := range acs {
		if ac.SecurityDomain != domain {
			continue
		}
		if match(ac.Revokes) {
			return false, true
		}
		if match(ac.Grants) {
			return true, true
		}
	}
	if match(revokes) {
		return false, true
	}
	if match(grants) {
		return true, true
	}
	return false, false
}

// Permitted reports whether contact c holds perm over the security domain.
// The nearest rule wins: the contact's own, then each of its teams in the
// order written, each team before the teams it belongs to (depth first).
// Nothing said anywhere means no.
func Permitted(c *Contact, teams map[string]*Team, domain, perm string) bool {
	if c == nil {
		return false
	}
	if allowed, ok := decide(c.AccessControls, c.Grants, c.Revokes, domain, perm); ok {
		return allowed
	}
	seen := map[string]bool{}
	var walk func(names []string) (bool, bool)
	walk = func(names []string) (bool, bool) {
		for _, name := range names {
			t := teams[name]
			if t == nil || seen[name] {
				continue
			}
			seen[name] = true
			if allowed, ok := decide(t.AccessControls, t.Grants, t.Revokes, domain, perm); ok {
				return allowed, true
			}
			if allowed, ok := walk(t.Teams); ok {
				return allowed, true
			}
		}
		return false, false
	}
	allowed, _ := walk(c.Teams)
	return allowed
}

// PermittedOnAny reports whether c holds perm over a check in the given
// security domains: a check in no domain is open to every member (roles
// alone govern it); otherwise perm over any one of its domains suffices.
func PermittedOnAny(c *Contact, teams map[string]*Team, domains []string, perm string) bool {
	if len(domains) == 0 {
		return true
	}
	for _, d := range domains {
		if Permitted(c, teams, d, perm) {
			return true
		}
	}
	return false
}

// DomainNames is every security domain of m: those declared and those its
// checks name, sorted.
func (m *Model) DomainNames() []string {
	set := map[string]bool{}
	for name := range m.SecurityDomains {
		set[name] = true
	}
	add := func(c *Check) {
		for _, d := range c.SecurityDomains {
			set[d] = true
		}
	}
	for _, h := range m.Hosts {
		add(h)
		for _, c := range slices.Concat(h.Services, h.Traps) {
			add(c)
		}
	}
	for _, cl := range m.Clusters {
		add(cl)
		for _, c := range cl.Resources {
			add(c)
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// ContactPermissions returns, for each security domain of m, the
// permissions (of Permissions) contact c holds there; domains where it
// holds none are left out.
func (m *Model) ContactPermissions(c *Contact) map[string][]string {
	out := map[string][]string{}
	for _, d := range m.DomainNames() {
		for _, p := range Permissions {
			if Permitted(c, m.Teams, d, p) {
				out[d] = append(out[d], p)
			}
		}
	}
	return out
}
