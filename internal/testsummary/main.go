// Command testsummary reads `go test -json` on stdin and prints what plain
// `go test` would (one line per package, the full output of failed tests and
// of packages that did not build), then one line counting skipped tests:
// those skipped because the shared fixture set is missing (see
// internal/fixtures) and the others. It exits 1 when a test or a build
// failed. `make test-go` pipes the tests through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

// summary is what the stream said, by the end.
type summary struct {
	failed       bool
	fixtureSkips int
	otherSkips   int
	missing      map[string]bool
}

func main() {
	s, err := run(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if s.failed {
		os.Exit(1)
	}
}

// printer writes to w and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// run copies the stream to out as plain `go test` output and returns the tally.
func run(r io.Reader, out io.Writer) (summary, error) {
	w := &printer{w: out}
	s := summary{missing: map[string]bool{}}
	// pending holds each running test's output until it ends: it is shown
	// only when the test fails (or its package does without it ending).
	pending := map[string]map[string][]string{}
	flush := func(pkg, test string) {
		for _, line := range pending[pkg][test] {
			if !strings.HasPrefix(line, "=== ") {
				w.printf("%s", line)
			}
		}
		delete(pending[pkg], test)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			w.printf("%s\n", sc.Text()) // not an event: go test's own stderr, pass it on
			continue
		}
		switch {
		case e.Action == "build-output":
			w.printf("%s", e.Output)
		case e.Action == "build-fail":
			s.failed = true
		case e.Test == "" && e.Action == "output":
			if e.Output != "PASS\n" {
				w.printf("%s", e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			s.failed = true
			for test := range pending[e.Package] {
				flush(e.Package, test)
			}
			delete(pending, e.Package)
		case e.Test == "" && (e.Action == "pass" || e.Action == "skip"):
			delete(pending, e.Package)
		case e.Action == "output":
			if pending[e.Package] == nil {
				pending[e.Package] = map[string][]string{}
			}
			pending[e.Package][e.Test] = append(pending[e.Package][e.Test], e.Output)
		case e.Action == "fail":
			s.failed = true
			flush(e.Package, e.Test)
		case e.Action == "skip" && strings.HasSuffix(e.Package, "/internal/fixtures"):
			// The helper's own test of its skip is not a missing fixture.
			delete(pending[e.Package], e.Test)
		case e.Action == "skip":
			if why, ok := fixtureSkip(pending[e.Package][e.Test]); ok {
				s.fixtureSkips++
				s.missing[why] = true
			} else {
				s.otherSkips++
			}
			delete(pending[e.Package], e.Test)
		case e.Action == "pass":
			delete(pending[e.Package], e.Test)
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	w.printf("skipped: %d tests because the shared fixture set is missing, %d for other reasons (go test -v says why)\n", s.fixtureSkips, s.otherSkips)
	if len(s.missing) > 0 {
		byDir := map[string][]string{}
		for what := range s.missing {
			rel, dir, _ := strings.Cut(what, " not found under ")
			byDir[dir] = append(byDir[dir], rel)
		}
		for dir, rels := range byDir {
			sort.Strings(rels)
			w.printf("  missing under %s: %s\n", dir, strings.Join(rels, ", "))
		}
		w.printf("  set %s to the fixture set (by default ../shared/fixtures beside the repository)\n", fixtures.Env)
	}
	return s, w.err
}

// fixtureSkip finds the internal/fixtures skip message in a test's output
// and returns what it says is missing ("PATH not found under DIR").
func fixtureSkip(output []string) (string, bool) {
	for _, line := range output {
		if _, msg, ok := strings.Cut(line, fixtures.Missing+": "); ok {
			what, _, _ := strings.Cut(strings.TrimSpace(msg), " (")
			return what, true
		}
	}
	return "", false
}
