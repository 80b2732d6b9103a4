package nagios

import "strings"

// Nagios and Bergamot inherit lists differently. In nagios4 an object's own
// contact_groups, contacts, hostgroups or servicegroups REPLACE the value of
// its templates (only a leading '+' appends, and 'null' clears it); in
// Bergamot, groups, teams and contacts are sets that an object adds to
// ("x", "+x") or removes from ("-x"). The converter writes every object's
// fully resolved Nagios value, so all that is left is to remove what the
// Bergamot templates would add on top: fixInheritedSets appends "-x" for
// each inherited item the object does not have in nagios4.

// setSlot names one set-valued attribute: on the element itself (child
// empty) or on its first child of that name.
type setSlot struct{ child, attr string }

var setSlots = []setSlot{{"", "groups"}, {"", "teams"}, {"", "contacts"}, {"notify", "teams"}, {"notify", "contacts"}}

// inheritingKinds are the elements the converter gives an extends.
var inheritingKinds = map[string]bool{"host": true, "service": true, "contact": true}

// fixInheritedSets rewrites the set attributes of every host, service and
// contact under root that extends a template, so that Bergamot's resolved
// set equals the Nagios value written. Written values are the effective
// values of every element (templates included), so one pass suffices.
func fixInheritedSets(root *element) {
	tmpl := map[string]*element{}
	for _, e := range root.kids {
		tmpl[e.name+"\x00"+e.attrValue("name")] = e
	}
	var walk func(e *element)
	walk = func(e *element) {
		if inheritingKinds[e.name] {
			if ext := splitList(e.attrValue("extends")); len(ext) > 0 {
				for _, s := range setSlots {
					var inherited []string
					for _, t := range ext {
						if te := tmpl[e.name+"\x00"+t]; te != nil {
							for _, x := range te.slotItems(s) {
								inherited = appendUnique(inherited, x)
							}
						}
					}
					e.removeInherited(s, inherited)
				}
			}
		}
		for _, k := range e.kids {
			walk(k)
		}
	}
	for _, e := range root.kids {
		walk(e)
	}
}

// slotItems is the plain (not removed) items of a set slot of e.
func (e *element) slotItems(s setSlot) []string {
	holder := e
	if s.child != "" {
		holder = e.firstKid(s.child)
		if holder == nil {
			return nil
		}
	}
	var out []string
	for _, x := range splitList(holder.attrValue(s.attr)) {
		if !strings.HasPrefix(x, "-") {
			out = append(out, strings.TrimPrefix(x, "+"))
		}
	}
	return out
}

// removeInherited appends "-x" to slot s of e for every inherited item
// e's own value does not hold.
func (e *element) removeInherited(s setSlot, inherited []string) {
	own := e.slotItems(s)
	var rm []string
	for _, x := range inherited {
		if !contains(own, x) {
			rm = append(rm, "-"+x)
		}
	}
	if len(rm) == 0 {
		return
	}
	holder := e
	if s.child != "" {
		if holder = e.firstKid(s.child); holder == nil {
			holder = e.add(newEl(s.child))
		}
	}
	setAttr(holder, s.attr, strings.Join(append(own, rm...), ", "))
}

func (e *element) attrValue(k string) string {
	for _, a := range e.attrs {
		if a[0] == k {
			return a[1]
		}
	}
	return ""
}

func (e *element) firstKid(name string) *element {
	for _, k := range e.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}
