package nagios

import (
	"fmt"
	"strings"
)

// infoParams are the display directives (of hosts, services and their
// extinfo objects) kept as check parameters, with macros converted.
var infoParams = []string{"notes_url", "action_url", "icon_image", "icon_image_alt"}

// extinfo merges hostextinfo and serviceextinfo objects into their
// targets like nagios4 does: a value the host or service sets itself wins.
func (cv *converter) extinfo() {
	for _, t := range cv.c.ExtInfo {
		o := t.Obj
		what := o.Type + " definition"
		target := cv.targetObject(t.Ref)
		if target == nil {
			continue
		}
		x := cv.extra(t.Ref)
		for _, k := range sortedKeys(o.Attrs) {
			a := o.Attrs[k]
			if a.Null || k == "host_name" || k == "hostgroup_name" || k == "service_description" {
				continue
			}
			if k != "notes" && !contains(infoParams, k) {
				cv.warn(a.Pos, what, k, "is not supported by Bergamot and was not converted")
				continue
			}
			if target.Has(k) {
				if target.Get(k) != a.Value {
					cv.warn(a.Pos, what, k, fmt.Sprintf("%s sets its own %s, which wins as in nagios4; not converted", t.Ref, k))
				}
				continue
			}
			if prev, ok := x.info[k]; ok {
				if prev.Value != a.Value {
					cv.warn(a.Pos, what, k, fmt.Sprintf("%s already gets %s from %s at %s; not converted", t.Ref, k, x.infoObj[k].Type, prev.Pos))
				}
				continue
			}
			x.info[k] = a
			x.infoObj[k] = o
		}
	}
}

// infoParameter renders one display directive as a <parameter>.
func (cv *converter) infoParameter(e *element, key string, a Attr, what string) {
	conv, unknown := convertMacros(a.Value)
	for _, m := range unknown {
		cv.unknownMacro(a.Pos, what, key, m)
	}
	p := e.add(newEl("parameter", "name", key, "description", "Nagios "+key))
	p.text = conv
}

// applyExtras adds what dependencies, escalations and extinfo give the
// check r to its element e.
func (cv *converter) applyExtras(e *element, r Ref, what string) {
	x := cv.extras[r]
	if x == nil {
		return
	}
	if a, ok := x.info["notes"]; ok {
		e.child("description", a.Value)
	}
	for _, k := range infoParams {
		if a, ok := x.info[k]; ok {
			cv.infoParameter(e, k, a, what)
		}
	}
	if len(x.escalations) > 0 {
		var n *element
		for _, k := range e.kids {
			if k.name == "notifications" {
				n = k
			}
		}
		if n == nil {
			n = e.add(newEl("notifications"))
		}
		n.kids = append(n.kids, x.escalations...)
	}
	if len(x.depends) > 0 {
		e.child("depends", strings.Join(x.depends, ", "))
	}
}
