package libvirt

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/enginetest"
	"github.com/bergamot-monitoring/bergamot/internal/libvirtdtest"
)

func req(d *libvirtdtest.Daemon, executor string, params map[string]string) *checks.Request {
	p := map[string]string{"socket": d.Socket, "uri": "test:///default"}
	for k, v := range params {
		p[k] = v
	}
	return &checks.Request{Engine: "libvirt", Executor: executor, Parameters: p, Timeout: 15 * time.Second}
}

func run(t *testing.T, e *Engine, r *checks.Request) *checks.Result {
	t.Helper()
	res, err := e.Execute(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// holder keeps the test driver's shared state alive and changes it.
func holder(t *testing.T, d *libvirtdtest.Daemon) *golibvirt.Libvirt {
	c, err := (&net.Dialer{}).DialContext(context.Background(), "unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	l := golibvirt.NewWithDialer(dialers.NewAlreadyConnected(c))
	if err := l.ConnectToURI(golibvirt.TestDefault); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Disconnect() })
	return l
}

func TestLibvirt(t *testing.T) {
	d := libvirtdtest.Start(t)
	e := New(Options{})
	h := holder(t, d)
	res := run(t, e, req(d, "", map[string]string{"domain": "test"}))
	if res.Status != checks.StatusOK || !strings.HasPrefix(res.Output, "domain test is running, 2 vCPU") || len(res.Perfdata) != 5 {
		t.Fatalf("domain: %s %q %+v", res.Status, res.Output, res.Perfdata)
	}
	res = run(t, e, req(d, "domain", map[string]string{"domain": "test", "critical": "20"}))
	if res.Status != checks.StatusCritical {
		t.Fatalf("memory threshold: %s %q", res.Status, res.Output)
	}
	res = run(t, e, req(d, "host", map[string]string{"warning": "0:0"}))
	if res.Status != checks.StatusWarning || !strings.Contains(res.Output, "16 CPUs") || !strings.Contains(res.Output, "1 active domains") {
		t.Fatalf("host: %s %q", res.Status, res.Output)
	}
	dom, err := h.DomainLookupByName("test")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.DomainSuspend(dom); err != nil {
		t.Fatal(err)
	}
	res = run(t, e, req(d, "", map[string]string{"domain": "test"}))
	if res.Status != checks.StatusWarning || !strings.HasPrefix(res.Output, "domain test is paused") {
		t.Fatalf("paused: %s %q", res.Status, res.Output)
	}
	if err := h.DomainDestroy(dom); err != nil {
		t.Fatal(err)
	}
	res = run(t, e, req(d, "domains", nil))
	if res.Status != checks.StatusCritical || res.Output != "0 of 1 domains running: test is shutoff" {
		t.Fatalf("domains: %s %q", res.Status, res.Output)
	}
	res = run(t, e, req(d, "domains", map[string]string{"expected": "web"}))
	if res.Status != checks.StatusCritical || !strings.Contains(res.Output, "web does not exist") {
		t.Fatalf("expected missing: %s %q", res.Status, res.Output)
	}
	res = run(t, e, req(d, "", map[string]string{"domain": "nope"}))
	if res.Status != checks.StatusCritical || !strings.Contains(res.Output, "domain nope") {
		t.Fatalf("missing domain: %s %q", res.Status, res.Output)
	}
	res = run(t, e, req(d, "host", map[string]string{"uri": "bogus:///x"}))
	if res.Status != checks.StatusCritical || !strings.Contains(res.Output, "cannot open bogus:///x") {
		t.Fatalf("bad uri: %s %q", res.Status, res.Output)
	}
	res = run(t, e, req(d, "host", map[string]string{"socket": d.Socket + ".missing"}))
	if res.Status != checks.StatusCritical || !strings.Contains(res.Output, "cannot reach libvirtd") {
		t.Fatalf("no daemon: %s %q", res.Status, res.Output)
	}
	var dialled []string
	pe := New(Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled = append(dialled, network+" "+addr)
		return nil, os.ErrPermission
	}})
	res = run(t, pe, req(d, "host", map[string]string{"socket": "", "host": "127.0.0.1"}))
	if res.Status != checks.StatusCritical || len(dialled) != 1 || dialled[0] != "tcp 127.0.0.1:16509" {
		t.Fatalf("injected dial: %s %q %v", res.Status, res.Output, dialled)
	}
}

// TestNoLeaks runs 1,000 checks of each executor and then requires
// goroutines, file descriptors and heap back where they were.
func TestNoLeaks(t *testing.T) {
	d := libvirtdtest.Start(t)
	e := New(Options{CPUSample: time.Millisecond})
	holder(t, d)
	runs := enginetest.LeakRuns() * 3
	run(t, e, req(d, "host", nil)) // warm up
	base := enginetest.Take(t)
	for i := 0; i < runs; i++ {
		ex := []string{"domain", "host", "domains"}[i%3]
		if res := run(t, e, req(d, ex, map[string]string{"domain": "test"})); res.Status != checks.StatusOK {
			t.Fatalf("run %d (%s): %s %q", i, ex, res.Status, res.Output)
		}
	}
	enginetest.Bounded(t, base, runs, 2, 16<<20)
}

// BenchmarkLibvirt: "host" checks against the local libvirtd (test driver).
func BenchmarkLibvirt(b *testing.B) {
	d := libvirtdtest.Start(b)
	e := New(Options{CPUSample: time.Millisecond})
	r := req(d, "host", nil)
	enginetest.Bench(b, func() (checks.Status, string) {
		res, err := e.Execute(context.Background(), r)
		if err != nil {
			return checks.StatusError, err.Error()
		}
		return res.Status, res.Output
	})
}
