package config

import (
	"sort"
	"strings"
)

// elementSpec lists what one configuration element may contain.
type elementSpec struct {
	attrs    []string
	children []string
	text     bool // element carries text content
}

func set(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

var (
	objectAttrs    = []string{"name", "extends", "template", "security-domains", "state"}
	describe       = []string{"summary", "description", "parameter"}
	checkAttrs     = set(objectAttrs, []string{"enabled", "suppressed", "groups", "external-ref", "category", "application"})
	activeAttrs    = []string{"worker-pool", "agent-id", "resource-pool"}
	checkChildren  = set(describe, []string{"initially", "notify", "notifications", "external-ref", "note", "category", "application", "depends", "sla"})
	activeChildren = []string{"state", "schedule", "check-command"}
	notifyAttrs    = []string{"enabled", "time-period", "alerts", "alert", "recovery", "ignore", "all-engines", "acknowledge", "renotify-every"}
)

// objectKinds are the top-level object elements in the order they are
// exported.
var objectKinds = []string{
	"security-domain", "time-period", "credential", "team", "contact", "location", "group",
	"command", "service", "trap", "resource", "host", "cluster", "metrics-export",
}

// schema is the closed set of elements and attributes Bergamot XML accepts.
// An element or attribute not listed here is an error.
func schema() map[string]elementSpec {
	return map[string]elementSpec{
		"bergamot":        {attrs: []string{"site"}, children: set([]string{"summary", "description", "parameter"}, objectKinds)},
		"security-domain": {attrs: objectAttrs, children: describe},
		"team": {attrs: set(objectAttrs, []string{"teams", "grants", "revokes"}),
			children: set(describe, []string{"access-control"})},
		"contact": {attrs: set(objectAttrs, []string{"teams", "grants", "revokes"}),
			children: set(describe, []string{"access-control", "notifications", "first-name", "preferred-name",
				"family-name", "full-name", "email", "pager", "mobile", "phone", "im"})},
		"location":    {attrs: set(objectAttrs, []string{"location", "worker-pool"}), children: describe},
		"group":       {attrs: set(objectAttrs, []string{"groups", "group"}), children: set(describe, []string{"sla"})},
		"time-period": {attrs: set(objectAttrs, []string{"excludes"}), children: set(describe, []string{"time-zone", "time-range"})},
		"credential":  {attrs: objectAttrs, children: set(describe, []string{"username", "password", "key-id", "key-secret"})},
		"metrics-export": {attrs: set(objectAttrs, []string{"protocol", "url", "auth", "credential", "batch", "buffer", "enabled", "own-series"}),
			children: describe},
		"command": {attrs: set(objectAttrs, []string{"engine", "executor", "category", "application"}),
			children: set(describe, []string{"script", "category", "application"})},
		"host": {attrs: set(checkAttrs, activeAttrs, []string{"location", "address"}),
			children: set(checkChildren, activeChildren, []string{"service", "trap"})},
		"service":  {attrs: set(checkAttrs, activeAttrs), children: set(checkChildren, activeChildren)},
		"trap":     {attrs: set(checkAttrs, activeAttrs), children: set(checkChildren, []string{"state", "check-command"})},
		"cluster":  {attrs: checkAttrs, children: set(checkChildren, []string{"condition", "resource"})},
		"resource": {attrs: checkAttrs, children: set(checkChildren, []string{"condition"})},

		"summary": {text: true}, "description": {text: true}, "script": {text: true},
		"category": {text: true}, "application": {text: true}, "condition": {text: true},
		"external-ref": {text: true}, "note": {text: true}, "depends": {text: true},
		"time-range": {text: true}, "first-name": {text: true}, "preferred-name": {text: true},
		"family-name": {text: true}, "full-name": {text: true}, "email": {text: true},
		"pager": {text: true}, "mobile": {text: true}, "phone": {text: true}, "im": {text: true},
		"username": {text: true}, "password": {text: true}, "key-id": {text: true}, "key-secret": {text: true},
		"parameter":           {attrs: []string{"name", "description", "value"}, text: true},
		"time-zone":           {attrs: []string{"id"}},
		"sla":                 {attrs: []string{"name", "target", "period", "downtime", "blind", "time-zone"}},
		"access-control":      {attrs: []string{"security-domain", "grants", "revokes"}},
		"initially":           {attrs: []string{"status", "output"}},
		"notify":              {attrs: []string{"teams", "contacts"}},
		"state":               {attrs: []string{"failed-after", "recovers-after"}},
		"schedule":            {attrs: []string{"every", "retry-every", "changing-every", "time-period"}},
		"check-command":       {attrs: []string{"command"}, children: []string{"parameter"}},
		"notifications":       {attrs: notifyAttrs, children: []string{"notification-engine", "escalate"}},
		"notification-engine": {attrs: set([]string{"engine"}, notifyAttrs)},
		"escalate":            {attrs: []string{"after", "time-period", "ignore", "renotify"}, children: []string{"notify"}},
	}
}

// checkSchema reports every element or attribute of n's subtree that the
// schema does not allow.
func checkSchema(spec map[string]elementSpec, n *Node, object string, sink *errorSink) {
	s, ok := spec[n.Element]
	if !ok {
		sink.add(n, object, "unknown element <%s>", n.Element)
		return
	}
	for _, a := range n.Attrs {
		if !contains(s.attrs, a.Name) {
			sink.add(n, object, "unknown attribute %q on <%s> (allowed: %s)", a.Name, n.Element, allowed(s.attrs))
		}
	}
	if !s.text && n.Text != "" {
		sink.add(n, object, "unexpected text inside <%s>", n.Element)
	}
	for _, c := range n.Children {
		if !contains(s.children, c.Element) {
			sink.add(c, object, "unknown element <%s> inside <%s>", c.Element, n.Element)
			continue
		}
		childObject := object
		if isObjectElement(c.Element) {
			childObject = nestedLabel(object, c.Element, c.AttrValue("name"))
		}
		checkSchema(spec, c, childObject, sink)
	}
}

func nestedLabel(parent, kind, name string) string {
	if parent == "" {
		return objectLabel(kind, name)
	}
	return objectLabel(kind, name) + " on " + parent
}

func isObjectElement(el string) bool { return contains(objectKinds, el) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func allowed(list []string) string {
	c := append([]string(nil), list...)
	sort.Strings(c)
	if len(c) == 0 {
		return "none"
	}
	return strings.Join(c, ", ")
}

// splitList splits a comma separated attribute value, trimming blanks.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
