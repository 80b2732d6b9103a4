package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bergamot-monitoring/bergamot/config/expr"
)

// Object is one top-level configuration object as written in the source:
// its kind (the element name, e.g. "host"), its name and its element tree.
type Object struct {
	node *Node
}

// Kind is the object's element name: host, service, command, ...
func (o *Object) Kind() string { return o.node.Element }

// Name is the object's name attribute.
func (o *Object) Name() string { return o.node.AttrValue("name") }

// File is the file the object was read from.
func (o *Object) File() string { return o.node.File }

// Line is the line of the object's start tag.
func (o *Object) Line() int { return o.node.Line }

// Template reports whether the object is only inherited, never monitored.
func (o *Object) Template() bool { return isYes(o.node.AttrValue("template")) }

// Node returns the object's source element tree. Callers must not modify it.
func (o *Object) Node() *Node { return o.node }

// Canonical is a stable text form of the object, independent of attribute
// order, indentation and source position, with secrets redacted. Use it for
// readable diffs; Equal detects changes, secrets included.
func (o *Object) Canonical() string { return canonical(o.node, false) }

// Equal reports whether two objects have the same content, secrets included.
func (o *Object) Equal(p *Object) bool { return canonical(o.node, true) == canonical(p.node, true) }

// Document is a set of configuration objects loaded from one or more files,
// keyed by kind and name, before inheritance is resolved.
type Document struct {
	Site        string
	Summary     string
	Description string
	// Parameters are the site parameters (<parameter> directly under
	// <bergamot>), in source order.
	Parameters []*Node
	objects    map[string]map[string]*Object
}

// NewDocument returns an empty document.
func NewDocument() *Document {
	return &Document{objects: make(map[string]map[string]*Object)}
}

// Object returns the object with the given kind and name, or nil.
func (d *Document) Object(kind, name string) *Object { return d.objects[kind][name] }

// Objects lists every object, ordered by kind (in export order) then name.
func (d *Document) Objects() []*Object {
	var out []*Object
	for _, kind := range objectKinds {
		names := make([]string, 0, len(d.objects[kind]))
		for n := range d.objects[kind] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, d.objects[kind][n])
		}
	}
	return out
}

// Len returns the number of objects.
func (d *Document) Len() int {
	n := 0
	for _, m := range d.objects {
		n += len(m)
	}
	return n
}

func (d *Document) put(o *Object) {
	m := d.objects[o.Kind()]
	if m == nil {
		m = make(map[string]*Object)
		d.objects[o.Kind()] = m
	}
	m[o.Name()] = o
}

// ParseFile reads one configuration file.
func ParseFile(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return Parse(path, f)
}

// Parse reads one configuration document; name is used in error messages.
// On invalid input the error is an ErrorList with every problem found.
func Parse(name string, r io.Reader) (*Document, error) {
	doc := NewDocument()
	var sink errorSink
	addFile(doc, doc, name, r, &sink)
	if err := sink.list.Err(); err != nil {
		return nil, err
	}
	return doc, nil
}

// addFile parses one file into dst, checking duplicates against all (which
// may be dst).
func addFile(dst, all *Document, name string, r io.Reader, sink *errorSink) {
	root, err := parseTree(name, r)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			sink.list = append(sink.list, e)
		} else {
			sink.add(nil, "", "%v", err)
		}
		return
	}
	if root.Element != "bergamot" {
		sink.add(root, "", "root element is <%s>, want <bergamot>", root.Element)
		return
	}
	checkSchema(schema(), root, "", sink)
	if site := root.AttrValue("site"); site != "" && dst.Site == "" {
		dst.Site = site
	}
	for _, c := range root.Children {
		switch {
		case c.Element == "summary":
			dst.Summary = c.Text
		case c.Element == "description":
			dst.Description = c.Text
		case c.Element == "parameter":
			dst.Parameters = append(dst.Parameters, c)
		case isObjectElement(c.Element):
			addObject(dst, all, c, sink)
		}
	}
	checkTemplates(root, "", sink)
}

func addObject(dst, all *Document, n *Node, sink *errorSink) {
	name := n.AttrValue("name")
	label := objectLabel(n.Element, name)
	if strings.TrimSpace(name) == "" {
		sink.add(n, label, "missing name attribute")
		return
	}
	if st, ok := n.Attr("state"); ok && st != "present" && st != "absent" {
		sink.add(n, label, "state must be present or absent, not %q", st)
	}
	if prev := all.Object(n.Element, name); prev != nil {
		sink.add(n, label, "duplicate %s (first defined at %s:%d)", n.Element, prev.File(), prev.Line())
		return
	}
	checkNested(n, label, sink)
	dst.put(&Object{node: n})
}

