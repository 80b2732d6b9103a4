package config

import (
	"strings"
	"testing"
	"time"
)

// resolveText parses and resolves a configuration that must be valid.
func resolveText(t *testing.T, xml string) *Model {
	t.Helper()
	doc, err := Parse("r.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Resolve(doc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRenotifyEvery(t *testing.T) {
	m := resolveText(t, `<bergamot site="s">
		<command name="c" engine="dummy"/>
		<host name="h"><check-command command="c"/><notifications renotify-every="30m"/></host>
	</bergamot>`)
	if got := m.Hosts[0].Notifications.RenotifyEvery; got != 30*time.Minute {
		t.Fatalf("renotify-every: got %s, want 30m", got)
	}
	doc, err := Parse("r.xml", strings.NewReader(`<bergamot site="s">
		<command name="c" engine="dummy"/>
		<host name="h"><check-command command="c"/><notifications renotify-every="soon"/></host>
	</bergamot>`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(doc); err == nil || !strings.Contains(err.Error(), `renotify-every "soon" is not an interval`) || !strings.Contains(err.Error(), "r.xml:3") {
		t.Fatalf("bad renotify-every: %v", err)
	}
}

// TestRenotifyZeroOverridesTemplate: renotify-every="0" on an object
// notifies once even though the template it extends re-notifies.
func TestRenotifyZeroOverridesTemplate(t *testing.T) {
	m := resolveText(t, `<bergamot site="s">
		<command name="c" engine="dummy"/>
		<host name="base" template="yes"><check-command command="c"/><notifications renotify-every="1h"/></host>
		<host name="loud" extends="base"/>
		<host name="once" extends="base"><notifications renotify-every="0"/></host>
	</bergamot>`)
	got := map[string]time.Duration{}
	for _, h := range m.Hosts {
		got[h.Name] = h.Notifications.RenotifyEvery
	}
	if got["loud"] != time.Hour || got["once"] != 0 {
		t.Fatalf("renotify-every: loud %s (want 1h), once %s (want 0)", got["loud"], got["once"])
	}
}
