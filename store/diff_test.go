package store_test

import (
	"encoding/xml"
	"strings"
	"testing"
)

// TestDiffOfChangedHostIsWellFormed: the dry-run diff of an overlay that
// changes one host shows the host's opening and closing tags, so the
// kept and added lines ("  " and "+ ") read as well-formed XML, and lines
// that did not change are marked as context, not as additions.
func TestDiffOfChangedHostIsWellFormed(t *testing.T) {
	s := newSite(t)
	base := `<bergamot site="t">
<command name="dummy" engine="dummy"><parameter name="output">ok</parameter></command>
<host name="qa-web1" address="127.0.0.1"><check-command command="dummy"/>
<service name="a"><check-command command="dummy"/></service>
<service name="b"><check-command command="dummy"/></service>
<service name="c"><check-command command="dummy"/></service>
<service name="d"><check-command command="dummy"/></service>
<service name="e"><check-command command="dummy"/></service>
</host>
</bergamot>`
	s.mustApply(parse(t, base))
	res := s.mustApply(parse(t, strings.Replace(base, `address="127.0.0.1"`, `address="127.0.0.2"`, 1)))
	if res.Changed != 1 {
		t.Fatalf("changed = %d, want 1; diff:\n%s", res.Changed, res.Diff)
	}
	lines := strings.Split(strings.TrimRight(res.Diff, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "changed host") {
		t.Fatalf("first line %q, want the change header; diff:\n%s", lines[0], res.Diff)
	}
	var after, before strings.Builder
	var plus, minus int
	for _, l := range lines[1:] {
		if len(l) < 2 {
			t.Fatalf("diff line %q has no marker; diff:\n%s", l, res.Diff)
		}
		mark, text := l[:2], l[2:]
		if text == "..." {
			continue
		}
		switch mark {
		case "+ ":
			plus++
			after.WriteString(text + "\n")
		case "- ":
			minus++
			before.WriteString(text + "\n")
		case "  ":
			after.WriteString(text + "\n")
			before.WriteString(text + "\n")
		default:
			t.Fatalf("diff line %q has marker %q; diff:\n%s", l, mark, res.Diff)
		}
	}
	if plus == 0 || minus == 0 || plus > 2 || minus > 2 {
		t.Errorf("%d added and %d removed lines for one changed address; diff:\n%s", plus, minus, res.Diff)
	}
	for name, side := range map[string]string{"after": after.String(), "before": before.String()} {
		if !strings.Contains(side, "</host>") {
			t.Errorf("%s side has no closing </host>; diff:\n%s", name, res.Diff)
		}
		if err := wellFormed(side); err != nil {
			t.Errorf("%s side of the diff is not well-formed XML: %v\n%s", name, err, side)
		}
	}
	if !strings.Contains(after.String(), "127.0.0.2") || !strings.Contains(before.String(), "127.0.0.1") {
		t.Errorf("address change not shown; diff:\n%s", res.Diff)
	}
}

// wellFormed checks the start and end tags balance (elements elided as
// "..." are whole, so the shown lines still nest).
func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader("<r>" + s + "</r>"))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}
