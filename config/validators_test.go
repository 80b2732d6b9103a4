package config

import (
	"strings"
	"testing"
)

func resolveXML(t *testing.T, xml string) *Model {
	t.Helper()
	d, err := Parse("site.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Resolve(d)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidateCycles(t *testing.T) {
	m := resolveXML(t, `<bergamot site="s">
<host name="h1"/>
<cluster name="a">
  <condition>cluster 'b' and host 'h1'</condition>
  <resource name="r"><condition>resource 'r' on cluster 'a'</condition></resource>
</cluster>
<cluster name="b">
  <condition>cluster 'a'</condition>
</cluster>
<cluster name="fine"><condition>cluster 'a'</condition></cluster>
</bergamot>`)
	errs := ValidateCycles(m)
	got := errs.Error()
	for _, want := range []string{
		`site.xml:4`, `cluster "a" -> cluster "b" -> cluster "a"`,
		`site.xml:5`, `resource "r" on cluster "a" -> resource "r" on cluster "a"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
	if len(errs) != 2 {
		t.Fatalf("%d errors, want 2: %v", len(errs), errs)
	}
	if errs := ValidateCycles(resolveXML(t, `<bergamot site="s"><host name="h"/><cluster name="c"><condition>host 'h'</condition></cluster></bergamot>`)); len(errs) != 0 {
		t.Fatalf("no cycle, got %v", errs)
	}
}

func TestValidateFreshness(t *testing.T) {
	errs := ValidateFreshness(resolveXML(t, `<bergamot site="s">
<host name="h">
  <service name="ok"><parameter name="freshness">25h</parameter></service>
  <service name="bad"><parameter name="freshness">tomorrow</parameter></service>
  <trap name="t"><parameter name="freshness">1h</parameter><parameter name="freshness-status">purple</parameter></trap>
</host>
</bergamot>`))
	got := errs.Error()
	if len(errs) != 2 || !strings.Contains(got, `service "bad" on host "h"`) || !strings.Contains(got, `"tomorrow"`) ||
		!strings.Contains(got, `trap "t" on host "h"`) || !strings.Contains(got, "freshness-status") || !strings.Contains(got, "site.xml:5") {
		t.Fatalf("errors: %v", errs)
	}
}
