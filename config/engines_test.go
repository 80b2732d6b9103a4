package config

import (
	"strings"
	"testing"
)

func resolveSite(t *testing.T, xml string) (*Model, error) {
	t.Helper()
	doc, err := Parse("site.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return Resolve(doc)
}

// TestUnusedTemplateCycleIsAnError: a cycle of extends can never resolve,
// so it is an error even when no concrete object uses the templates
// (it used to be only a warning).
func TestUnusedTemplateCycleIsAnError(t *testing.T) {
	_, err := resolveSite(t, `<bergamot site="s">
  <host name="a" template="yes" extends="b"/>
  <host name="b" template="yes" extends="a"/>
</bergamot>`)
	if err == nil || !strings.Contains(err.Error(), "site.xml:2: host \"a\": cycle in extends: a -> b -> a") {
		t.Fatalf("err = %v, want the cycle at site.xml:2", err)
	}
	if strings.Count(err.Error(), "cycle") != 1 {
		t.Errorf("cycle reported more than once: %v", err)
	}
}

// TestUnknownEngineWarns: a check whose command names an engine no worker
// offers validates with one warning per engine naming the commands; an
// unused command is not warned about.
func TestUnknownEngineWarns(t *testing.T) {
	m, err := resolveSite(t, `<bergamot site="s">
  <command name="db" engine="teleport"/>
  <command name="db2" engine="teleport"/>
  <command name="unused" engine="agent"/>
  <command name="ok" engine="dummy"/>
  <host name="h" address="127.0.0.1">
    <check-command command="ok"/>
    <service name="a"><check-command command="db"/></service>
    <service name="b"><check-command command="db2"/></service>
    <service name="c"><check-command command="db"/></service>
  </host>
</bergamot>`)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Warnings) != 1 {
		t.Fatalf("warnings = %v, want one for teleport", m.Warnings)
	}
	w := m.Warnings[0].Error()
	for _, s := range []string{"site.xml:2:", `engine "teleport" is not offered by any worker`, "3 check(s) using command(s) db, db2"} {
		if !strings.Contains(w, s) {
			t.Errorf("warning %q lacks %q", w, s)
		}
	}
}
