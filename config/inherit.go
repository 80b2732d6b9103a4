package config

import (
	"strings"
)

// Inheritance rules, applied by merge(base, over) where over is the more
// specific object:
//   - scalar attributes and single elements: over wins;
//   - name, extends, template and state are never inherited;
//   - groups, teams and contacts (attributes, and on <notify>) are sets:
//     "x" and "+x" add to the inherited set, "-x" removes from it;
//   - parameters merge by name, access controls by security domain,
//     notification engines by engine, nested services, traps and resources
//     by name (merged recursively); time ranges append parent-first;
//   - an over <notifications> with any <escalate> replaces the inherited
//     escalations.

var notInherited = map[string]bool{"name": true, "extends": true, "template": true, "state": true}

var setAttrs = map[string]bool{"groups": true, "teams": true, "contacts": true}

// keyedChildren maps a repeated element to the attribute that identifies it.
var keyedChildren = map[string]string{
	"parameter": "name", "access-control": "security-domain", "notification-engine": "engine",
	"service": "name", "trap": "name", "resource": "name",
}

// appendedChildren are repeated elements inherited parent-first.
var appendedChildren = map[string]bool{"time-range": true}

// replacedLists are repeated elements the most specific object replaces as a
// whole.
var replacedLists = map[string]bool{"escalate": true}

// merge returns a node with over applied on top of base. Neither input is
// modified; unchanged subtrees of base are shared, so merged trees must be
// treated as immutable.
func merge(base, over *Node) *Node {
	if base == nil {
		return over
	}
	if over == nil {
		return base
	}
	out := &Node{Element: over.Element, File: over.File, Line: over.Line, Text: over.Text}
	if out.Text == "" && len(over.Children) == 0 && base.Text != "" && hasTextOnly(over) {
		out.Text = base.Text
	}
	out.Attrs = mergeAttrs(base, over)
	out.Children = mergeChildren(base.Children, over.Children)
	return out
}

// hasTextOnly reports whether an element is a text element whose empty
// override should keep inherited text: only true when the override has no
// attributes either (an empty <summary/> keeps the parent's summary).
func hasTextOnly(n *Node) bool { return len(n.Attrs) == 0 && n.Element != "parameter" }

func mergeAttrs(base, over *Node) []Attr {
	out := make([]Attr, 0, len(base.Attrs)+len(over.Attrs))
	for _, a := range base.Attrs {
		if notInherited[a.Name] {
			continue
		}
		if v, ok := over.Attr(a.Name); ok {
			if setAttrs[a.Name] {
				v = mergeSet(a.Value, v)
			}
			out = append(out, Attr{Name: a.Name, Value: v})
			continue
		}
		out = append(out, a)
	}
	for _, a := range over.Attrs {
		if _, ok := base.Attr(a.Name); ok && !notInherited[a.Name] {
			continue
		}
		if setAttrs[a.Name] {
			a.Value = mergeSet("", a.Value)
		}
		out = append(out, a)
	}
	return out
}

// mergeSet applies an overriding set expression ("a, +b, -c") to an inherited
// set.
func mergeSet(base, over string) string {
	items := splitList(base)
	for _, x := range splitList(over) {
		switch {
		case strings.HasPrefix(x, "-"):
			name := strings.TrimSpace(x[1:])
			kept := items[:0:0]
			for _, it := range items {
				if it != name {
					kept = append(kept, it)
				}
			}
			items = kept
		default:
			name := strings.TrimSpace(strings.TrimPrefix(x, "+"))
			if name != "" && !contains(items, name) {
				items = append(items, name)
			}
		}
	}
	return strings.Join(items, ", ")
}

func mergeChildren(base, over []*Node) []*Node {
	out := make([]*Node, 0, len(base)+len(over))
	overHas := map[string]bool{}
	for _, c := range over {
		overHas[c.Element] = true
	}
	index := map[string]int{} // element+key -> position in out
	for _, c := range base {
		switch {
		case replacedLists[c.Element] && overHas[c.Element]:
			continue
		case keyedChildren[c.Element] != "":
			index[c.Element+"\x00"+c.AttrValue(keyedChildren[c.Element])] = len(out)
		case appendedChildren[c.Element] || replacedLists[c.Element]:
		default:
			index[c.Element] = len(out)
		}
		out = append(out, c)
	}
	for _, c := range over {
		key := c.Element
		switch {
		case keyedChildren[c.Element] != "":
			key = c.Element + "\x00" + c.AttrValue(keyedChildren[c.Element])
		case appendedChildren[c.Element] || replacedLists[c.Element]:
			out = append(out, c)
			continue
		}
		if i, ok := index[key]; ok {
			out[i] = merge(out[i], c)
			continue
		}
		index[key] = len(out)
		out = append(out, c)
	}
	return out
}
