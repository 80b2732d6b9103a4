// Package libvirt is the "libvirt" check engine: domain state, CPU and
// memory per domain, and host capacity, over libvirt's RPC protocol
// (digitalocean/go-libvirt) to a libvirtd reached through its Unix socket
// ("socket") or plain TCP ("host", "port" 16509). "uri" picks the
// hypervisor driver inside the daemon (default qemu:///system).
//
// Executors: "domain" (the default when "domain" is given; otherwise
// "host"): the domain's state must be "state" (default running: paused is
// WARNING, anything else CRITICAL), with memory, vCPUs and CPU use as
// perfdata and thresholds on memory use (warning/critical, percent of the
// domain's maximum). "host": CPUs, memory and running domains of the host,
// thresholds on memory use in percent. "domains": every domain's state;
// CRITICAL when one that should run does not.
package libvirt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
)

// DefaultPort is libvirtd's plain TCP port.
const DefaultPort = 16509

// Options configure the engine.
type Options struct {
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Dial opens TCP and Unix connections; nil is a net.Dialer. The hosted
	// execution policy is injected here.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// CPUSample is how long apart the two readings of a domain's CPU time
	// are taken (default 200ms).
	CPUSample time.Duration
	// DefaultTimeout applies when neither ctx nor the request has one (60s).
	DefaultTimeout time.Duration
}

// Engine is the "libvirt" engine; it keeps no connection between checks.
type Engine struct{ opts Options }

var _ checks.Engine = (*Engine)(nil)

// New returns a libvirt engine.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	if opts.CPUSample <= 0 {
		opts.CPUSample = 200 * time.Millisecond
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 60 * time.Second
	}
	return &Engine{opts: opts}
}

// CheckPolicy implements checks.PolicyChecker: under hosted, no "socket"
// (libvirtd's Unix socket is a file of the worker) and no daemon (parameter
// "host", else the check's host address) at a literal address or name the
// network policy refuses.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	if err := checks.CheckWorkerFiles(p, req, "socket"); err != nil {
		return err
	}
	return netcheck.CheckPolicy(ctx, p, req)
}

// Name returns "libvirt".
func (e *Engine) Name() string { return "libvirt" }

// Execute implements checks.Engine.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	ctx, cancel := checks.WithDeadline(ctx, req, e.opts.DefaultTimeout)
	defer cancel()
	ex := req.Executor
	if ex == "" {
		ex = "host"
		if req.Param("domain", "") != "" {
			ex = "domain"
		}
	}
	var run func(context.Context, *golibvirt.Libvirt, *checks.Request) *checks.Result
	switch ex {
	case "domain":
		run = e.domain
	case "host":
		run = e.host
	case "domains":
		run = e.domains
	default:
		return &checks.Result{Status: checks.StatusError, Output: fmt.Sprintf("the libvirt engine has no executor %q (it has: domain, domains, host)", ex)}, nil
	}
	res := e.withLibvirt(ctx, req, run)
	res.Started, res.Runtime = start, time.Since(start)
	return res, nil
}

// withLibvirt connects, opens the driver and runs fn.
func (e *Engine) withLibvirt(ctx context.Context, req *checks.Request, fn func(context.Context, *golibvirt.Libvirt, *checks.Request) *checks.Result) *checks.Result {
	network, addr, err := endpoint(req)
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	uri := req.Param("uri", "qemu:///system")
	conn, err := checks.PolicyDial(req.Policy, e.opts.Dial)(ctx, network, addr)
	if err != nil {
		return &checks.Result{Status: netcheck.FailStatus(ctx, err), Output: fmt.Sprintf("cannot reach libvirtd at %s: %s", addr, netcheck.Describe(ctx, err))}
	}
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	l := golibvirt.NewWithDialer(dialers.NewAlreadyConnected(conn))
	if err := l.ConnectToURI(golibvirt.ConnectURI(uri)); err != nil {
		_ = conn.Close()
		return &checks.Result{Status: netcheck.FailStatus(ctx, err), Output: fmt.Sprintf("libvirtd at %s: cannot open %s: %s", addr, uri, describe(ctx, err))}
	}
	defer func() { _ = l.Disconnect() }()
	return fn(ctx, l, req)
}

