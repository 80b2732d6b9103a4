package config

import (
	"strings"

	"github.com/bergamot-monitoring/bergamot/config/expr"
)

// ResolveOption changes how Resolve works.
type ResolveOption func(*resolver)

// WithCredentialResolver makes resolve_credentials() use cr instead of the
// configuration's own credential objects.
func WithCredentialResolver(cr CredentialResolver) ResolveOption {
	return func(r *resolver) { r.creds = cr }
}

// resolver applies inheritance with memoisation and collects errors.
type resolver struct {
	doc      *Document
	memo     map[string]*Node
	visiting map[string]bool
	path     []string
	stack    []string // keys of the objects being resolved
	objErrs  map[string]ErrorList
	deps     map[string][]string
	required map[string]bool
	// templates caches parsed parameter values.
	templates map[string]*expr.Template
	sink      errorSink
	creds     CredentialResolver
	site      map[string]string
	model     *Model
	// dependsAt is the <depends> element of each check that has one.
	dependsAt map[*Check]*Node
}

// Resolve applies inheritance to doc, checks every reference, evaluates
// parameter expressions for every concrete check and returns the model. The
// error, if any, is an ErrorList holding every problem found.
func Resolve(doc *Document, opts ...ResolveOption) (*Model, error) {
	r := &resolver{doc: doc, memo: map[string]*Node{}, visiting: map[string]bool{},
		objErrs: map[string]ErrorList{}, deps: map[string][]string{}, required: map[string]bool{},
		templates: map[string]*expr.Template{}, dependsAt: map[*Check]*Node{}}
	for _, o := range opts {
		o(r)
	}
	m := &Model{
		Site: doc.Site, Summary: doc.Summary, Description: doc.Description,
		Parameters: map[string]string{}, Commands: map[string]*Command{}, TimePeriods: map[string]*TimePeriod{},
		Contacts: map[string]*Contact{}, Teams: map[string]*Team{}, Locations: map[string]*Location{},
		Groups: map[string]*Group{}, Credentials: map[string]*Credential{}, SecurityDomains: map[string]*SecurityDomain{},
		MetricsExports: map[string]*MetricsExport{},
	}
	r.model = m
	for _, p := range doc.Parameters {
		m.Parameters[p.AttrValue("name")] = paramValue(p)
	}
	r.site = m.Parameters
	// Resolve every object, templates included, so broken extends chains
	// are reported even when nothing concrete uses them yet.
	for _, o := range doc.Objects() {
		r.resolve(o.Kind(), o.Name(), o.node)
	}
	for _, o := range doc.Objects() {
		if !o.Template() && !usedOnly[o.Kind()] {
			r.require(o.Kind(), o.Name())
		}
	}
	r.buildSupport(m)
	if r.creds == nil {
		r.creds = modelCredentials(m.Credentials)
	}
	for _, o := range doc.Objects() {
		if o.Template() {
			continue
		}
		n := r.memo[key(o.Kind(), o.Name())]
		if n == nil {
			continue
		}
		switch o.Kind() {
		case "host":
			m.Hosts = append(m.Hosts, r.buildCheck(n, nil, objectLabel("host", o.Name())))
		case "cluster":
			m.Clusters = append(m.Clusters, r.buildCheck(n, nil, objectLabel("cluster", o.Name())))
		}
	}
	r.checkDepends(m)
	warnUnknownEngines(m)
	for k, errs := range r.objErrs {
		if !r.required[k] {
			m.Warnings = append(m.Warnings, errs...)
		}
	}
	m.Warnings = m.Warnings.sorted()
	if err := r.sink.list.Err(); err != nil {
		return m, err
	}
	return m, nil
}

// usedOnly are kinds whose objects are only monitored through a host,
// cluster or check: problems in them are errors only when something
// concrete uses them, and warnings otherwise.
var usedOnly = map[string]bool{"command": true, "service": true, "trap": true, "resource": true}

// require turns the resolution problems of an object, and of everything it
// inherits from, into errors.
func (r *resolver) require(kind, name string) {
	r.requireKey(key(kind, name))
}

func (r *resolver) requireKey(k string) {
	if r.required[k] {
		return
	}
	r.required[k] = true
	r.sink.list = append(r.sink.list, r.objErrs[k]...)
	for _, d := range r.deps[k] {
		r.requireKey(d)
	}
}

// objErr records a problem found while resolving the object on top of the
// stack.
func (r *resolver) objErr(n *Node, label, format string, args ...any) {
	var s errorSink
	s.add(n, label, format, args...)
	top := ""
	if len(r.stack) > 0 {
		top = r.stack[len(r.stack)-1]
	}
	r.objErrs[top] = append(r.objErrs[top], s.list...)
}

