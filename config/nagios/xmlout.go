package nagios

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// element is a minimal XML element tree used to write Bergamot XML with
// attributes in a stable order.
type element struct {
	name  string
	attrs [][2]string
	text  string
	kids  []*element
}

func newEl(name string, kv ...string) *element {
	e := &element{name: name}
	for i := 0; i+1 < len(kv); i += 2 {
		e.attr(kv[i], kv[i+1])
	}
	return e
}

// attr sets attribute k unless v is empty.
func (e *element) attr(k, v string) *element {
	if v != "" {
		e.attrs = append(e.attrs, [2]string{k, v})
	}
	return e
}

func (e *element) add(k *element) *element { e.kids = append(e.kids, k); return k }

func (e *element) child(name, text string) {
	if text != "" {
		e.kids = append(e.kids, &element{name: name, text: text})
	}
}

func (e *element) write(b *bytes.Buffer, depth int) {
	ind := strings.Repeat("    ", depth)
	b.WriteString(ind + "<" + e.name)
	for _, a := range e.attrs {
		b.WriteString(" " + a[0] + `="`)
		xml.EscapeText(b, []byte(a[1])) //nolint:errcheck // bytes.Buffer never fails
		b.WriteString(`"`)
	}
	switch {
	case len(e.kids) == 0 && e.text == "":
		b.WriteString("/>\n")
	case len(e.kids) == 0:
		b.WriteString(">")
		xml.EscapeText(b, []byte(e.text)) //nolint:errcheck // bytes.Buffer never fails
		b.WriteString("</" + e.name + ">\n")
	default:
		b.WriteString(">\n")
		for _, k := range e.kids {
			k.write(b, depth+1)
		}
		b.WriteString(ind + "</" + e.name + ">\n")
	}
}