// endpoint is where libvirtd listens: "socket" (a Unix socket path) or
// host:port over TCP.
func endpoint(req *checks.Request) (network, addr string, err error) {
	if s := strings.TrimSpace(req.Param("socket", "")); s != "" {
		return "unix", s, nil
	}
	host, err := netcheck.Host(req)
	if err != nil {
		return "", "", err
	}
	port, err := netcheck.Port(req, DefaultPort)
	if err != nil {
		return "", "", err
	}
	return "tcp", netcheck.Address(host, port), nil
}

func describe(ctx context.Context, err error) string {
	var le golibvirt.Error
	if errors.As(err, &le) {
		return le.Message
	}
	return netcheck.Describe(ctx, err)
}

// stateNames are libvirt's domain states (virDomainState).
var stateNames = map[int32]string{0: "nostate", 1: "running", 2: "blocked", 3: "paused", 4: "shutdown", 5: "shutoff", 6: "crashed", 7: "pmsuspended"}

func stateName(s int32) string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("state %d", s)
}

// stateStatus judges a domain's state against the one wanted.
func stateStatus(got, want string) checks.Status {
	switch {
	case got == want || (want == "running" && got == "blocked"):
		return checks.StatusOK
	case got == "paused" || got == "pmsuspended" || got == "shutdown":
		return checks.StatusWarning
	}
	return checks.StatusCritical
}

// domain is the "domain" executor.
func (e *Engine) domain(ctx context.Context, l *golibvirt.Libvirt, req *checks.Request) *checks.Result {
	name := req.Param("domain", "")
	if name == "" {
		return &checks.Result{Status: checks.StatusError, Output: `parameter "domain" is required: the domain's name`}
	}
	th, err := netcheck.ParseThresholds("warning", req.Param("warning", ""), "critical", req.Param("critical", ""))
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	want := strings.ToLower(req.Param("state", "running"))
	dom, err := l.DomainLookupByName(name)
	if err != nil {
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("domain %s: %s", name, describe(ctx, err))}
	}
	state, maxMem, mem, vcpus, cpu1, err := l.DomainGetInfo(dom)
	if err != nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("domain %s: %s", name, describe(ctx, err))}
	}
	t1 := time.Now()
	cpuPct := 0.0
	if state == 1 && vcpus > 0 {
		select {
		case <-time.After(e.opts.CPUSample):
		case <-ctx.Done():
			return &checks.Result{Status: checks.StatusTimeout, Output: "check timed out sampling CPU use"}
		}
		if _, _, _, _, cpu2, err := l.DomainGetInfo(dom); err == nil && cpu2 >= cpu1 {
			cpuPct = float64(cpu2-cpu1) / float64(time.Since(t1).Nanoseconds()) / float64(vcpus) * 100
		}
	}
	memPct := 0.0
	if maxMem > 0 {
		memPct = float64(mem) / float64(maxMem) * 100
	}
	got := stateName(int32(state))
	st := stateStatus(got, want)
	if st == checks.StatusOK {
		st = th.Evaluate(memPct)
	}
	return &checks.Result{Status: st,
		Output: fmt.Sprintf("domain %s is %s, %d vCPU at %.1f%%, memory %d of %d MiB (%.1f%%)", name, got, vcpus, cpuPct, mem>>10, maxMem>>10, memPct),
		Perfdata: []checks.Perfdata{
			netcheck.Perf("memory", float64(mem)*1024, "B", "", "", netcheck.Zero()),
			netcheck.Perf("memory_used", memPct, "%", th.WarnRaw(), th.CritRaw(), netcheck.Zero()),
			netcheck.Perf("vcpus", float64(vcpus), "", "", "", netcheck.Zero()),
			netcheck.Perf("cpu", cpuPct, "%", "", "", netcheck.Zero()),
			netcheck.Perf("cpu_time", float64(cpu1)/1e9, "c", "", "", netcheck.Zero()),
		}}
}

