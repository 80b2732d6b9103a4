package config

import (
	"strings"
	"testing"
	"time"
)

// TestMinIntervalRefusesTooFrequentChecks: every="1ms" (a thousand jobs a
// second for one check) is refused with the file, line, check and limit;
// the minimum itself is allowed.
func TestMinIntervalRefusesTooFrequentChecks(t *testing.T) {
	doc, err := Parse("sites/a.xml", strings.NewReader(`<bergamot site="a">
<service name="fast" template="yes"><schedule every="1s" retry-every="1s" changing-every="1s"/></service>
<host name="h" address="127.0.0.1">
	<service name="ok" extends="fast"/>
	<service name="storm"><schedule every="1ms"/></service>
</host>
<host name="t" address="127.0.0.1"><schedule retry-every="500ms"/></host>
</bergamot>`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Resolve(doc)
	if err != nil {
		t.Fatal(err)
	}
	errs := MinInterval(time.Second)(m)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`sites/a.xml:5: service "storm" on host "h": schedule every="1ms" is below the minimum check interval of 1s (limit min-interval, set by the operator)`,
		`sites/a.xml:7: host "t": schedule retry-every="500ms" is below the minimum check interval of 1s (limit min-interval, set by the operator)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if errs := MinInterval(time.Millisecond)(m); len(errs) != 0 {
		t.Fatalf("with a 1ms minimum: %v", errs)
	}
}
