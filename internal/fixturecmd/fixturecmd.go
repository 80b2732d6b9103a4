// Package fixturecmd reads <command> definitions from Bergamot's own base
// templates (the shared fixtures), for engine tests that run them unchanged.
package fixturecmd

import (
	"encoding/xml"
	"os"
	"path"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

// Dir holds the base templates' command files, relative to the fixture set.
const Dir = "bergamot-config/base/templates/commands"

// Command is one <command> of the templates, as written (no inheritance).
type Command struct {
	Name     string `xml:"name,attr"`
	Engine   string `xml:"engine,attr"`
	Executor string `xml:"executor,attr"`
	Script   string `xml:"script"`
	Params   []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	} `xml:"parameter"`
}

// Load reads every command of the template file rel (under Dir) by name;
// it skips t when the fixture set is absent.
func Load(t testing.TB, rel string) map[string]Command {
	t.Helper()
	data, err := os.ReadFile(fixtures.Path(t, path.Join(Dir, rel)))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Commands []Command `xml:"command"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	out := map[string]Command{}
	for _, c := range doc.Commands {
		out[c.Name] = c
	}
	return out
}
