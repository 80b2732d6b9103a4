package store

import (
	"fmt"
	"strings"

	"github.com/bergamot-monitoring/bergamot/config"
)

// diffContext is how many unchanged lines are shown around a change.
const diffContext = 2

// renderDiff writes a readable diff of the changes. Added and removed
// objects are shown whole, prefixed "+ " or "- ". A changed object is a
// line diff of its canonical XML: changed lines are prefixed "- "/"+ ",
// unchanged lines near a change and the object's opening and closing tags
// are prefixed "  ", and skipped unchanged lines show as "  ...", so every
// element shown is closed.
func renderDiff(changes []config.Change) string {
	var b strings.Builder
	for _, ch := range changes {
		fmt.Fprintf(&b, "%s %s %q\n", ch.Op, ch.Kind, ch.Name)
		before, after := diffLines(ch.Before), diffLines(ch.After)
		switch {
		case len(before) == 0:
			writePrefixed(&b, "+ ", after)
		case len(after) == 0:
			writePrefixed(&b, "- ", before)
		default:
			writeLineDiff(&b, before, after)
		}
	}
	return b.String()
}

func diffLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func writePrefixed(b *strings.Builder, prefix string, lines []string) {
	for _, l := range lines {
		b.WriteString(prefix + l + "\n")
	}
}

// diffOp is one line of a line diff: ' ' kept, '-' removed, '+' added.
type diffOp struct {
	op   byte
	line string
}

// lineDiff is the longest-common-subsequence diff of a and b.
func lineDiff(a, b []string) []diffOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}

// writeLineDiff writes the diff of a changed object with context.
func writeLineDiff(b *strings.Builder, before, after []string) {
	ops := lineDiff(before, after)
	show := make([]bool, len(ops))
	for k, o := range ops {
		if o.op == ' ' {
			continue
		}
		for c := max(0, k-diffContext); c <= min(len(ops)-1, k+diffContext); c++ {
			show[c] = true
		}
	}
	show[0], show[len(ops)-1] = true, true // the object's opening and closing tags
	balance(ops, show)
	skipped := false
	for k, o := range ops {
		if !show[k] {
			if !skipped {
				b.WriteString("  ...\n")
			}
			skipped = true
			continue
		}
		skipped = false
		b.WriteString(string(o.op) + " " + o.line + "\n")
	}
}

// balance extends show so the shown lines of each side nest: every shown
// opening tag has its closing tag shown and the reverse, and the elements
// enclosing a changed line are shown. Tags are recognised per line, as
// config.Export writes them (one element or start/end tag per line).
func balance(ops []diffOp, show []bool) {
	pair := make([]int, len(ops))
	for k := range pair {
		pair[k] = -1
	}
	for _, side := range []byte{'-', '+'} {
		var stack []int
		for k, o := range ops {
			if o.op != ' ' && o.op != side {
				continue
			}
			if o.op == side {
				for _, a := range stack {
					show[a] = true
				}
			}
			switch tagKind(o.line) {
			case 1:
				stack = append(stack, k)
			case -1:
				if len(stack) > 0 {
					open := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					if pair[open] == -1 {
						pair[open], pair[k] = k, open
					}
				}
			}
		}
	}
	for k := range ops {
		if show[k] && pair[k] >= 0 {
			show[pair[k]] = true
		}
	}
}

// tagKind is 1 for a line holding only an opening tag, -1 for a closing
// tag, 0 otherwise (a whole element, text).
func tagKind(line string) int {
	t := strings.TrimSpace(line)
	switch {
	case strings.HasPrefix(t, "</"):
		return -1
	case strings.HasPrefix(t, "<") && !strings.HasPrefix(t, "<!") && !strings.HasPrefix(t, "<?") &&
		!strings.HasSuffix(t, "/>") && !strings.Contains(t, "</"):
		return 1
	}
	return 0
}
