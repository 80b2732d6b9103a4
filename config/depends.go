package config

import (
	"strings"
)

// Dependencies (<depends>) name other checks, comma-separated. Each entry is
// looked up, first match wins:
//
//  1. a sibling: a service or trap of the same host (a resource of the same
//     cluster) with that name, other than the check itself; only for checks
//     inside a host or cluster;
//  2. a host, then a cluster, with that name;
//  3. "parent/child": a service or trap of host "parent" (a resource of
//     cluster "parent"); names may contain "/", every split is tried.
//
// An entry that matches nothing, a check depending on itself, and a cycle of
// dependencies (including the implicit one of a service or trap on its host)
// are errors located at the <depends> element.

// depIndex finds checks by the names a <depends> entry may use.
type depIndex struct {
	hosts    map[string]*Check
	clusters map[string]*Check
}

func newDepIndex(m *Model) *depIndex {
	ix := &depIndex{hosts: make(map[string]*Check, len(m.Hosts)), clusters: make(map[string]*Check, len(m.Clusters))}
	for _, h := range m.Hosts {
		if _, dup := ix.hosts[h.Name]; !dup {
			ix.hosts[h.Name] = h
		}
	}
	for _, c := range m.Clusters {
		if _, dup := ix.clusters[c.Name]; !dup {
			ix.clusters[c.Name] = c
		}
	}
	return ix
}

// child returns the service, trap or resource of p named name.
func child(p *Check, name string) *Check {
	for _, list := range [][]*Check{p.Services, p.Traps, p.Resources} {
		for _, c := range list {
			if c.Name == name {
				return c
			}
		}
	}
	return nil
}

func (ix *depIndex) top(name string) *Check {
	if h := ix.hosts[name]; h != nil {
		return h
	}
	return ix.clusters[name]
}

// lookup resolves one <depends> entry of a check whose host or cluster is
// parent (nil for hosts and clusters themselves). A sibling named like the
// check itself (skip) is passed over, so service "router" may depend on host
// "router".
func (ix *depIndex) lookup(parent, skip *Check, ref string) *Check {
	if parent != nil {
		if c := child(parent, ref); c != nil && c != skip {
			return c
		}
	}
	if c := ix.top(ref); c != nil {
		return c
	}
	for i := strings.IndexByte(ref, '/'); i >= 0; {
		if p := ix.top(ref[:i]); p != nil {
			if c := child(p, ref[i+1:]); c != nil {
				return c
			}
		}
		j := strings.IndexByte(ref[i+1:], '/')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return nil
}

// depNode is one check in the dependency graph.
type depNode struct {
	check  *Check
	parent *Check // host or cluster; nil for top-level checks
	label  string
	at     *Node // the <depends> element, or the check for errors
}

// checkDepends resolves every check's <depends> into Check.DependsOn and
// reports unknown names, self-references and cycles.
func (r *resolver) checkDepends(m *Model) {
	n, has := 0, false
	for _, top := range append(append([]*Check(nil), m.Hosts...), m.Clusters...) {
		n += 1 + len(top.Services) + len(top.Traps) + len(top.Resources)
		has = has || len(top.Depends) > 0
		for _, list := range [][]*Check{top.Services, top.Traps, top.Resources} {
			for _, c := range list {
				has = has || len(c.Depends) > 0
			}
		}
	}
	if !has {
		return
	}
	ix := newDepIndex(m)
	nodes := make(map[*Check]*depNode, n)
	var order []*depNode
	visit := func(c, parent *Check, label string) {
		dn := &depNode{check: c, parent: parent, label: label, at: r.dependsAt[c]}
		nodes[c] = dn
		if len(c.Depends) > 0 {
			order = append(order, dn)
		}
	}
	for _, top := range append(append([]*Check(nil), m.Hosts...), m.Clusters...) {
		label := objectLabel(top.Kind, top.Name)
		visit(top, nil, label)
		for _, list := range [][]*Check{top.Services, top.Traps, top.Resources} {
			for _, c := range list {
				visit(c, top, nestedLabel(label, c.Kind, c.Name))
			}
		}
	}
	for _, dn := range order {
		c := dn.check
		c.DependsOn = c.DependsOn[:0]
		seen := map[*Check]bool{}
		for _, ref := range c.Depends {
			t := ix.lookup(dn.parent, c, ref)
			if t == nil && ix.lookup(dn.parent, nil, ref) == c {
				t = c
			}
			switch {
			case t == nil:
				r.sink.add(dn.at, dn.label, "depends: unknown check %q (want a service of the same host, a host, or host/service)", ref)
			case t == c:
				r.sink.add(dn.at, dn.label, "depends: %q is the check itself", ref)
			case !seen[t]:
				seen[t] = true
				c.DependsOn = append(c.DependsOn, t)
			}
		}
	}
	r.findDependencyCycles(order, nodes)
}

// findDependencyCycles reports each cycle once, at the <depends> of the
// first check (in configuration order) found on it. Edges are DependsOn and
// the implicit edge of a service or trap to its host.
func (r *resolver) findDependencyCycles(order []*depNode, nodes map[*Check]*depNode) {
	const (
		white = iota
		grey
		black
	)
	color := map[*Check]int{}
	edges := func(c *Check) []*Check {
		out := c.DependsOn
		if dn := nodes[c]; dn != nil && dn.parent != nil && (c.Kind == "service" || c.Kind == "trap") {
			out = append(out[:len(out):len(out)], dn.parent)
		}
		return out
	}
	var stack []*Check
	var dfs func(c *Check)
	dfs = func(c *Check) {
		color[c] = grey
		stack = append(stack, c)
		for _, d := range edges(c) {
			switch color[d] {
			case white:
				dfs(d)
			case grey:
				r.reportCycle(stack, d, nodes)
			}
		}
		stack = stack[:len(stack)-1]
		color[c] = black
	}
	for _, dn := range order {
		if color[dn.check] == white {
			dfs(dn.check)
		}
	}
}

func (r *resolver) reportCycle(stack []*Check, back *Check, nodes map[*Check]*depNode) {
	start := 0
	for i, c := range stack {
		if c == back {
			start = i
			break
		}
	}
	cycle := stack[start:]
	// Locate the error at a check on the cycle that has a <depends>.
	at := nodes[cycle[0]]
	for _, c := range cycle {
		if len(c.Depends) > 0 {
			at = nodes[c]
			break
		}
	}
	names := make([]string, 0, len(cycle)+1)
	for _, c := range cycle {
		names = append(names, depName(c, nodes[c]))
	}
	names = append(names, depName(cycle[0], nodes[cycle[0]]))
	r.sink.add(at.at, at.label, "depends: dependency cycle: %s", strings.Join(names, " -> "))
}

// depName spells a check the way a <depends> entry names it from outside.
func depName(c *Check, dn *depNode) string {
	if dn != nil && dn.parent != nil {
		return dn.parent.Name + "/" + c.Name
	}
	return c.Name
}