func key(kind, name string) string { return kind + "\x00" + name }

// resolve returns the inheritance-resolved node of a top-level object, or
// nil when it does not exist. from is the node referring to it (for errors).
func (r *resolver) resolve(kind, name string, from *Node) *Node {
	k := key(kind, name)
	if len(r.stack) > 0 {
		top := r.stack[len(r.stack)-1]
		r.deps[top] = append(r.deps[top], k)
	}
	if n, ok := r.memo[k]; ok {
		return n
	}
	o := r.doc.Object(kind, name)
	if o == nil {
		return nil
	}
	label := objectLabel(kind, name)
	if r.visiting[k] {
		cycle := append(append([]string(nil), r.path[indexOf(r.path, name):]...), name)
		// Always an error, even among templates nothing concrete uses:
		// such a cycle can never resolve.
		r.sink.add(o.node, label, "cycle in extends: %s", strings.Join(cycle, " -> "))
		return nil
	}
	r.visiting[k] = true
	r.path = append(r.path, name)
	r.stack = append(r.stack, k)
	var base *Node
	for _, p := range splitList(o.node.AttrValue("extends")) {
		pn := r.resolve(kind, p, o.node)
		if pn == nil {
			if r.doc.Object(kind, p) == nil {
				r.objErr(o.node, label, "unknown template %q", p)
			}
			continue
		}
		base = merge(base, pn)
	}
	own := r.resolveNested(o.node, base, label)
	n := merge(base, own)
	r.path = r.path[:len(r.path)-1]
	r.stack = r.stack[:len(r.stack)-1]
	delete(r.visiting, k)
	r.memo[k] = n
	return n
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

// resolveNested resolves the extends of services, traps and resources
// defined inside n: a name is looked up first among the services (traps,
// resources) n inherits from its templates, then among top-level objects.
func (r *resolver) resolveNested(n, inherited *Node, label string) *Node {
	var changed bool
	children := make([]*Node, len(n.Children))
	for i, c := range n.Children {
		children[i] = c
		if !isObjectElement(c.Element) || c.AttrValue("extends") == "" {
			continue
		}
		childLabel := nestedLabel(label, c.Element, c.AttrValue("name"))
		var base *Node
		for _, p := range splitList(c.AttrValue("extends")) {
			var pn *Node
			if inherited != nil {
				for _, ic := range inherited.Children {
					if ic.Element == c.Element && ic.AttrValue("name") == p {
						pn = ic
						break
					}
				}
			}
			if pn == nil {
				pn = r.resolve(c.Element, p, c)
			}
			if pn == nil {
				if r.doc.Object(c.Element, p) == nil {
					r.objErr(c, childLabel, "unknown template %q", p)
				}
				continue
			}
			base = merge(base, pn)
		}
		children[i] = merge(base, r.resolveNested(c, base, childLabel))
		changed = true
	}
	if !changed {
		return n
	}
	out := *n
	out.Children = children
	return &out
}

// checkRef reports a reference to a missing object of the given kind.
func (r *resolver) checkRef(n *Node, label, kind, name string) {
	if name == "" {
		return
	}
	if r.doc.Object(kind, name) == nil {
		r.sink.add(n, label, "unknown %s %q", kindWord(kind), name)
	}
}

func (r *resolver) checkRefs(n *Node, label, kind, list string) []string {
	names := splitList(list)
	for i, x := range names {
		x = strings.TrimPrefix(strings.TrimPrefix(x, "+"), "-")
		names[i] = x
		r.checkRef(n, label, kind, x)
	}
	return names
}

func kindWord(kind string) string {
	if kind == "time-period" {
		return "time period"
	}
	if kind == "security-domain" {
		return "security domain"
	}
	return kind
}

func text(n *Node, el string) string {
	if c := n.Child(el); c != nil {
		return c.Text
	}
	return ""
}

// textOrAttr reads a property that may be written as an attribute or as a
// child element (category, application, external-ref).
func textOrAttr(n *Node, name string) string {
	if c := n.Child(name); c != nil && c.Text != "" {
		return c.Text
	}
	return n.AttrValue(name)
}

func boolAttr(n *Node, name string, def bool) bool {
	if n == nil {
		return def
	}
	v, ok := n.Attr(name)
	if !ok {
		return def
	}
	return isYes(v)
}

func src(n *Node) Source { return Source{File: n.File, Line: n.Line} }

func (r *resolver) params(n *Node) map[string]string {
	out := map[string]string{}
	for _, p := range n.ChildrenNamed("parameter") {
		out[p.AttrValue("name")] = paramValue(p)
	}
	return out
}
