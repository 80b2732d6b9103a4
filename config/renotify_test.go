package config

import (
	"strings"
	"testing"
	"time"
)

func TestRenotifyEvery(t *testing.T) {
	doc, err := Parse("r.xml", strings.NewReader(`<bergamot site="s">
		<command name="c" engine="dummy"/>
		<host name="h"><check-command command="c"/><notifications renotify-every="30m"/></host>
	</bergamot>`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Resolve(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Hosts[0].Notifications.RenotifyEvery; got != 30*time.Minute {
		t.Fatalf("renotify-every: got %s, want 30m", got)
	}
	doc, err = Parse("r.xml", strings.NewReader(`<bergamot site="s">
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
