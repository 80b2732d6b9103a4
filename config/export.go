package config

import (
	"bytes"
	"encoding/xml"
	"sort"
	"strings"
)

// ExportOption changes what Export writes.
type ExportOption func(*exportOptions)

type exportOptions struct {
	secrets bool
}

// WithSecrets makes Export include credential passwords and key secrets,
// which are left out by default.
func WithSecrets() ExportOption { return func(o *exportOptions) { o.secrets = true } }

// secretElements are credential children never written without WithSecrets.
var secretElements = map[string]bool{"password": true, "key-secret": true}

// Export writes doc as one Bergamot XML document that loads back into an
// identical document. Credential secrets are omitted unless WithSecrets is
// given.
func Export(doc *Document, opts ...ExportOption) ([]byte, error) {
	var o exportOptions
	for _, f := range opts {
		f(&o)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<bergamot")
	writeAttr(&b, "site", doc.Site)
	b.WriteString(">\n")
	if doc.Summary != "" {
		writeNode(&b, &Node{Element: "summary", Text: doc.Summary}, 1, o.secrets, false)
	}
	if doc.Description != "" {
		writeNode(&b, &Node{Element: "description", Text: doc.Description}, 1, o.secrets, false)
	}
	for _, p := range doc.Parameters {
		writeNode(&b, p, 1, o.secrets, false)
	}
	for _, obj := range doc.Objects() {
		b.WriteString("\n")
		writeNode(&b, obj.node, 1, o.secrets, false)
	}
	b.WriteString("</bergamot>\n")
	return b.Bytes(), nil
}

// canonical renders n with sorted attributes and no source positions.
func canonical(n *Node, secrets bool) string {
	var b bytes.Buffer
	writeNode(&b, n, 0, secrets, true)
	return b.String()
}

func writeNode(b *bytes.Buffer, n *Node, depth int, secrets, sorted bool) {
	if !secrets && secretElements[n.Element] {
		if sorted {
			b.WriteString(strings.Repeat("    ", depth))
			b.WriteString("<" + n.Element + ">(redacted)</" + n.Element + ">\n")
		}
		return
	}
	indent := strings.Repeat("    ", depth)
	b.WriteString(indent)
	b.WriteString("<" + n.Element)
	attrs := n.Attrs
	if sorted {
		attrs = append([]Attr(nil), attrs...)
		sort.Slice(attrs, func(i, j int) bool { return attrs[i].Name < attrs[j].Name })
	}
	for _, a := range attrs {
		writeAttr(b, a.Name, a.Value)
	}
	switch {
	case len(n.Children) == 0 && n.Text == "":
		b.WriteString("/>\n")
		return
	case len(n.Children) == 0:
		b.WriteString(">")
		writeText(b, n.Text)
		b.WriteString("</" + n.Element + ">\n")
		return
	}
	b.WriteString(">\n")
	if n.Text != "" {
		b.WriteString(indent + "    ")
		writeText(b, n.Text)
		b.WriteString("\n")
	}
	for _, c := range n.Children {
		writeNode(b, c, depth+1, secrets, sorted)
	}
	b.WriteString(indent + "</" + n.Element + ">\n")
}

func writeAttr(b *bytes.Buffer, name, value string) {
	b.WriteString(" " + name + "=\"")
	_ = xml.EscapeText(b, []byte(value))
	b.WriteString("\"")
}

func writeText(b *bytes.Buffer, s string) {
	if strings.ContainsAny(s, "<&") && !strings.Contains(s, "]]>") {
		b.WriteString("<![CDATA[" + s + "]]>")
		return
	}
	_ = xml.EscapeText(b, []byte(s))
}

// Change is one object added, changed or removed between two documents.
type Change struct {
	Kind   string
	Name   string
	Op     string // ChangeAdded, ChangeChanged or ChangeRemoved
	Before string // canonical text, secrets redacted; empty when added
	After  string // canonical text, secrets redacted; empty when removed
}

// Change operations.
const (
	ChangeAdded   = "added"
	ChangeChanged = "changed"
	ChangeRemoved = "removed"
)

// Diff lists the objects added, changed and removed from old to new, ordered
// by kind and name. A changed secret counts as a change even though the
// canonical texts hide it.
func Diff(old, new *Document) []Change {
	var out []Change
	for _, o := range old.Objects() {
		n := new.Object(o.Kind(), o.Name())
		switch {
		case n == nil:
			out = append(out, Change{Kind: o.Kind(), Name: o.Name(), Op: ChangeRemoved, Before: o.Canonical()})
		case !o.Equal(n):
			out = append(out, Change{Kind: o.Kind(), Name: o.Name(), Op: ChangeChanged, Before: o.Canonical(), After: n.Canonical()})
		}
	}
	for _, n := range new.Objects() {
		if old.Object(n.Kind(), n.Name()) == nil {
			out = append(out, Change{Kind: n.Kind(), Name: n.Name(), Op: ChangeAdded, After: n.Canonical()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ki, kj := kindRank(out[i].Kind), kindRank(out[j].Kind)
		if ki != kj {
			return ki < kj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func kindRank(k string) int {
	for i, x := range objectKinds {
		if x == k {
			return i
		}
	}
	return len(objectKinds)
}
