package virtual

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// funcNode is a function over members: all, any, N of ("of"), majority,
// quorum, count.
type funcNode struct {
	fn string
	x  node
	// n and cmp are the count and comparison of "N of" and count.
	n   int
	cmp string
	// as is the status when the test fails (majority: the critical
	// status); asWarn is majority's warning status.
	as, asWarn checks.Status
	hasAs      bool
	// countOf is the status count counts.
	countOf    checks.Status
	hasCountOf bool
}

var numberNames = []string{"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

func (n *funcNode) String() string {
	var b strings.Builder
	switch n.fn {
	case "all", "any", "majority", "quorum":
		b.WriteString(n.fn + " of " + n.x.String())
		if n.hasAs && (n.fn == "majority" || n.fn == "quorum") {
			b.WriteString(" as " + n.asWarn.String() + ", " + n.as.String())
		}
		return b.String()
	case "of":
		if n.n < len(numberNames) && n.n > 0 {
			b.WriteString(numberNames[n.n])
		} else {
			b.WriteString(strconv.Itoa(n.n))
		}
		b.WriteString(map[string]string{"==": "", ">=": " or more", "<=": " or less"}[n.cmp])
		b.WriteString(" of " + n.x.String())
	case "count":
		b.WriteString("count ")
		if n.hasCountOf {
			b.WriteString(n.countOf.String() + " ")
		}
		fmt.Fprintf(&b, "of %s is %s %d", n.x, n.cmp, n.n)
	}
	if n.hasAs {
		b.WriteString(" as " + n.as.String())
	}
	return b.String()
}

func (n *funcNode) refs(yield func(Ref)) { n.x.refs(yield) }

func (n *funcNode) eval(ctx context.Context, r Resolver) (result, error) {
	ms, leaves, err := operandMembers(ctx, r, n.x)
	if err != nil {
		return result{}, err
	}
	res := result{leaves: leaves, out: summary(ms, checks.StatusOK)}
	failed := checks.StatusCritical
	if n.hasAs {
		failed = n.as
	}
	switch n.fn {
	case "all":
		res.status = worst(ms)
	case "any":
		res.status = best(ms)
	case "majority", "quorum":
		res.status = n.majority(ms)
	case "of":
		res.status = checks.StatusOK
		if !compare(count(ms, checks.StatusOK), n.cmp, n.n) {
			res.status = failed
		}
	case "count":
		c := count(ms, n.countOf)
		res.status = checks.StatusOK
		if !compare(c, n.cmp, n.n) {
			res.status = failed
		}
		res.out = summary(ms, n.countOf)
		if n.countOf != checks.StatusOK {
			res.out += fmt.Sprintf(" (wanted %s %d)", n.cmp, n.n)
		}
	}
	return res, nil
}

// majority is Bergamot's rule: with more than two members all OK, OK;
// with more than half OK, the warning status; otherwise the critical one.
func (n *funcNode) majority(ms []Member) checks.Status {
	warn, crit := checks.StatusWarning, checks.StatusCritical
	if n.hasAs {
		warn, crit = n.asWarn, n.as
	}
	ok := count(ms, checks.StatusOK)
	switch {
	case len(ms) > 2 && ok == len(ms):
		return checks.StatusOK
	case ok*2 > len(ms):
		return warn
	}
	return crit
}

func count(ms []Member, want checks.Status) int {
	c := 0
	for _, m := range ms {
		if matches(m.Status, want) {
			c++
		}
	}
	return c
}

// caseNode is "case when X is S then T ... else E end": the first when
// whose expression has status S gives T, otherwise E.
type caseNode struct {
	whens []when
	els   checks.Status
}

type when struct {
	cond     node
	is, then checks.Status
}

func (n *caseNode) String() string {
	var b strings.Builder
	b.WriteString("case")
	for _, w := range n.whens {
		fmt.Fprintf(&b, " when %s is %s then %s", w.cond, w.is, w.then)
	}
	fmt.Fprintf(&b, " else %s end", n.els)
	return b.String()
}

func (n *caseNode) refs(yield func(Ref)) {
	for _, w := range n.whens {
		w.cond.refs(yield)
	}
}

func (n *caseNode) eval(ctx context.Context, r Resolver) (result, error) {
	var leaves []Member
	for _, w := range n.whens {
		res, err := w.cond.eval(ctx, r)
		if err != nil {
			return result{}, err
		}
		leaves = append(leaves, res.leaves...)
		if res.status == w.is {
			return result{status: w.then, leaves: leaves,
				out: fmt.Sprintf("%s is %s: %s", w.cond, w.is, summary(dedupe(res.leaves), checks.StatusOK))}, nil
		}
	}
	return result{status: n.els, leaves: leaves, out: "no case matched: " + summary(dedupe(leaves), checks.StatusOK)}, nil
}
