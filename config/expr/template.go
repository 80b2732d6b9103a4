package expr

import (
	"fmt"
	"strings"
)

// Template is a parameter value: literal text with embedded #{...}
// expressions.
type Template struct {
	parts []part
}

type part struct {
	text string // literal text, when expr is nil
	src  string // expression source
	expr Node
}

// ParseTemplate splits s into literal text and #{...} expressions, parsing
// each expression. Offsets in errors are relative to s.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	for {
		i := strings.Index(s, "#{")
		if i < 0 {
			if s != "" {
				t.parts = append(t.parts, part{text: s})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, part{text: s[:i]})
		}
		end, err := closingBrace(s, i+2)
		if err != nil {
			return nil, err
		}
		src := s[i+2 : end]
		n, err := Parse(src)
		if err != nil {
			return nil, fmt.Errorf("in #{%s}: %w", src, err)
		}
		t.parts = append(t.parts, part{src: src, expr: n})
		s = s[end+1:]
	}
}

// closingBrace finds the `}` closing an expression that starts at from,
// skipping quoted strings.
func closingBrace(s string, from int) (int, error) {
	var quote byte
	for j := from; j < len(s); j++ {
		c := s[j]
		switch {
		case quote != 0:
			switch c {
			case '\\':
				j++
			case quote:
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '}':
			return j, nil
		}
	}
	return 0, &SyntaxError{Offset: from - 2, Message: "unterminated #{"}
}

// HasExpressions reports whether the template contains any #{...}.
func (t *Template) HasExpressions() bool {
	for _, p := range t.parts {
		if p.expr != nil {
			return true
		}
	}
	return false
}

// Expressions returns the source of every embedded expression.
func (t *Template) Expressions() []string {
	var out []string
	for _, p := range t.parts {
		if p.expr != nil {
			out = append(out, p.src)
		}
	}
	return out
}

// Nodes returns every parsed embedded expression.
func (t *Template) Nodes() []Node {
	var out []Node
	for _, p := range t.parts {
		if p.expr != nil {
			out = append(out, p.expr)
		}
	}
	return out
}

// Eval renders the template, evaluating each expression against env.
func (t *Template) Eval(env Env) (string, error) {
	if len(t.parts) == 1 && t.parts[0].expr == nil {
		return t.parts[0].text, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := Eval(p.expr, env)
		if err != nil {
			return "", fmt.Errorf("#{%s}: %w", p.src, err)
		}
		b.WriteString(String(v))
	}
	return b.String(), nil
}