// host is the "host" executor: the hypervisor's capacity.
func (e *Engine) host(ctx context.Context, l *golibvirt.Libvirt, req *checks.Request) *checks.Result {
	th, err := netcheck.ParseThresholds("warning", req.Param("warning", ""), "critical", req.Param("critical", ""))
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	model, memKiB, cpus, mhz, _, _, _, _, err := l.NodeGetInfo()
	if err != nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: "node info: " + describe(ctx, err)}
	}
	free, err := l.NodeGetFreeMemory()
	if err != nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: "free memory: " + describe(ctx, err)}
	}
	doms, _, err := l.ConnectListAllDomains(1, golibvirt.ConnectListDomainsActive)
	if err != nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: "domains: " + describe(ctx, err)}
	}
	total := float64(memKiB) * 1024
	used := total - float64(free)
	pct := 0.0
	if total > 0 {
		pct = used / total * 100
	}
	st := th.Evaluate(pct)
	var b strings.Builder
	for _, c := range model {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return &checks.Result{Status: st,
		Output: fmt.Sprintf("%s host: %d CPUs at %d MHz, %d active domains, memory %.1f%% used of %d MiB", b.String(), cpus, mhz, len(doms), pct, memKiB>>10),
		Perfdata: []checks.Perfdata{
			netcheck.Perf("memory_used", pct, "%", th.WarnRaw(), th.CritRaw(), netcheck.Zero()),
			netcheck.Perf("memory_free", float64(free), "B", "", "", netcheck.Zero()),
			netcheck.Perf("cpus", float64(cpus), "", "", "", netcheck.Zero()),
			netcheck.Perf("domains_active", float64(len(doms)), "", "", "", netcheck.Zero()),
		}}
}

// domains is the "domains" executor: every domain's state; those listed in
// "expected" (comma-separated; default all) must be running.
func (e *Engine) domains(ctx context.Context, l *golibvirt.Libvirt, req *checks.Request) *checks.Result {
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return &checks.Result{Status: checks.StatusUnknown, Output: "domains: " + describe(ctx, err)}
	}
	expect := map[string]bool{}
	for _, n := range strings.Split(req.Param("expected", ""), ",") {
		if n = strings.TrimSpace(n); n != "" {
			expect[n] = true
		}
	}
	st := checks.StatusOK
	var bad, lines []string
	seen := map[string]bool{}
	sort.Slice(doms, func(i, j int) bool { return doms[i].Name < doms[j].Name })
	running := 0
	for _, d := range doms {
		s, _, err := l.DomainGetState(d, 0)
		if err != nil {
			return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("domain %s: %s", d.Name, describe(ctx, err))}
		}
		name := stateName(s)
		seen[d.Name] = true
		lines = append(lines, d.Name+": "+name)
		if name == "running" {
			running++
		}
		if (len(expect) == 0 || expect[d.Name]) && stateStatus(name, "running") != checks.StatusOK {
			bad = append(bad, d.Name+" is "+name)
			if ds := stateStatus(name, "running"); ds.Severity() > st.Severity() {
				st = ds
			}
		}
	}
	for n := range expect {
		if !seen[n] {
			bad = append(bad, n+" does not exist")
			st = checks.StatusCritical
		}
	}
	sort.Strings(bad)
	out := fmt.Sprintf("%d of %d domains running", running, len(doms))
	if len(bad) > 0 {
		out += ": " + strings.Join(bad, ", ")
	}
	return &checks.Result{Status: st, Output: out, LongOutput: strings.Join(lines, "\n"),
		Perfdata: []checks.Perfdata{netcheck.Perf("running", float64(running), "", "", "", netcheck.Zero()),
			netcheck.Perf("domains", float64(len(doms)), "", "", "", netcheck.Zero())}}
}
