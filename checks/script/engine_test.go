package script

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

func run(t *testing.T, e *Engine, src string, params map[string]string, timeout time.Duration) *checks.Result {
	t.Helper()
	return execute(t, e, &checks.Request{CheckID: "x", Engine: "script", Script: src, Parameters: params, Timeout: timeout})
}

func TestInfiniteLoopTimesOut(t *testing.T) {
	e := New(Options{})
	start := time.Now()
	res := run(t, e, `while (true) {}`, nil, 300*time.Millisecond)
	if res.Status != checks.StatusTimeout || !strings.Contains(res.Output, "deadline") {
		t.Fatalf("got %s %q", res.Status, res.Output)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s to interrupt", d)
	}
}

func TestMemoryHogInterrupted(t *testing.T) {
	e := New(Options{MaxHeapGrowth: 64 << 20})
	res := run(t, e, `var a = []; var s = 'x'.repeat(1 << 20); for (var i = 0; ; i++) a.push(s + i);`, nil, 20*time.Second)
	if res.Status != checks.StatusError || !strings.Contains(res.Output, "memory grew") {
		t.Fatalf("got %s %q", res.Status, res.Output)
	}
}

func TestResultsAndThresholds(t *testing.T) {
	e := New(Options{})
	cases := []struct {
		name, src string
		params    map[string]string
		want      checks.Status
		output    string
	}{
		{"first publish wins", `bergamot.warning('w'); bergamot.ok('o');`, nil, checks.StatusWarning, "w"},
		{"nothing published", `var x = 1;`, nil, checks.StatusError, "script finished without publishing a result"},
		{"throw", `throw new Error('boom');`, nil, checks.StatusError, "script failed: Error: boom"},
		{"params thresholds", `bergamot.applyGreaterThanThreshold(check.getIntParameter('v'), 'v=' + check.getIntParameter('v'));`,
			map[string]string{"v": "75", "warning": "50", "critical": "100"}, checks.StatusWarning, "v=75"},
		{"explicit less-than", `bergamot.publish(bergamot.createResult().applyLessThanThreshold(0, 1, 0.5, 'none'));`, nil, checks.StatusCritical, "none"},
		{"thresholds over array", `bergamot.publish(bergamot.createResult().applyGreaterThanThresholds([1, 200, 3], 10, 100, 'disks'));`, nil, checks.StatusCritical, "disks"},
		{"defaults", `bergamot.ok(check.getParameter('absent', 'd') + check.getIntParameter('absent', 7) + check.containsParameter('absent'));`, nil, checks.StatusOK, "d7false"},
		{"bad number names the parameter", `bergamot.ok('' + check.getIntParameter('port'));`, map[string]string{"port": "eighty"}, checks.StatusError, `parameter "port": "eighty" is not a number`},
		{"compile error", `bergamot.ok(`, nil, checks.StatusError, "script does not compile"},
		{"no filesystem or process", `bergamot.ok(typeof require + typeof process + typeof fs);`, nil, checks.StatusOK, "undefinedundefinedundefined"},
		{"metadata refused", `http.check().connect('169.254.169.254').get('/latest/meta-data/').execute(function(r){bergamot.ok('reached')}, function(e){bergamot.error(e)});`,
			nil, checks.StatusError, "link-local"},
		{"ipv6 link-local refused", `http.check().connect('fe80::1').get('/').execute(function(r){bergamot.ok('reached')}, function(e){bergamot.error(e)});`,
			nil, checks.StatusError, "link-local"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := run(t, e, c.src, c.params, 5*time.Second)
			if res.Status != c.want || !strings.Contains(res.Output, c.output) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Output, c.want, c.output)
			}
		})
	}
}

func TestReadingsBecomePerfdata(t *testing.T) {
	e := New(Options{})
	res := run(t, e, `
		bergamot.ok('fine');
		bergamot.publishReadings([
			{ type: 'long-gauge',   name: 'used-disk-space', unit: 'MB', value: 153023.7, warning: 100000, critical: 200000, min: null, max: null },
			{ type: 'double-gauge', name: 'free-memory',     unit: '%',  value: 73.242, min: 0, max: 100 }
		]);
		bergamot.publishReadings(bergamot.createDoubleGaugeReading('load', null, 0.5, 1, 2, 0, null));`, nil, 5*time.Second)
	if res.Status != checks.StatusOK || len(res.Perfdata) != 3 {
		t.Fatalf("got %s %+v", res.Status, res.Perfdata)
	}
	used := perf(t, res, "used-disk-space")
	if *used.Value != 153023 || used.UOM != "MB" || used.Warn != "100000" || used.Crit != "200000" || used.Min != nil {
		t.Fatalf("used %+v", used)
	}
	if free := perf(t, res, "free-memory"); *free.Value != 73.242 || *free.Max != 100 || free.Warn != "" {
		t.Fatalf("free %+v", free)
	}
}

func TestProgramCacheAndFreshVM(t *testing.T) {
	e := New(Options{})
	src := `if (typeof counter === 'undefined') { counter = 0; } counter++; bergamot.ok('' + counter);`
	for i := 0; i < 3; i++ {
		if res := run(t, e, src, nil, time.Second); res.Output != "1" {
			t.Fatalf("run %d saw state from an earlier run: %q", i, res.Output)
		}
	}
	if len(e.cache) != 1 {
		t.Fatalf("cache holds %d programs, want 1", len(e.cache))
	}
}

func TestExtension(t *testing.T) {
	e := New(Options{})
	ext := func(ctx context.Context, r *Run) error {
		return r.VM.Set("agent", map[string]any{"answer": func() int { return 42 }})
	}
	res, err := e.Run(context.Background(), &checks.Request{Script: `bergamot.ok('' + agent.answer())`, Timeout: time.Second}, ext)
	if err != nil || res.Output != "42" {
		t.Fatalf("got %v %+v", err, res)
	}
}
