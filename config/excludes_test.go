package config

import (
	"fmt"
	"strings"
	"testing"
)

func periodsXML(n int, excludes func(i int) []string) string {
	var b strings.Builder
	b.WriteString(`<bergamot site="s">`)
	for i := range n {
		ex := excludes(i)
		fmt.Fprintf(&b, "\n"+`<time-period name="p%d" excludes="%s"><time-range>monday 00:00-24:00</time-range></time-period>`, i, strings.Join(ex, ","))
	}
	b.WriteString("\n</bergamot>")
	return b.String()
}

func resolveErr(t *testing.T, xml string) string {
	t.Helper()
	d, err := Parse("tp.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(d)
	if err == nil {
		return ""
	}
	return err.Error()
}

// Issue 19 item 4: ten time periods excluding each other (18 s per
// scheduling pass) are refused at apply, as are chains past the limits,
// with the file, line and limit.
func TestExcludeChainsAreBounded(t *testing.T) {
	all := periodsXML(10, func(i int) []string {
		var ex []string
		for j := range 10 {
			if j != i {
				ex = append(ex, fmt.Sprintf("p%d", j))
			}
		}
		return ex
	})
	if msg := resolveErr(t, all); !strings.Contains(msg, `tp.xml:2: time-period "p0": time periods exclude each other in a cycle: p0 -> p1 -> p0`) {
		t.Fatalf("mutual exclusions: %q", msg)
	}
	chain := func(n int) string {
		return periodsXML(n, func(i int) []string {
			if i == n-1 {
				return nil
			}
			return []string{fmt.Sprintf("p%d", i+1)}
		})
	}
	if msg := resolveErr(t, chain(MaxExcludeDepth+1)); msg != "" {
		t.Fatalf("a chain of %d levels is allowed: %s", MaxExcludeDepth, msg)
	}
	if msg := resolveErr(t, chain(MaxExcludeDepth+2)); !strings.Contains(msg, `time-period "p0": its exclusions are nested 9 deep: at most 8 levels are allowed (limit exclude-depth)`) {
		t.Fatalf("deep chain: %q", msg)
	}
	wide := periodsXML(MaxExcludedPeriods+2, func(i int) []string {
		if i > 0 {
			return nil
		}
		var ex []string
		for j := 1; j < MaxExcludedPeriods+2; j++ {
			ex = append(ex, fmt.Sprintf("p%d", j))
		}
		return ex
	})
	if msg := resolveErr(t, wide); !strings.Contains(msg, "it excludes 33 time periods directly or through others: at most 32 are allowed (limit excluded-periods)") {
		t.Fatalf("wide: %q", msg)
	}
}
