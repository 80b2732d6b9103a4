package probe

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

// stockModel resolves Bergamot's base configuration (without internal.xml's
// hosts) plus hosts built from the stock agent templates.
func stockModel(t *testing.T) *config.Model {
	t.Helper()
	base := fixtures.Path(t, "bergamot-config/base")
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		if e.Name() != "internal.xml" {
			paths = append(paths, filepath.Join(base, e.Name()))
		}
	}
	doc, err := config.LoadPaths(paths...)
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := config.Parse("hosts.xml", strings.NewReader(`<bergamot site="t">
		<host name="linux1" extends="linux-server-agent"/>
		<host name="nginx1" extends="nginx-server-agent"/>
		<host name="apache1" extends="apache-server-agent"/>
	</bergamot>`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := config.Resolve(doc.Merge(hosts))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStockCommandsHaveExecutors: every executor a stock engine="agent"
// command names is one this agent has.
func TestStockCommandsHaveExecutors(t *testing.T) {
	p := New(Probes{})
	n := 0
	for name, c := range stockModel(t).Commands {
		if c.Engine != "agent" || c.Executor == "" {
			continue
		}
		n++
		if _, ok := p.executors[c.Executor]; !ok {
			t.Errorf("command %s: no executor %q", name, c.Executor)
		}
	}
	if n < 25 {
		t.Fatalf("only %d stock agent commands found", n)
	}
}

// TestStockHostsRunOnThisMachine: every check of hosts built from the stock
// linux, nginx and apache agent templates runs through the executors with
// the templates' own parameters, reads this machine and decides a status
// from its thresholds: none is ERROR or UNKNOWN, and each says what it read.
func TestStockHostsRunOnThisMachine(t *testing.T) {
	p := New(Probes{Version: "test", Host: "h", Sample: 200 * time.Millisecond})
	m := stockModel(t)
	ran := 0
	for _, h := range m.Hosts {
		for _, c := range append([]*config.Check{h}, h.Services...) {
			if c.Command == nil || c.Command.Engine != "agent" {
				continue
			}
			params := map[string]string{}
			for k, v := range c.Parameters {
				params[k] = v
			}
			for k, v := range c.Command.Parameters {
				params[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			res := p.Execute(ctx, c.Command.Executor, params, params["command_line"])
			cancel()
			ran++
			if res.Status == checks.StatusError || res.Status == checks.StatusUnknown || res.Output == "" {
				t.Errorf("%s/%s (%s): %s %q", h.Name, c.Name, c.Command.Executor, res.Status, res.Output)
			}
			if testing.Verbose() {
				t.Logf("%-8s %-18s %-9s %s", h.Name, c.Name, res.Status, res.Output)
			}
		}
	}
	if ran < 30 {
		t.Fatalf("ran %d checks, want every check of three hosts", ran)
	}
}

// TestThresholds: the stock thresholds' directions: above (cpu 80/90),
// below (uptime 900/300), ranges (processes 1:20), -1 disabled (load).
func TestThresholds(t *testing.T) {
	for _, tc := range []struct {
		v          float64
		warn, crit string
		f          func(w, c string) (string, string)
		want       checks.Status
	}{
		{85, "80", "90", above, checks.StatusWarning},
		{95, "80", "90", above, checks.StatusCritical},
		{10, "80", "90", above, checks.StatusOK},
		{600, "900", "300", below, checks.StatusWarning},
		{100, "900", "300", below, checks.StatusCritical},
		{5000, "900", "300", below, checks.StatusOK},
		{50, "-1", "-1", above, checks.StatusOK},
		{0, "1:20", "1:20", func(w, c string) (string, string) { return w, c }, checks.StatusCritical},
	} {
		w, c := tc.f(tc.warn, tc.crit)
		got, err := checks.Threshold(tc.v, w, c)
		if err != nil || got != tc.want {
			t.Errorf("%g with %s/%s: %s %v, want %s", tc.v, tc.warn, tc.crit, got, err, tc.want)
		}
	}
}

// TestPluginsOnlyFromAllowList: the nagios executor runs a plugin of its
// own allow-list, and refuses one outside it, a path that climbs out of it
// and shell syntax, whatever the command line the hub sends.
func TestPluginsOnlyFromAllowList(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(dir, "check_ok")
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\necho \"OK: fine|x=1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERGAMOT_PLUGIN_USER", "-")
	p := New(Probes{PluginDirs: []string{dir}})
	run := func(cl string) *checks.Result {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return p.Execute(ctx, "nagios", map[string]string{"command_line": cl}, cl)
	}
	if r := run(plugin + " -w 1"); r.Status != checks.StatusOK || !strings.Contains(r.Output, "fine") {
		t.Fatalf("allowed plugin: %s %q", r.Status, r.Output)
	}
	if r := run("check_ok"); r.Status != checks.StatusOK {
		t.Fatalf("bare allowed plugin name: %s %q", r.Status, r.Output)
	}
	for _, cl := range []string{"/bin/sh -c id", dir + "/../../bin/sh -c id", plugin + "; id", plugin + " $(id)", "sh"} {
		r := run(cl)
		if r.Status != checks.StatusUnknown || !strings.HasPrefix(r.Output, "refused") {
			t.Errorf("%q: %s %q, want a refusal", cl, r.Status, r.Output)
		}
	}
	if r := p.Execute(context.Background(), "script", map[string]string{"script": "x"}, ""); r.Status != checks.StatusUnknown ||
		!strings.Contains(r.Output, "--script-dir") {
		t.Errorf("script without --script-dir: %s %q", r.Status, r.Output)
	}
}

// TestFindsRealProcessesAndListeners: the processes executor counts this
// test process by command and user, process-stats counts them all, and
// port-listener finds a TCP listener opened here (and not a closed port).
func TestFindsRealProcessesAndListeners(t *testing.T) {
	p := New(Probes{})
	ctx := context.Background()
	self := filepath.Base(os.Args[0])
	if len(self) > 15 {
		self = self[:15] // the kernel's comm field
	}
	r := p.Execute(ctx, "processes", map[string]string{"command": self, "warning": "1:", "critical": "1:"}, "")
	if r.Status != checks.StatusOK {
		t.Fatalf("processes %s: %s %q", self, r.Status, r.Output)
	}
	r = p.Execute(ctx, "processes", map[string]string{"command": "no-such-process-xyz", "warning": "1:", "critical": "1:"}, "")
	if r.Status != checks.StatusCritical || !strings.HasPrefix(r.Output, "0 matching") {
		t.Fatalf("absent process: %s %q", r.Status, r.Output)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	port := ln.Addr().(*net.TCPAddr).Port
	r = p.Execute(ctx, "port-listener", map[string]string{"local_port": strconv.Itoa(port), "warning": "1:1", "critical": "1:1"}, "")
	if r.Status != checks.StatusOK || !strings.HasPrefix(r.Output, "1 listening") {
		t.Fatalf("listener on %d: %s %q", port, r.Status, r.Output)
	}
	_ = ln.Close()
	r = p.Execute(ctx, "port-listener", map[string]string{"local_port": strconv.Itoa(port), "warning": "1:1", "critical": "1:1"}, "")
	if r.Status != checks.StatusCritical {
		t.Fatalf("closed port %d: %s %q", port, r.Status, r.Output)
	}
	r = p.Execute(ctx, "process-stats", map[string]string{"state": "total", "warning": "100000", "critical": "100000"}, "")
	if r.Status != checks.StatusOK || r.Perfdata[0].Value == nil || *r.Perfdata[0].Value < 2 {
		t.Fatalf("process-stats: %s %q", r.Status, r.Output)
	}
}
