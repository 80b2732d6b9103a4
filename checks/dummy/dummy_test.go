package dummy

import (
	"context"
	"encoding/xml"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/fixtures"
)

const dummyCommands = "bergamot-config/base/templates/commands/generic_dummy_commands.xml"

// fixtureCommands reads Bergamot's own dummy commands: executor -> parameters.
func fixtureCommands(t testing.TB) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(fixtures.Path(t, dummyCommands))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Commands []struct {
			Executor string `xml:"executor,attr"`
			Params   []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:",chardata"`
			} `xml:"parameter"`
		} `xml:"command"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", dummyCommands, err)
	}
	out := map[string]map[string]string{}
	for _, c := range doc.Commands {
		if c.Executor == "" {
			continue
		}
		out[c.Executor] = map[string]string{}
		for _, p := range c.Params {
			out[c.Executor][p.Name] = p.Value
		}
	}
	return out
}

func at(h, m int) func() time.Time {
	return func() time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.Local) }
}

func exec(t *testing.T, e *Engine, executor string, params map[string]string) *checks.Result {
	t.Helper()
	res, err := e.Execute(context.Background(), &checks.Request{Engine: "dummy", Executor: executor, CheckID: "c1", Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBergamotDummyCommands(t *testing.T) {
	cmds := fixtureCommands(t)
	for _, want := range []string{"static", "random", "timed", "script"} {
		if _, ok := cmds[want]; !ok {
			t.Fatalf("fixture has no %s executor", want)
		}
	}
	res := exec(t, New(Options{}), "static", cmds["static"])
	if res.Status != checks.StatusOK || res.Output != "Everything is OK, nothing to see here" {
		t.Errorf("static: %v %q", res.Status, res.Output)
	}
	for _, c := range []struct {
		r    float64
		want checks.Status
	}{{0.5, checks.StatusOK}, {0.975, checks.StatusWarning}, {0.995, checks.StatusCritical}} {
		res := exec(t, New(Options{Rand: func() float64 { return c.r }}), "random", cmds["random"])
		if res.Status != c.want || res.Output != "Look at me, I'm random" {
			t.Errorf("random %v: %v %q", c.r, res.Status, res.Output)
		}
	}
	for _, c := range []struct {
		h, m int
		want checks.Status
	}{{0, 30, checks.StatusOK}, {1, 0, checks.StatusWarning}, {2, 59, checks.StatusCritical}, {3, 0, checks.StatusOK}, {23, 59, checks.StatusWarning}} {
		res := exec(t, New(Options{Now: at(c.h, c.m)}), "timed", cmds["timed"])
		if res.Status != c.want || res.Output != "Different hour, different mood" {
			t.Errorf("timed %02d:%02d: %v %q", c.h, c.m, res.Status, res.Output)
		}
	}
	res = exec(t, New(Options{}), "script", cmds["script"])
	if res.Status != checks.StatusError || !strings.Contains(res.Output, "script engine") {
		t.Errorf("script: %v %q", res.Status, res.Output)
	}
}

func TestStatic(t *testing.T) {
	e := New(Options{})
	cases := []struct {
		params map[string]string
		status checks.Status
		output string
	}{
		{nil, checks.StatusOK, "OK"},
		{map[string]string{"ok": "no"}, checks.StatusCritical, "CRITICAL"},
		{map[string]string{"status": "warning", "output": "meh"}, checks.StatusWarning, "meh"},
		{map[string]string{"status": "SOSO"}, checks.StatusError, `parameter status: unknown status "SOSO"`},
	}
	for _, c := range cases {
		res := exec(t, e, "", c.params)
		if res.Status != c.status || !strings.HasPrefix(res.Output, c.output) {
			t.Errorf("%v: %v %q, want %v %q", c.params, res.Status, res.Output, c.status, c.output)
		}
		if res.Started.IsZero() {
			t.Errorf("%v: no start time", c.params)
		}
	}
	res := exec(t, e, "static", map[string]string{"perfdata": "load=1.5;2;3 junk"})
	if len(res.Perfdata) != 1 || *res.Perfdata[0].Value != 1.5 || len(res.PerfdataWarnings) != 1 {
		t.Errorf("perfdata %+v %q", res.Perfdata, res.PerfdataWarnings)
	}
}

func TestCycleAndFlapping(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	e := New(Options{Now: func() time.Time { return now }})
	params := map[string]string{"statuses": "OK,WARNING,CRITICAL", "period": "10s"}
	seen := map[checks.Status]int{}
	prev := exec(t, e, "cycle", params).Status
	for i := 0; i < 30; i++ {
		now = now.Add(10 * time.Second)
		st := exec(t, e, "cycle", params).Status
		if st == prev {
			t.Fatalf("step %d: still %v after a period", i, st)
		}
		seen[st]++
		prev = st
	}
	if seen[checks.StatusOK] != 10 || seen[checks.StatusWarning] != 10 || seen[checks.StatusCritical] != 10 {
		t.Errorf("cycle visits %v", seen)
	}
	a := exec(t, e, "flapping", nil)
	now = now.Add(30 * time.Second)
	b := exec(t, e, "flapping", nil)
	if a.Status == b.Status || !a.Status.OK() == !b.Status.OK() {
		t.Errorf("flapping gave %v then %v", a.Status, b.Status)
	}
	for _, bad := range []map[string]string{{"statuses": "OK,MAYBE"}, {"period": "soon"}, {"period": "-1s"}} {
		if res := exec(t, e, "cycle", bad); res.Status != checks.StatusError || !strings.Contains(res.Output, "parameter") {
			t.Errorf("%v: %v %q", bad, res.Status, res.Output)
		}
	}
}

func TestBadParameters(t *testing.T) {
	e := New(Options{Now: at(1, 0)})
	cases := []struct {
		executor string
		params   map[string]string
		want     string
	}{
		{"random", map[string]string{"warning": "lots"}, `parameter warning: "lots" is not a number`},
		{"timed", map[string]string{"warning": "01:00"}, `parameter warning: "01:00" is not a range like 01:00-02:00`},
		{"timed", map[string]string{"critical": "25:00-26:00"}, `parameter critical: range "25:00-26:00": "25:00" is not a time of day (HH:MM)`},
		{"nope", nil, `dummy engine has no "nope" executor (have: cycle, flapping, random, script, static, timed)`},
	}
	for _, c := range cases {
		res := exec(t, e, c.executor, c.params)
		if res.Status != checks.StatusError || res.Output != c.want {
			t.Errorf("%s %v: %v %q, want %q", c.executor, c.params, res.Status, res.Output, c.want)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := checks.NewRegistry()
	r.Register(New(Options{}))
	res := r.Execute(context.Background(), &checks.Request{Engine: "dummy", Executor: "static", Parameters: map[string]string{"status": "CRITICAL", "output": "down"}})
	if res.Status != checks.StatusCritical || res.Output != "down" || res.Runtime <= 0 {
		t.Errorf("%+v", res)
	}
}

func benchmark(b *testing.B, executor string, params map[string]string) {
	e := New(Options{})
	req := &checks.Request{Engine: "dummy", Executor: executor, CheckID: "c1", Parameters: params}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Execute(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStatic(b *testing.B) {
	benchmark(b, "static", map[string]string{"status": "OK", "output": "Everything is OK, nothing to see here"})
}

func BenchmarkRandom(b *testing.B) {
	benchmark(b, "random", map[string]string{"warning": "0.97", "critical": "0.99", "output": "random"})
}

func BenchmarkFlapping(b *testing.B) {
	benchmark(b, "flapping", map[string]string{"output": "flap"})
}
