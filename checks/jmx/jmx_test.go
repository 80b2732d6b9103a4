package jmx

import (
	"context"
	"encoding/xml"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/script"
	"github.com/bergamot-monitoring/bergamot/internal/enginetest"
	"github.com/bergamot-monitoring/bergamot/internal/jolokiatest"
)

func engine() *Engine {
	return New(Options{Script: script.New(script.Options{AllowAddress: func(string, string) error { return nil }})})
}

func req(jvm *jolokiatest.JVM, executor string, params map[string]string) *checks.Request {
	p := map[string]string{"host": jvm.Host, "port": strconv.Itoa(jvm.Port)}
	for k, v := range params {
		p[k] = v
	}
	return &checks.Request{Engine: "jmx", Executor: executor, Parameters: p, Timeout: 20 * time.Second}
}

func run(t *testing.T, e *Engine, r *checks.Request) *checks.Result {
	t.Helper()
	res, err := e.Execute(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAttributes(t *testing.T) {
	jvm := jolokiatest.Start(t, "", "")
	e := engine()
	for _, tc := range []struct {
		params map[string]string
		status checks.Status
		prefix string
	}{
		{map[string]string{"mbean": "java.lang:type=Memory", "attribute": "HeapMemoryUsage", "inner_path": "used", "uom": "B"}, checks.StatusOK, "HeapMemoryUsage_used "},
		{map[string]string{"mbean": "java.lang:type=Memory", "attribute": "HeapMemoryUsage", "inner_path": "used", "critical": "1000"}, checks.StatusCritical, "HeapMemoryUsage_used "},
		{map[string]string{"mbean": "java.lang:type=Threading", "attribute": "ThreadCount", "warning": "1:1000"}, checks.StatusOK, "ThreadCount "},
		{map[string]string{"mbean": "java.lang:type=GarbageCollector,*", "attribute": "CollectionCount", "label": "gc"}, checks.StatusOK, "gc Copy="},
		{map[string]string{"mbean": "java.lang:type=Memory", "attribute": "HeapMemoryUsage"}, checks.StatusUnknown, "java.lang:type=Memory HeapMemoryUsage: the value {"},
		{map[string]string{"mbean": "java.lang:type=Nope", "attribute": "X"}, checks.StatusCritical, "java.lang:type=Nope X: "},
		{map[string]string{"mbean": "java.lang:type=Memory"}, checks.StatusError, `parameters "mbean" and "attribute" are required`},
		{map[string]string{"mbean": "a:b=c", "attribute": "X", "port": strconv.Itoa(freePort(t))}, checks.StatusCritical, "Jolokia agent at http://127.0.0.1:"},
	} {
		res := run(t, e, req(jvm, "", tc.params))
		if res.Status != tc.status || !strings.HasPrefix(res.Output, tc.prefix) {
			t.Errorf("%v: got %s %q", tc.params, res.Status, res.Output)
		}
	}
}

func TestStockScripts(t *testing.T) {
	jvm := jolokiatest.Start(t, "monitor", "s3cret")
	e := engine()
	var doc struct {
		Commands []struct {
			Name   string `xml:"name,attr"`
			Script string `xml:"script"`
			Params []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:",chardata"`
			} `xml:"parameter"`
		} `xml:"command"`
	}
	b, err := os.ReadFile("../../../shared/fixtures/bergamot-config/base/templates/commands/jmx/basic_jmx_commands.xml")
	if err != nil {
		t.Skipf("stock commands not found: %v", err)
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]checks.Status{"java-cpu-usage": checks.StatusOK, "java-heap-usage": checks.StatusOK, "java-version-info": checks.StatusInfo}
	for _, c := range doc.Commands {
		p := map[string]string{"jmx_username": "monitor", "jmx_password": "s3cret"}
		for _, x := range c.Params {
			p[x.Name] = x.Value
		}
		r := req(jvm, "script", p)
		r.Script = c.Script
		res := run(t, e, r)
		if res.Status != want[c.Name] {
			t.Errorf("%s: %s %q", c.Name, res.Status, res.Output)
		} else {
			t.Logf("%s: %s %q %d perfdata", c.Name, res.Status, res.Output, len(res.Perfdata))
		}
	}
	r := req(jvm, "script", map[string]string{})
	r.Script = `jmx.connect(check.getParameter('host'), check.getIntParameter('port'), 'monitor', 'wrong', function(con) { bergamot.ok('in'); });`
	if res := run(t, e, r); res.Status != checks.StatusError || !strings.Contains(res.Output, "refused the credentials") {
		t.Errorf("wrong password: %s %q", res.Status, res.Output)
	}
	r.Script = `jmx.connect(check.getParameter('host'), check.getIntParameter('port'), 'monitor', 's3cret', function(con) {
		var gcs = con.getMBeans('java.lang:type=GarbageCollector,*');
		bergamot.ok(gcs.length + ' collectors, threads ' + con.getMBean('java.lang:type=Threading').getAttribute('ThreadCount').getValue());
	});`
	if res := run(t, e, r); res.Status != checks.StatusOK || !strings.HasPrefix(res.Output, "2 collectors, threads ") {
		t.Errorf("patterns: %s %q", res.Status, res.Output)
	}
}

// TestNoLeaks runs 1,000 checks (and scripts) and then requires
// goroutines, file descriptors and heap back where they were.
func TestNoLeaks(t *testing.T) {
	jvm := jolokiatest.Start(t, "", "")
	e := engine()
	runs := enginetest.LeakRuns()
	r := req(jvm, "", map[string]string{"mbean": "java.lang:type=Threading", "attribute": "ThreadCount"})
	sr := req(jvm, "script", nil)
	sr.Script = `jmx.connect(check.getParameter('host'), check.getIntParameter('port'), null, null, function(c) { bergamot.ok('' + c.getMBean('java.lang:type=Runtime').getAttribute('VmName').getValue()) });`
	run(t, e, r)
	run(t, e, sr)
	base := enginetest.Take(t)
	for i := 0; i < runs; i++ {
		if res := run(t, e, r); res.Status != checks.StatusOK {
			t.Fatalf("run %d: %s %q", i, res.Status, res.Output)
		}
		if i%10 == 0 {
			if res := run(t, e, sr); res.Status != checks.StatusOK {
				t.Fatalf("script run %d: %s %q", i, res.Status, res.Output)
			}
		}
	}
	enginetest.Bounded(t, base, runs, 2, 16<<20)
}

// BenchmarkJMX: attribute reads from the local Jolokia JVM.
func BenchmarkJMX(b *testing.B) {
	jvm := jolokiatest.Start(b, "", "")
	e := engine()
	r := req(jvm, "", map[string]string{"mbean": "java.lang:type=Threading", "attribute": "ThreadCount"})
	enginetest.Bench(b, func() (checks.Status, string) {
		res, err := e.Execute(context.Background(), r)
		if err != nil {
			return checks.StatusError, err.Error()
		}
		return res.Status, res.Output
	})
}

func TestDialIsInjected(t *testing.T) {
	var got string
	e := New(Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		got = addr
		return nil, os.ErrPermission
	}})
	res, _ := e.Execute(t.Context(), &checks.Request{Parameters: map[string]string{"host": "127.0.0.9", "mbean": "a:b=c", "attribute": "X"}})
	if res.Status != checks.StatusCritical || got != "127.0.0.9:8778" {
		t.Fatalf("%s %q dialled %q", res.Status, res.Output, got)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
