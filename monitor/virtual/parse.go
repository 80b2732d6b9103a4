package virtual

import (
	"fmt"
	"strconv"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// SyntaxError is a condition that does not parse: where, what the parser
// wanted there, and what it found.
type SyntaxError struct {
	Column   int // 1-based, in characters
	Expected string
	Found    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("column %d: expected %s, found %s", e.Column, e.Expected, e.Found)
}

// Expr is a parsed condition.
type Expr struct {
	root node
}

// Parse parses a virtual-check condition. Operators bind, loosest first:
// or (||, |), xor (^), and (&&, &), not (!).
func Parse(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.fail(`an operator ("and", "or", "xor") or the end`)
	}
	return &Expr{root: n}, nil
}

// String renders the condition canonically (every binary operation in
// parentheses); Parse accepts what it returns.
func (e *Expr) String() string { return e.root.String() }

// References lists every check the condition refers to, once each, in
// order of first appearance.
func (e *Expr) References() []Ref {
	var out []Ref
	e.root.refs(func(r Ref) {
		for _, o := range out {
			if o == r {
				return
			}
		}
		out = append(out, r)
	})
	return out
}

type parser struct {
	toks  []token
	pos   int
	depth int
}

// maxDepth bounds nesting (parentheses, lists, not, functions) so a
// hostile condition cannot exhaust the stack.
const maxDepth = 64

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) fail(expected string) error {
	t := p.peek()
	return &SyntaxError{Column: t.pos, Expected: expected, Found: t.describe()}
}

// accept consumes the next token if it is one of the given words/symbols.
func (p *parser) accept(texts ...string) (string, bool) {
	t := p.peek()
	if t.kind != tokWord && t.kind != tokSym {
		return "", false
	}
	for _, s := range texts {
		if t.text == s {
			p.pos++
			return s, true
		}
	}
	return "", false
}

func (p *parser) expect(text string) error {
	if _, ok := p.accept(text); !ok {
		return p.fail(fmt.Sprintf("%q", text))
	}
	return nil
}

func (p *parser) parseBinary(op string, syms []string, sub func() (node, error)) (node, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		if _, ok := p.accept(syms...); !ok {
			return l, nil
		}
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &binNode{op: op, l: l, r: r}
	}
}

func (p *parser) parseOr() (node, error) {
	return p.parseBinary("or", []string{"or", "||", "|"}, p.parseXor)
}

func (p *parser) parseXor() (node, error) {
	return p.parseBinary("xor", []string{"xor", "^"}, p.parseAnd)
}

func (p *parser) parseAnd() (node, error) {
	return p.parseBinary("and", []string{"and", "&&", "&"}, p.parseUnary)
}

// enter counts one more level of nesting; the caller decrements depth.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.fail(fmt.Sprintf("at most %d levels of nesting", maxDepth))
	}
	return nil
}

func (p *parser) parseUnary() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if _, ok := p.accept("not", "!"); ok {
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &notNode{x: x}, nil
	}
	return p.parsePrimary()
}

var numberWords = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}

const expectedPrimary = "a reference (host, service, trap, resource, cluster, hosts/services/traps in pool), a function (all, any, one..nine, majority, quorum, count, case), \"not\" or \"(\""

func (p *parser) parsePrimary() (node, error) {
	t := p.peek()
	if _, ok := p.accept("("); ok {
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return x, nil
	}
	if t.kind == tokNumber {
		return p.parseNOf()
	}
	if t.kind != tokWord {
		return nil, p.fail(expectedPrimary)
	}
	switch t.text {
	case "host", "service", "trap", "resource", "cluster", "hosts", "services", "traps":
		return p.parseRef()
	case "all", "any":
		p.next()
		p.accept("of")
		x, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return &funcNode{fn: t.text, x: x}, nil
	case "majority", "quorum":
		return p.parseMajority()
	case "count":
		return p.parseCount()
	case "case":
		return p.parseCase()
	}
	if _, ok := numberWords[t.text]; ok {
		return p.parseNOf()
	}
	return nil, p.fail(expectedPrimary)
}

// parseOperand parses what a function applies to: a list or a primary.
func (p *parser) parseOperand() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if _, ok := p.accept("["); !ok {
		return p.parsePrimary()
	}
	l := &listNode{}
	for {
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, x)
		if _, ok := p.accept(","); ok {
			continue
		}
		if _, ok := p.accept("]"); ok {
			return l, nil
		}
		return nil, p.fail(`"," or "]"`)
	}
}

func (p *parser) parseStatus() (checks.Status, error) {
	t := p.peek()
	if t.kind == tokWord {
		if s, err := checks.ParseStatus(t.text); err == nil {
			p.next()
			return s, nil
		}
	}
	return 0, p.fail("a status (ok, warning, critical, unknown, ...)")
}

func (p *parser) parseNOf() (node, error) {
	t := p.next()
	n, ok := numberWords[t.text]
	if t.kind == tokNumber {
		v, err := strconv.Atoi(t.text)
		if err != nil || v > 1<<20 {
			p.pos--
			return nil, p.fail("a count up to 1048576")
		}
		n = v
	} else if !ok {
		p.pos--
		return nil, p.fail("a count")
	}
	f := &funcNode{fn: "of", n: n, cmp: "=="}
	if _, ok := p.accept("or"); ok {
		w, ok := p.accept("more", "less")
		if !ok {
			return nil, p.fail(`"more" or "less"`)
		}
		f.cmp = map[string]string{"more": ">=", "less": "<="}[w]
	}
	p.accept("of")
	x, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	f.x = x
	if _, ok := p.accept("as"); ok {
		if f.as, err = p.parseStatus(); err != nil {
			return nil, err
		}
		f.hasAs = true
	}
	return f, nil
}

