package nagios

import (
	"fmt"
	"strings"
)

// identityKey is the directive naming a registered object of each type;
// nagios4 does not inherit it from templates except for services.
var identityKey = map[string]string{
	"host": "host_name", "hostgroup": "hostgroup_name", "servicegroup": "servicegroup_name",
	"contact": "contact_name", "contactgroup": "contactgroup_name",
	"timeperiod": "timeperiod_name", "command": "command_name",
	"hostextinfo": "host_name", "serviceextinfo": "host_name",
}

// additive lists, per type, the directives where a leading '+' appends to
// the inherited value (nagios4's xodtemplate_clean_additive_strings).
var additive = map[string][]string{
	"host":              {"parents", "hostgroups", "contact_groups", "contacts"},
	"service":           {"host_name", "hostgroup_name", "servicegroups", "contact_groups", "contacts", "parents"},
	"hostgroup":         {"members", "hostgroup_members"},
	"servicegroup":      {"members", "servicegroup_members"},
	"contactgroup":      {"members", "contactgroup_members"},
	"contact":           {"contactgroups", "host_notification_commands", "service_notification_commands"},
	"hostdependency":    {"host_name", "dependent_host_name", "hostgroup_name", "dependent_hostgroup_name"},
	"servicedependency": {"host_name", "dependent_host_name", "hostgroup_name", "dependent_hostgroup_name", "service_description", "dependent_service_description", "servicegroup_name", "dependent_servicegroup_name"},
	"hostescalation":    {"host_name", "hostgroup_name", "contact_groups", "contacts"},
	"serviceescalation": {"host_name", "hostgroup_name", "service_description", "servicegroup_name", "contact_groups", "contacts"},
}

func isAdditive(typ, key string) bool {
	for _, k := range additive[typ] {
		if k == key {
			return true
		}
	}
	return false
}

// templateIndex finds templates by type and `name`.
type templateIndex map[string]map[string]*Object

func newTemplateIndex(objs []*Object) (templateIndex, Errors) {
	idx := templateIndex{}
	var errs Errors
	for _, o := range objs {
		if o.Name == "" {
			continue
		}
		m := idx[o.Type]
		if m == nil {
			m = map[string]*Object{}
			idx[o.Type] = m
		}
		if prev, dup := m[o.Name]; dup {
			errs = append(errs, &Error{o.Pos, fmt.Sprintf("duplicate %s template definition '%s' (first defined at %s)", o.Type, o.Name, prev.Pos)})
			continue
		}
		m[o.Name] = o
	}
	return idx, errs
}

// resolveTemplates applies `use` inheritance to o, in place, as nagios4's
// xodtemplate_resolve_* functions do: templates are applied left to right,
// and an attribute is taken from a template only if the object does not
// have it yet, so the leftmost template wins.
func (idx templateIndex) resolveTemplates(o *Object) Errors {
	if o.resolved {
		return nil
	}
	if o.resolving {
		return Errors{{o.Pos, fmt.Sprintf("circular template inheritance in %s definition '%s'", o.Type, o.displayName())}}
	}
	o.resolving = true
	defer func() { o.resolving = false; o.resolved = true }()
	var errs Errors
	for _, name := range o.Use {
		t := idx[o.Type][name]
		if t == nil {
			errs = append(errs, &Error{o.Pos, fmt.Sprintf("template '%s' specified in %s definition could not be found", name, o.Type)})
			continue
		}
		errs = append(errs, idx.resolveTemplates(t)...)
		inherit(o, t)
	}
	for _, k := range additive[o.Type] {
		if a, ok := o.Attrs[k]; ok && strings.HasPrefix(a.Value, "+") {
			a.Value = a.Value[1:]
			o.Attrs[k] = a
		}
	}
	return errs
}

// inherit copies t's attributes that o lacks, merging '+' values like
// nagios4's xodtemplate_get_inherited_string.
func inherit(o, t *Object) {
	id := identityKey[o.Type]
	for k, ta := range t.Attrs {
		if k == id && o.Type != "service" {
			continue
		}
		oa, has := o.Attrs[k]
		switch {
		case !has:
			o.Attrs[k] = ta
		case !oa.Null && !ta.Null && strings.HasPrefix(oa.Value, "+") && !strings.HasPrefix(k, "_") && isAdditive(o.Type, k):
			oa.Value = ta.Value + "," + oa.Value[1:]
			o.Attrs[k] = oa
		}
	}
}

func (o *Object) displayName() string {
	if v := o.Get(identityKey[o.Type]); v != "" {
		if o.Type == "service" {
			return v + "/" + o.Get("service_description")
		}
		return v
	}
	if o.Type == "service" && o.Get("service_description") != "" {
		return o.Get("service_description")
	}
	if o.Name != "" {
		return o.Name
	}
	return "(unnamed)"
}

// splitList splits a comma separated Nagios list, trimming blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
