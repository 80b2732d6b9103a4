package script

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/fixturecmd"
)

// templateCommand is one <command> from Bergamot's base templates.
type templateCommand = fixturecmd.Command

// loadCommands reads every command in a template file by name.
func loadCommands(t *testing.T, rel string) map[string]templateCommand {
	return fixturecmd.Load(t, rel)
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