func (p *parser) parseMajority() (node, error) {
	fn := p.next().text
	p.accept("of")
	x, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	f := &funcNode{fn: fn, x: x}
	if _, ok := p.accept("as"); ok {
		if f.asWarn, err = p.parseStatus(); err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		if f.as, err = p.parseStatus(); err != nil {
			return nil, err
		}
		f.hasAs = true
	}
	return f, nil
}

var comparisons = map[string]string{
	"==": "==", "=": "==", "eq": "==", "!=": "!=", "ne": "!=", "<": "<", "lt": "<",
	"<=": "<=", "lteq": "<=", ">": ">", "gt": ">", ">=": ">=", "gteq": ">=",
}

func (p *parser) parseCount() (node, error) {
	p.next()
	f := &funcNode{fn: "count", countOf: checks.StatusOK}
	if t := p.peek(); t.kind == tokWord && t.text != "of" {
		if s, err := checks.ParseStatus(t.text); err == nil {
			p.next()
			f.countOf, f.hasCountOf = s, true
		}
	}
	p.accept("of")
	x, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	f.x = x
	p.accept("is")
	t := p.peek()
	cmp, ok := comparisons[t.text]
	if !ok || (t.kind != tokWord && t.kind != tokSym) {
		return nil, p.fail("a comparison (==, !=, <, <=, >, >=, eq, ne, lt, lteq, gt, gteq)")
	}
	p.next()
	f.cmp = cmp
	if t := p.peek(); t.kind != tokNumber {
		return nil, p.fail("a number")
	}
	if f.n, err = strconv.Atoi(p.peek().text); err != nil || f.n > 1<<20 {
		return nil, p.fail("a number up to 1048576")
	}
	p.next()
	if _, ok := p.accept("as"); ok {
		if f.as, err = p.parseStatus(); err != nil {
			return nil, err
		}
		f.hasAs = true
	}
	return f, nil
}

func (p *parser) parseCase() (node, error) {
	p.next()
	c := &caseNode{}
	for {
		if _, ok := p.accept("when"); !ok {
			break
		}
		var w when
		var err error
		if w.cond, err = p.parseOr(); err != nil {
			return nil, err
		}
		if err := p.expect("is"); err != nil {
			return nil, err
		}
		if w.is, err = p.parseStatus(); err != nil {
			return nil, err
		}
		if err := p.expect("then"); err != nil {
			return nil, err
		}
		if w.then, err = p.parseStatus(); err != nil {
			return nil, err
		}
		c.whens = append(c.whens, w)
	}
	if len(c.whens) == 0 {
		return nil, p.fail(`"when"`)
	}
	if err := p.expect("else"); err != nil {
		return nil, p.fail(`"when" or "else"`)
	}
	var err error
	if c.els, err = p.parseStatus(); err != nil {
		return nil, err
	}
	if err := p.expect("end"); err != nil {
		return nil, err
	}
	return c, nil
}

// parseRef parses a reference, its keyword still next.
func (p *parser) parseRef() (node, error) {
	kw := p.next().text
	switch kw {
	case "hosts", "services", "traps":
		if err := p.expectInPool(); err != nil {
			return nil, err
		}
		pool, err := p.name("a pool name")
		if err != nil {
			return nil, err
		}
		return &refNode{ref: Ref{Kind: RefKind(kw[:len(kw)-1]), Pool: pool}}, nil
	}
	ref := Ref{Kind: RefKind(kw)}
	if err := p.nameOrID(&ref.Name, &ref.ID, "a "+kw+" name or id"); err != nil {
		return nil, err
	}
	switch ref.Kind {
	case RefService, RefTrap:
		if _, ok := p.accept("on"); !ok {
			if ref.ID != "" {
				break
			}
			return nil, p.fail(`"on"`)
		}
		if _, ok := p.accept("hosts"); ok {
			if err := p.expectInPool(); err != nil {
				return nil, err
			}
			pool, err := p.name("a pool name")
			if err != nil {
				return nil, err
			}
			ref.Pool = pool
			break
		}
		if err := p.expect("host"); err != nil {
			return nil, p.fail(`"host" or "hosts"`)
		}
		if err := p.nameOrID(&ref.Host, &ref.HostID, "a host name or id"); err != nil {
			return nil, err
		}
	case RefResource:
		if _, ok := p.accept("on"); !ok {
			if ref.ID != "" {
				break
			}
			return nil, p.fail(`"on"`)
		}
		if err := p.expect("cluster"); err != nil {
			return nil, err
		}
		if err := p.nameOrID(&ref.Cluster, &ref.ClusterID, "a cluster name or id"); err != nil {
			return nil, err
		}
	}
	return &refNode{ref: ref}, nil
}

func (p *parser) expectInPool() error {
	if err := p.expect("in"); err != nil {
		return err
	}
	return p.expect("pool")
}

func (p *parser) name(what string) (string, error) {
	if t := p.peek(); t.kind == tokString && t.text != "" {
		p.next()
		return t.text, nil
	}
	return "", p.fail("a non-empty " + what[2:] + " in quotes")
}

func (p *parser) nameOrID(name, id *string, what string) error {
	switch t := p.peek(); {
	case t.kind == tokString && t.text != "":
		*name = t.text
	case t.kind == tokUUID:
		*id = t.text
	default:
		return p.fail(what + " ('name' or a UUID)")
	}
	p.next()
	return nil
}
