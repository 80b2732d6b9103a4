package virtual

import (
	"context"
	"fmt"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// node is one part of a parsed condition.
type node interface {
	eval(ctx context.Context, r Resolver) (result, error)
	refs(yield func(Ref))
	String() string
}

// result is a node's status, the real checks it looked at, and an
// explanation when the node has a better one than the generic summary.
type result struct {
	status checks.Status
	leaves []Member
	out    string
}

// Eval computes the condition's verdict from the current state of the
// checks it refers to. It fails when the resolver fails (for example on
// a reference that no longer exists).
func (e *Expr) Eval(ctx context.Context, r Resolver) (Verdict, error) {
	res, err := e.root.eval(ctx, r)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Status: res.status, Hard: true, Output: res.out}
	for _, m := range res.leaves {
		v.Hard = v.Hard && m.Hard
	}
	if v.Output == "" {
		v.Output = summary(dedupe(res.leaves), checks.StatusOK)
	}
	return v, nil
}

// summary explains members: "2 of 3 members OK: web1 CRITICAL".
func summary(ms []Member, of checks.Status) string {
	if len(ms) == 0 {
		return "no members"
	}
	n := 0
	var others []string
	for _, m := range ms {
		if matches(m.Status, of) {
			n++
		} else {
			others = append(others, m.label()+" "+m.Status.String())
		}
	}
	s := fmt.Sprintf("%d of %d members %s", n, len(ms), of)
	if len(others) > 0 && of == checks.StatusOK {
		s += ": " + strings.Join(others, ", ")
	}
	return s
}

// matches reports whether s counts as want; OK also counts the OK-like
// statuses (INFO, PENDING, ACTION).
func matches(s, want checks.Status) bool {
	if want == checks.StatusOK {
		return s.OK()
	}
	return s == want
}

func dedupe(ms []Member) []Member {
	out := ms[:0:0]
	seen := map[string]bool{}
	for _, m := range ms {
		k := m.ID + "\x00" + m.Name
		if !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

func worst(ms []Member) checks.Status {
	if len(ms) == 0 {
		return checks.StatusUnknown
	}
	s := ms[0].Status
	for _, m := range ms[1:] {
		if m.Status.Worse(s) {
			s = m.Status
		}
	}
	return s
}

func best(ms []Member) checks.Status {
	if len(ms) == 0 {
		return checks.StatusUnknown
	}
	s := ms[0].Status
	for _, m := range ms[1:] {
		if s.Worse(m.Status) {
			s = m.Status
		}
	}
	return s
}

// refNode is a reference; on its own it is the worst of its members.
type refNode struct{ ref Ref }

func (n *refNode) String() string       { return n.ref.String() }
func (n *refNode) refs(yield func(Ref)) { yield(n.ref) }

func (n *refNode) members(ctx context.Context, r Resolver) ([]Member, error) {
	ms, err := r.Resolve(ctx, n.ref)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", n.ref, err)
	}
	return ms, nil
}

func (n *refNode) eval(ctx context.Context, r Resolver) (result, error) {
	ms, err := n.members(ctx, r)
	if err != nil {
		return result{}, err
	}
	return result{status: worst(ms), leaves: ms}, nil
}

// binNode is and (worst), or (best) or xor (OK when exactly one side is).
type binNode struct {
	op   string
	l, r node
}

func (n *binNode) String() string { return "(" + n.l.String() + " " + n.op + " " + n.r.String() + ")" }

func (n *binNode) refs(yield func(Ref)) {
	n.l.refs(yield)
	n.r.refs(yield)
}

func (n *binNode) eval(ctx context.Context, r Resolver) (result, error) {
	l, err := n.l.eval(ctx, r)
	if err != nil {
		return result{}, err
	}
	rr, err := n.r.eval(ctx, r)
	if err != nil {
		return result{}, err
	}
	res := result{leaves: append(append([]Member(nil), l.leaves...), rr.leaves...)}
	sides := []Member{{Status: l.status}, {Status: rr.status}}
	switch n.op {
	case "and":
		res.status = worst(sides)
	case "or":
		res.status = best(sides)
	default: // xor
		res.status = checks.StatusCritical
		if l.status.OK() != rr.status.OK() {
			res.status = checks.StatusOK
		}
	}
	return res, nil
}

// notNode turns an OK status into CRITICAL and anything else into OK.
type notNode struct{ x node }

func (n *notNode) String() string       { return "not " + n.x.String() }
func (n *notNode) refs(yield func(Ref)) { n.x.refs(yield) }

func (n *notNode) eval(ctx context.Context, r Resolver) (result, error) {
	res, err := n.x.eval(ctx, r)
	if err != nil {
		return result{}, err
	}
	if res.status.OK() {
		res.status = checks.StatusCritical
	} else {
		res.status = checks.StatusOK
	}
	res.out = ""
	return res, nil
}

// listNode is "[a, b, ...]", only as the operand of a function.
type listNode struct{ items []node }

func (n *listNode) String() string {
	parts := make([]string, len(n.items))
	for i, it := range n.items {
		parts[i] = it.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (n *listNode) refs(yield func(Ref)) {
	for _, it := range n.items {
		it.refs(yield)
	}
}

func (n *listNode) eval(ctx context.Context, r Resolver) (result, error) {
	ms, leaves, err := operandMembers(ctx, r, n)
	if err != nil {
		return result{}, err
	}
	return result{status: worst(ms), leaves: leaves}, nil
}

// operandMembers lists what a function counts: a reference's members, a
// list's items (references flattened, anything else as one member named
// by its text), or a single member for any other expression. It also
// returns the real checks looked at.
func operandMembers(ctx context.Context, r Resolver, x node) (members, leaves []Member, err error) {
	items := []node{x}
	if l, ok := x.(*listNode); ok {
		items = l.items
	}
	for _, it := range items {
		if ref, ok := it.(*refNode); ok {
			ms, err := ref.members(ctx, r)
			if err != nil {
				return nil, nil, err
			}
			members = append(members, ms...)
			leaves = append(leaves, ms...)
			continue
		}
		res, err := it.eval(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		hard := true
		for _, m := range res.leaves {
			hard = hard && m.Hard
		}
		members = append(members, Member{Name: it.String(), Status: res.status, Hard: hard})
		leaves = append(leaves, res.leaves...)
	}
	return members, leaves, nil
}

// compare applies a comparison operator.
func compare(a int, cmp string, b int) bool {
	switch cmp {
	case "==":
		return a == b
	case "!=":
		return a != b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	}
	return a >= b
}
