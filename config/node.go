package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Attr is one XML attribute of a configuration element, in source order.
type Attr struct {
	Name  string
	Value string
}

// Node is one element of a configuration file: its name, attributes in source
// order, trimmed text content, child elements, and where it was read from.
// Nodes are the lossless source form of the configuration; the typed model is
// built from them by Resolve.
type Node struct {
	Element  string
	Attrs    []Attr
	Text     string
	Children []*Node
	File     string
	Line     int
}

// Attr returns the value of the named attribute and whether it is present.
func (n *Node) Attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// AttrValue returns the value of the named attribute or "".
func (n *Node) AttrValue(name string) string {
	v, _ := n.Attr(name)
	return v
}

// SetAttr sets (or adds) an attribute.
func (n *Node) SetAttr(name, value string) {
	for i := range n.Attrs {
		if n.Attrs[i].Name == name {
			n.Attrs[i].Value = value
			return
		}
	}
	n.Attrs = append(n.Attrs, Attr{Name: name, Value: value})
}

// DelAttr removes an attribute if present.
func (n *Node) DelAttr(name string) {
	for i := range n.Attrs {
		if n.Attrs[i].Name == name {
			n.Attrs = append(n.Attrs[:i:i], n.Attrs[i+1:]...)
			return
		}
	}
}

// Child returns the first child element with the given name, or nil.
func (n *Node) Child(name string) *Node {
	for _, c := range n.Children {
		if c.Element == name {
			return c
		}
	}
	return nil
}

// ChildrenNamed returns every child element with the given name.
func (n *Node) ChildrenNamed(name string) []*Node {
	var out []*Node
	for _, c := range n.Children {
		if c.Element == name {
			out = append(out, c)
		}
	}
	return out
}

// Clone returns a deep copy of the node.
func (n *Node) Clone() *Node {
	c := *n
	c.Attrs = append([]Attr(nil), n.Attrs...)
	c.Children = make([]*Node, len(n.Children))
	for i, ch := range n.Children {
		c.Children[i] = ch.Clone()
	}
	return &c
}

// Bounds on one configuration document. A real configuration nests a few
// levels (bergamot > host > service > parameter) and has at most a few
// hundred thousand elements; anything beyond these is refused while
// reading, before it costs memory or CPU.
const (
	// MaxXMLDepth is the deepest element nesting accepted.
	MaxXMLDepth = 32
	// MaxXMLElements is the most elements one document may have.
	MaxXMLElements = 500_000
	// MaxXMLBytes is the largest document accepted.
	MaxXMLBytes = 32 << 20
)

var errTooLarge = fmt.Errorf("document is larger than %d bytes (the limit)", MaxXMLBytes)

// limitedReader fails with a clear error once more than max bytes were read.
type limitedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.max-l.n+1 {
		p = p[:l.max-l.n+1]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// parseTree reads one XML document into a Node tree. Errors carry the file and
// line of the malformed input. Documents deeper than MaxXMLDepth, with more
// than MaxXMLElements elements or larger than MaxXMLBytes are refused as
// soon as the limit is crossed.
func parseTree(name string, r io.Reader) (*Node, error) {
	dec := xml.NewDecoder(&limitedReader{r: r, max: MaxXMLBytes})
	dec.Strict = true
	var stack []*Node
	var text []*strings.Builder
	var root *Node
	elements := 0
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &Error{File: name, Line: se.Line, Message: "malformed XML: " + se.Msg}
			}
			l, _ := dec.InputPos()
			if errors.Is(err, errTooLarge) {
				return nil, &Error{File: name, Line: l, Message: err.Error()}
			}
			return nil, &Error{File: name, Line: l, Message: "malformed XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if elements++; elements > MaxXMLElements {
				return nil, &Error{File: name, Line: line, Message: fmt.Sprintf("too many elements: a document may have at most %d", MaxXMLElements)}
			}
			if len(stack) >= MaxXMLDepth {
				return nil, &Error{File: name, Line: line, Message: fmt.Sprintf("<%s> is nested too deep: at most %d levels are allowed", t.Name.Local, MaxXMLDepth)}
			}
			if root != nil && len(stack) == 0 {
				return nil, &Error{File: name, Line: line, Message: "malformed XML: more than one root element"}
			}
			n := &Node{Element: t.Name.Local, File: name, Line: line}
			if t.Name.Space != "" {
				return nil, &Error{File: name, Line: line, Message: fmt.Sprintf("unexpected XML namespace on <%s>", t.Name.Local)}
			}
			for _, a := range t.Attr {
				if a.Name.Space != "" {
					continue // xmlns and friends carry no configuration
				}
				if _, dup := n.Attr(a.Name.Local); dup {
					return nil, &Error{File: name, Line: line, Message: fmt.Sprintf("duplicate attribute %q on <%s>", a.Name.Local, n.Element)}
				}
				n.Attrs = append(n.Attrs, Attr{Name: a.Name.Local, Value: a.Value})
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
			text = append(text, &strings.Builder{})
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Text = strings.TrimSpace(text[len(text)-1].String())
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1].Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, &Error{File: name, Line: line, Message: "malformed XML: text outside the root element"}
			}
		}
	}
	if root == nil {
		return nil, &Error{File: name, Line: 1, Message: "malformed XML: no root element"}
	}
	return root, nil
}