// checkNested reports duplicate or unnamed services, traps and resources
// inside one object.
func checkNested(n *Node, label string, sink *errorSink) {
	seen := map[string]*Node{}
	for _, c := range n.Children {
		if !isObjectElement(c.Element) {
			continue
		}
		name := c.AttrValue("name")
		if name == "" {
			sink.add(c, label, "%s without a name", c.Element)
			continue
		}
		key := c.Element + "\x00" + name
		if prev := seen[key]; prev != nil {
			sink.add(c, label, "duplicate %s %q (first defined at line %d)", c.Element, name, prev.Line)
			continue
		}
		seen[key] = c
	}
}

// checkTemplates parses every parameter value's #{...} expressions and
// checks the yes/no and number attributes, so syntax errors surface at load
// time even in templates nothing uses.
func checkTemplates(n *Node, object string, sink *errorSink) {
	for _, c := range n.Children {
		label := object
		if isObjectElement(c.Element) {
			label = nestedLabel(object, c.Element, c.AttrValue("name"))
		}
		switch c.Element {
		case "parameter":
			if _, err := expr.ParseTemplate(paramValue(c)); err != nil {
				sink.add(c, label, "parameter %q: %v", c.AttrValue("name"), err)
			}
		case "schedule":
			for _, a := range []string{"every", "retry-every", "changing-every"} {
				if v, ok := c.Attr(a); ok {
					if _, err := ParseInterval(v); err != nil {
						sink.add(c, label, "%s: %v", a, err)
					}
				}
			}
		case "escalate":
			if _, err := ParseInterval(c.AttrValue("after")); err != nil {
				sink.add(c, label, "escalate after: %v", err)
			}
		case "state":
			for _, a := range []string{"failed-after", "recovers-after"} {
				if v, ok := c.Attr(a); ok {
					if _, err := parseCount(v); err != nil {
						sink.add(c, label, "%s: %v", a, err)
					}
				}
			}
		}
		for _, a := range c.Attrs {
			switch a.Name {
			case "template", "enabled", "suppressed", "alerts", "alert", "recovery", "all-engines", "acknowledge", "renotify", "own-series":
				if !isYes(a.Value) && !isNo(a.Value) {
					sink.add(c, label, "%s must be yes or no, not %q", a.Name, a.Value)
				}
			}
		}
		checkTemplates(c, label, sink)
	}
}

func paramValue(n *Node) string {
	if v, ok := n.Attr("value"); ok {
		return v
	}
	return n.Text
}

func isYes(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "on", "1":
		return true
	}
	return false
}

func isNo(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "no", "false", "off", "0":
		return true
	}
	return false
}

// LoadPaths loads files and directories (every *.xml below a directory,
// recursively, in lexical order) as one set of objects. A name defined twice
// is an error. All problems in all files are reported together.
func LoadPaths(paths ...string) (*Document, error) {
	doc := NewDocument()
	var sink errorSink
	for _, p := range paths {
		files, err := xmlFiles(p)
		if err != nil {
			sink.add(nil, "", "%v", err)
			continue
		}
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				sink.add(nil, "", "%v", err)
				continue
			}
			addFile(doc, doc, f, fh, &sink)
			fh.Close()
		}
	}
	if err := sink.list.Err(); err != nil {
		return nil, err
	}
	return doc, nil
}

func xmlFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".xml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// Merge returns a new document: d with overlay applied. An overlay object
// replaces the object of the same kind and name; an overlay object with
// state="absent" removes it. Site attributes set in the overlay win and site
// parameters merge by name.
func (d *Document) Merge(overlay *Document) *Document {
	out := NewDocument()
	out.Site, out.Summary, out.Description = d.Site, d.Summary, d.Description
	for _, o := range d.Objects() {
		out.put(o)
	}
	if overlay.Site != "" {
		out.Site = overlay.Site
	}
	if overlay.Summary != "" {
		out.Summary = overlay.Summary
	}
	if overlay.Description != "" {
		out.Description = overlay.Description
	}
	out.Parameters = mergeByKey(d.Parameters, overlay.Parameters, "name")
	for _, o := range overlay.Objects() {
		if o.node.AttrValue("state") == "absent" {
			delete(out.objects[o.Kind()], o.Name())
			continue
		}
		out.put(o)
	}
	return out
}

// mergeByKey merges two node lists keyed by an attribute: base order first,
// entries of over replacing same-keyed ones, new entries appended.
func mergeByKey(base, over []*Node, key string) []*Node {
	out := append([]*Node(nil), base...)
	idx := make(map[string]int, len(out))
	for i, n := range out {
		idx[n.AttrValue(key)] = i
	}
	for _, n := range over {
		if i, ok := idx[n.AttrValue(key)]; ok {
			out[i] = n
			continue
		}
		idx[n.AttrValue(key)] = len(out)
		out = append(out, n)
	}
	return out
}

// SourceXML is the object's canonical XML with secrets included: what the
// database stores (credential objects are sealed before they are stored).
func (o *Object) SourceXML() string { return canonical(o.node, true) }
