package probe

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	gnet "github.com/shirou/gopsutil/v4/net"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// networkIO: traffic rate over the sample in Mb/s, of one interface
// (parameter interface) or all but loopback; warning/critical Mb/s; peak=yes
// uses the larger of in and out, else their sum.
func networkIO(ctx context.Context, r *Run) (*checks.Result, error) {
	iface := r.Param("interface", "")
	w, c := above(r.Param("warning", "50"), r.Param("critical", "75"))
	sum := func() (map[string]gnet.IOCountersStat, error) {
		list, err := gnet.IOCountersWithContext(ctx, true)
		if err != nil {
			return nil, fmt.Errorf("reading network IO: %w", err)
		}
		out := map[string]gnet.IOCountersStat{}
		for _, s := range list {
			if (iface == "" && s.Name != "lo") || s.Name == iface {
				out[s.Name] = s
			}
		}
		return out, nil
	}
	a, err := sum()
	if err != nil {
		return nil, err
	}
	if iface != "" && len(a) == 0 {
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("no network interface %q on this host", iface)}, nil
	}
	start := time.Now()
	if err := sleep(ctx, r.Agent.Sample); err != nil {
		return nil, err
	}
	b, err := sum()
	if err != nil {
		return nil, err
	}
	secs := time.Since(start).Seconds()
	var in, out float64
	names := make([]string, 0, len(b))
	for n, s := range b {
		names = append(names, n)
		p := a[n]
		in += float64(s.BytesRecv-p.BytesRecv) * 8 / secs / 1e6
		out += float64(s.BytesSent-p.BytesSent) * 8 / secs / 1e6
	}
	sort.Strings(names)
	v := in + out
	if r.Bool("peak", false) {
		v = max(in, out)
	}
	return threshold(v, w, c, fmt.Sprintf("Network %s: in %.3f Mb/s, out %.3f Mb/s", strings.Join(names, ","), in, out),
		perf("in", round(in), "Mb/s", "", "", 0), perf("out", round(out), "Mb/s", "", "", 0), perf("rate", round(v), "Mb/s", w, c, 0))
}

// sockFilter selects sockets as the stock network commands' parameters say.
type sockFilter struct {
	server, client, tcp, udp, unix, raw bool
	localPort, remotePort               int
	localAddr, remoteAddr               string
}

func newSockFilter(r *Run, listenersOnly bool) (*sockFilter, error) {
	f := &sockFilter{server: r.Bool("server", true), client: r.Bool("client", false), tcp: r.Bool("tcp", true), udp: r.Bool("udp", true),
		unix: r.Bool("unix", !listenersOnly), raw: r.Bool("raw", false), localAddr: r.Param("local_address", ""), remoteAddr: r.Param("remote_address", "")}
	if listenersOnly {
		f.server, f.client, f.unix, f.raw = true, false, r.Bool("unix", true), r.Bool("raw", true)
	}
	for _, p := range []struct {
		name string
		to   *int
	}{{"local_port", &f.localPort}, {"remote_port", &f.remotePort}} {
		if v := r.Param(p.name, ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 65535 {
				return nil, fmt.Errorf("parameter %s: %q is not a port number", p.name, v)
			}
			*p.to = n
		}
	}
	return f, nil
}

func (f *sockFilter) match(s gnet.ConnectionStat) bool {
	switch {
	case s.Family == syscall.AF_UNIX:
		if !f.unix {
			return false
		}
	case s.Type == syscall.SOCK_STREAM:
		if !f.tcp {
			return false
		}
	case s.Type == syscall.SOCK_DGRAM:
		if !f.udp {
			return false
		}
	default:
		if !f.raw {
			return false
		}
	}
	server := s.Status == "LISTEN" || (s.Type == syscall.SOCK_DGRAM && s.Family != syscall.AF_UNIX && s.Raddr.Port == 0)
	if (server && !f.server) || (!server && !f.client) {
		return false
	}
	if f.localPort != 0 && int(s.Laddr.Port) != f.localPort {
		return false
	}
	if f.remotePort != 0 && int(s.Raddr.Port) != f.remotePort {
		return false
	}
	if f.localAddr != "" && s.Laddr.IP != f.localAddr {
		return false
	}
	if f.remoteAddr != "" && s.Raddr.IP != f.remoteAddr {
		return false
	}
	return true
}

func countSockets(ctx context.Context, f *sockFilter) (int, []string, error) {
	kind := "inet"
	if f.unix {
		kind = "all"
	}
	conns, err := gnet.ConnectionsWithoutUidsWithContext(ctx, kind)
	if err != nil {
		return 0, nil, fmt.Errorf("listing sockets: %w", err)
	}
	n := 0
	var lines []string
	for _, s := range conns {
		if !f.match(s) {
			continue
		}
		n++
		if len(lines) < 50 {
			lines = append(lines, fmt.Sprintf("%s:%d -> %s:%d %s pid %d", s.Laddr.IP, s.Laddr.Port, s.Raddr.IP, s.Raddr.Port, s.Status, s.Pid))
		}
	}
	return n, lines, nil
}

// networkConnections: how many sockets match (server/client, tcp/udp/unix,
// local/remote port and address) against warning/critical ranges.
func networkConnections(ctx context.Context, r *Run) (*checks.Result, error) {
	f, err := newSockFilter(r, false)
	if err != nil {
		return nil, err
	}
	n, lines, err := countSockets(ctx, f)
	if err != nil {
		return nil, err
	}
	w, c := r.Param("warning", ""), r.Param("critical", "")
	res, err := threshold(float64(n), w, c, fmt.Sprintf("%d matching connection(s)", n), perf("connections", float64(n), "", w, c, 0))
	if res != nil {
		res.LongOutput = strings.Join(lines, "\n")
	}
	return res, err
}

// portListeners: how many listening sockets match local_port and
// local_address, against warning/critical ranges (1:2: one or two).
func portListeners(ctx context.Context, r *Run) (*checks.Result, error) {
	f, err := newSockFilter(r, true)
	if err != nil {
		return nil, err
	}
	n, lines, err := countSockets(ctx, f)
	if err != nil {
		return nil, err
	}
	what := "listening socket(s)"
	if f.localPort != 0 {
		what += fmt.Sprintf(" on port %d", f.localPort)
	}
	w, c := r.Param("warning", ""), r.Param("critical", "")
	res, err := threshold(float64(n), w, c, fmt.Sprintf("%d %s", n, what), perf("listeners", float64(n), "", w, c, 0))
	if res != nil {
		res.LongOutput = strings.Join(lines, "\n")
	}
	return res, err
}
