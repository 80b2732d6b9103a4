// Package expr parses and evaluates the #{...} expressions Bergamot allows in
// parameter values, for example `#{host.address}`,
// `#{coalesce(host.getParameter('snmp_version'), '2')}` or
// `#{resolve_credentials('ssh').username}`.
//
// The language: string literals in single or double quotes, numbers, true,
// false, null, names with `.field` access and `.method(args)` calls,
// function calls `f(a, b)`, `==`, `!=`, `&&`, `||`, `!` and parentheses.
// What a name means is decided by the Env the caller evaluates against.
package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// SyntaxError is a malformed expression; Offset is the byte offset in the
// text that was parsed.
type SyntaxError struct {
	Offset  int
	Message string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid expression at offset %d: %s", e.Offset, e.Message)
}

// Node is a parsed expression.
type Node interface{ node() }

// Literal is a string, number, boolean or null constant.
type Literal struct{ Value Value }

// Name is a bare identifier such as `host` or `arg1`.
type Name struct{ Name string }

// Field is `X.name`.
type Field struct {
	X    Node
	Name string
}

// Call is `f(args)` (X nil) or `X.f(args)`.
type Call struct {
	X    Node
	Func string
	Args []Node
}

// Binary is `L op R` for ==, !=, && and ||.
type Binary struct {
	Op   string
	L, R Node
}

// Not is `!X`.
type Not struct{ X Node }

func (Literal) node() {}
func (Name) node()    {}
func (Field) node()   {}
func (Call) node()    {}
func (Binary) node()  {}
func (Not) node()     {}

type token struct {
	kind string // "name", "str", "num", "op", "eof"
	text string
	pos  int
}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, &SyntaxError{i, "unterminated string"}
			}
			toks = append(toks, token{"str", b.String(), i})
			i = j + 1
		case isDigit(c) || (c == '-' && i+1 < len(s) && isDigit(s[i+1])):
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, token{"num", s[i:j], i})
			i = j
		case isNameStart(c):
			j := i + 1
			for j < len(s) && (isNameStart(s[j]) || isDigit(s[j])) {
				j++
			}
			toks = append(toks, token{"name", s[i:j], i})
			i = j
		default:
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch {
			case two == "==" || two == "!=" || two == "&&" || two == "||":
				toks = append(toks, token{"op", two, i})
				i += 2
			case strings.IndexByte("().,!", c) >= 0:
				toks = append(toks, token{"op", string(c), i})
				i++
			default:
				return nil, &SyntaxError{i, fmt.Sprintf("unexpected character %q", c)}
			}
		}
	}
	return append(toks, token{"eof", "", len(s)}), nil
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

type parser struct {
	toks  []token
	i     int
	depth int
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 100

// Parse parses one expression (the text between `#{` and `}`).
func Parse(s string) (Node, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, &SyntaxError{t.pos, fmt.Sprintf("unexpected %q", t.text)}
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isOp(ops ...string) (string, bool) {
	t := p.peek()
	for _, op := range ops {
		if (t.kind == "op" && t.text == op) || (t.kind == "name" && t.text == op) {
			return op, true
		}
	}
	return "", false
}

func (p *parser) or() (Node, error)  { return p.binary(p.and, "||", "or") }
func (p *parser) and() (Node, error) { return p.binary(p.cmp, "&&", "and") }
func (p *parser) cmp() (Node, error) { return p.binary(p.unary, "==", "!=") }

func (p *parser) binary(sub func() (Node, error), ops ...string) (Node, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.isOp(ops...)
		if !ok {
			return l, nil
		}
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		switch op {
		case "or":
			op = "||"
		case "and":
			op = "&&"
		}
		l = Binary{Op: op, L: l, R: r}
	}
}

func (p *parser) unary() (Node, error) {
	if _, ok := p.isOp("!"); ok {
		p.next()
		p.depth++
		defer func() { p.depth-- }()
		if p.depth > maxDepth {
			return nil, &SyntaxError{p.peek().pos, "expression nested too deeply"}
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return Not{X: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (Node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		if _, ok := p.isOp("."); !ok {
			return x, nil
		}
		p.next()
		t := p.next()
		if t.kind != "name" {
			return nil, &SyntaxError{t.pos, "expected a name after '.'"}
		}
		if _, ok := p.isOp("("); ok {
			args, err := p.args()
			if err != nil {
				return nil, err
			}
			x = Call{X: x, Func: t.text, Args: args}
			continue
		}
		x = Field{X: x, Name: t.text}
	}
}

func (p *parser) args() ([]Node, error) {
	p.next() // (
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, &SyntaxError{p.peek().pos, "expression nested too deeply"}
	}
	var args []Node
	if _, ok := p.isOp(")"); ok {
		p.next()
		return args, nil
	}
	for {
		a, err := p.or()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		t := p.next()
		if t.kind == "op" && t.text == ")" {
			return args, nil
		}
		if t.kind != "op" || t.text != "," {
			return nil, &SyntaxError{t.pos, "expected ',' or ')' in argument list"}
		}
	}
}

func (p *parser) primary() (Node, error) {
	t := p.next()
	switch t.kind {
	case "str":
		return Literal{Value: t.text}, nil
	case "num":
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, &SyntaxError{t.pos, fmt.Sprintf("invalid number %q", t.text)}
		}
		return Literal{Value: f}, nil
	case "name":
		switch t.text {
		case "true", "false":
			return Literal{Value: t.text == "true"}, nil
		case "null", "nil":
			return Literal{Value: nil}, nil
		}
		if _, ok := p.isOp("("); ok {
			args, err := p.args()
			if err != nil {
				return nil, err
			}
			return Call{Func: t.text, Args: args}, nil
		}
		return Name{Name: t.text}, nil
	case "op":
		if t.text == "(" {
			p.depth++
			defer func() { p.depth-- }()
			if p.depth > maxDepth {
				return nil, &SyntaxError{t.pos, "expression nested too deeply"}
			}
			x, err := p.or()
			if err != nil {
				return nil, err
			}
			if c := p.next(); c.kind != "op" || c.text != ")" {
				return nil, &SyntaxError{c.pos, "expected ')'"}
			}
			return x, nil
		}
	case "eof":
		return nil, &SyntaxError{t.pos, "unexpected end of expression"}
	}
	return nil, &SyntaxError{t.pos, fmt.Sprintf("unexpected %q", t.text)}
}
