package script

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

const templates = "/work/shared/fixtures/bergamot-config/base/templates/commands"

// templateCommand is one <command> from Bergamot's base templates.
type templateCommand struct {
	Name   string `xml:"name,attr"`
	Script string `xml:"script"`
	Params []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:",chardata"`
	} `xml:"parameter"`
}

// loadCommands reads every command in a template file by name.
func loadCommands(t *testing.T, rel string) map[string]templateCommand {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(templates, rel))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Commands []templateCommand `xml:"command"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	out := map[string]templateCommand{}
	for _, c := range doc.Commands {
		out[c.Name] = c
	}
	return out
}

// request builds a check request for a template command: its own parameter
// defaults overlaid with params.
func request(cmd templateCommand, params map[string]string) *checks.Request {
	p := map[string]string{}
	for _, kv := range cmd.Params {
		p[kv.Name] = strings.TrimSpace(kv.Value)
	}
	for k, v := range params {
		p[k] = v
	}
	return &checks.Request{CheckID: "c-" + cmd.Name, Engine: "script", Script: cmd.Script, Parameters: p, Timeout: 10 * time.Second}
}

// freePort returns a loopback TCP port that was free a moment ago.

// execute runs a request with a deadline.
func execute(t *testing.T, e *Engine, req *checks.Request) *checks.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), req.Timeout)
	defer cancel()
	res, err := e.Execute(ctx, req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return res
}

// perf returns the perfdata item with that label, failing if absent.
func perf(t *testing.T, res *checks.Result, label string) checks.Perfdata {
	t.Helper()
	for _, p := range res.Perfdata {
		if p.Label == label {
			return p
		}
	}
	t.Fatalf("no perfdata %q in %+v", label, res.Perfdata)
	return checks.Perfdata{}
}
