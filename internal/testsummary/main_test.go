package main

import (
	"strings"
	"testing"
)

// stream is a `go test -json` run: one passing package with a test skipped
// for a missing fixture and one skipped for another reason, one package
// with a failing test, one that did not build.
const stream = `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestOK"}
{"Action":"output","Package":"a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"a","Test":"TestOK","Output":"    ok_test.go:1: quiet on success\n"}
{"Action":"pass","Package":"a","Test":"TestOK"}
{"Action":"run","Package":"a","Test":"TestFixture"}
{"Action":"output","Package":"a","Test":"TestFixture","Output":"    x_test.go:9: shared fixture set missing: nrpe/hexdumps.txt not found under /nowhere (set BERGAMOT_FIXTURES to the fixture set; by default it is ../shared/fixtures beside the repository)\n"}
{"Action":"skip","Package":"a","Test":"TestFixture"}
{"Action":"run","Package":"a","Test":"TestPeer"}
{"Action":"output","Package":"a","Test":"TestPeer","Output":"    y_test.go:3: snmpd not installed\n"}
{"Action":"skip","Package":"a","Test":"TestPeer"}
{"Action":"output","Package":"a","Output":"PASS\n"}
{"Action":"output","Package":"a","Output":"ok  \ta\t0.1s\n"}
{"Action":"pass","Package":"a"}
{"Action":"run","Package":"b","Test":"TestBad"}
{"Action":"output","Package":"b","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"b","Test":"TestBad","Output":"    bad_test.go:7: got 1, want 2\n"}
{"Action":"output","Package":"b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"b","Test":"TestBad"}
{"Action":"output","Package":"b","Output":"FAIL\tb\t0.2s\n"}
{"Action":"fail","Package":"b"}
{"ImportPath":"c","Action":"build-output","Output":"c/c.go:1:1: syntax error\n"}
{"ImportPath":"c","Action":"build-fail"}
`

func TestRun(t *testing.T) {
	var out strings.Builder
	s, err := run(strings.NewReader(stream), &out)
	if err != nil {
		t.Fatal(err)
	}
	if !s.failed || s.fixtureSkips != 1 || s.otherSkips != 1 {
		t.Errorf("summary = failed %v, fixture skips %d, other skips %d; want true, 1, 1", s.failed, s.fixtureSkips, s.otherSkips)
	}
	got := out.String()
	for _, want := range []string{
		"ok  \ta\t0.1s\n",
		"    bad_test.go:7: got 1, want 2\n--- FAIL: TestBad (0.00s)\nFAIL\tb\t0.2s\n",
		"c/c.go:1:1: syntax error\n",
		"skipped: 1 tests because the shared fixture set is missing, 1 for other reasons",
		"missing under /nowhere: nrpe/hexdumps.txt\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"quiet on success", "=== RUN", "PASS\n", "snmpd not installed"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("output has %q:\n%s", unwanted, got)
		}
	}
}
