// Package icmp is the native "icmp" check engine: it pings a host (IPv4 or
// IPv6) and judges round-trip average and packet loss as check_ping does.
// It uses unprivileged ICMP datagram sockets where net.ipv4.ping_group_range
// allows, and raw ICMP sockets otherwise (which need root or CAP_NET_RAW).
package icmp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

// Options configure the engine.
type Options struct {
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// Privileged forces raw sockets instead of trying datagram sockets first.
	Privileged bool
}

// Engine is the "icmp" engine.
type Engine struct {
	log        *slog.Logger
	privileged bool
}

var _ checks.Engine = (*Engine)(nil)

// New returns an icmp engine.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{log: opts.Logger, privileged: opts.Privileged}
}

// Name returns "icmp".
func (e *Engine) Name() string { return "icmp" }

type spec struct {
	host       string
	packets    int
	interval   time.Duration
	warn, crit limit
	family     string // "", "4" or "6"
	net        *netpolicy.Policy
}

func parse(req *checks.Request) (*spec, error) {
	host, err := netcheck.Host(req)
	if err != nil {
		return nil, err
	}
	s := &spec{net: req.Policy.Network(), host: host, family: strings.TrimPrefix(strings.ToLower(req.Param("ip_version", "")), "ipv")}
	if s.packets, err = req.IntParam("packets", 5); err != nil {
		return nil, err
	}
	if s.packets < 1 || s.packets > 100 {
		return nil, fmt.Errorf("parameter %q: %d is not 1-100", "packets", s.packets)
	}
	ms, err := req.IntParam("interval", 200)
	if err != nil {
		return nil, err
	}
	s.interval = time.Duration(ms) * time.Millisecond
	if s.warn, err = parseLimit("warning", req.Param("warning", "")); err != nil {
		return nil, err
	}
	if s.crit, err = parseLimit("critical", req.Param("critical", "")); err != nil {
		return nil, err
	}
	if s.family != "" && s.family != "4" && s.family != "6" {
		return nil, fmt.Errorf("parameter %q: %q is not 4 or 6", "ip_version", s.family)
	}
	return s, nil
}

// CheckPolicy implements checks.PolicyChecker: under hosted, no loopback or
// private literal target.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	return netcheck.CheckPolicy(ctx, p, req)
}

// Execute pings the host. Parameters: host, packets (default 5), interval
// (ms between packets, default 200), warning and critical ("rta,pl%"),
// ip_version (4 or 6, default: as the name resolves, IPv4 first).
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	var res *checks.Result
	s, err := parse(req)
	if err != nil {
		res = &checks.Result{Status: checks.StatusError, Output: "PING check misconfigured: " + err.Error()}
	} else {
		res, err = e.ping(ctx, s)
		if err != nil {
			return nil, err
		}
	}
	res.Started, res.Runtime = start, time.Since(start)
	e.log.DebugContext(ctx, "icmp check", slog.String("check", req.CheckID), slog.String("status", res.Status.String()))
	return res, nil
}

func (e *Engine) resolve(ctx context.Context, s *spec) (net.IP, error) {
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, s.host)
	if err != nil {
		return nil, err
	}
	var v6 net.IP
	for _, a := range addrs {
		if a.IP.To4() != nil && s.family != "6" {
			return a.IP, nil
		}
		if a.IP.To4() == nil && v6 == nil {
			v6 = a.IP
		}
	}
	if v6 != nil && s.family != "4" {
		return v6, nil
	}
	return nil, fmt.Errorf("%s has no IPv%s address", s.host, s.family)
}

func (e *Engine) ping(ctx context.Context, s *spec) (*checks.Result, error) {
	ip, err := e.resolve(ctx, s)
	if err != nil {
		st := netcheck.FailStatus(ctx, err)
		return &checks.Result{Status: st, Output: fmt.Sprintf("%s - cannot resolve %s: %s", st, s.host, netcheck.Describe(ctx, err))}, nil
	}
	// The address resolved once is checked and pinged: no second lookup.
	if a, ok := netip.AddrFromSlice(ip); ok {
		if err := s.net.Check(a.Unmap()); err != nil {
			return &checks.Result{Status: checks.StatusError, Output: (&checks.PolicyError{Rule: "outbound connections only to public addresses", Detail: err.Error()}).Error()}, nil
		}
	}
	sock, err := openSocket(ip.To4() == nil, e.privileged)
	if err != nil {
		// Bergamot itself cannot ping from here: an engine error, not a host problem.
		return nil, err
	}
	defer sock.close()
	stop := context.AfterFunc(ctx, func() { _ = sock.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	rtts, err := exchange(ctx, sock, ip, s)
	if err != nil {
		st := netcheck.FailStatus(ctx, err)
		return &checks.Result{Status: st, Output: fmt.Sprintf("%s - pinging %s failed: %s", st, ip, netcheck.Describe(ctx, err))}, nil
	}
	return judge(s, ip, rtts), nil
}

// exchange sends the echo requests and collects round-trip times by
// sequence number; a lost packet has no entry.
func exchange(ctx context.Context, sock *socket, ip net.IP, s *spec) (map[int]time.Duration, error) {
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := int(binary.BigEndian.Uint16(idb[:]))
	sent := make(map[int]time.Time, s.packets)
	rtts := make(map[int]time.Duration, s.packets)
	wait := time.Second
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	for seq := 0; seq < s.packets; seq++ {
		sent[seq] = time.Now()
		if err := sock.send(ip, id, seq); err != nil {
			return nil, err
		}
		until := sent[seq].Add(s.interval)
		if seq == s.packets-1 {
			until = sent[seq].Add(wait)
		}
		if err := sock.receive(ctx, id, until, sent, rtts); err != nil {
			return nil, err
		}
		if len(rtts) == s.packets || ctx.Err() != nil {
			break
		}
	}
	// When ctx ended early, the packets not answered by then count as lost.
	return rtts, nil //nolint:nilerr // the end of ctx ends the exchange, it is not a failure
}

func judge(s *spec, ip net.IP, rtts map[int]time.Duration) *checks.Result {
	loss := 100 * float64(s.packets-len(rtts)) / float64(s.packets)
	var sum time.Duration
	for _, d := range rtts {
		sum += d
	}
	rta := -1.0
	if len(rtts) > 0 {
		rta = float64(sum) / float64(len(rtts)) / float64(time.Millisecond)
	}
	status := checks.StatusOK
	switch {
	case s.crit.exceeded(rta, loss, len(rtts) > 0) || len(rtts) == 0:
		status = checks.StatusCritical
	case s.warn.exceeded(rta, loss, len(rtts) > 0):
		status = checks.StatusWarning
	}
	pl := netcheck.Perf("pl", loss, "%", limitText(s.warn, true), limitText(s.crit, true), netcheck.Zero())
	if len(rtts) == 0 {
		return &checks.Result{Status: status, Output: fmt.Sprintf("PING CRITICAL - %s: Packet loss = 100%% (%d sent, no reply)", ip, s.packets),
			Perfdata: []checks.Perfdata{pl}}
	}
	return &checks.Result{
		Status: status,
		Output: fmt.Sprintf("PING %s - %s: Packet loss = %.0f%%, RTA = %.2f ms", status, ip, loss, rta),
		Perfdata: []checks.Perfdata{
			netcheck.Perf("rta", rta, "ms", limitText(s.warn, false), limitText(s.crit, false), netcheck.Zero()),
			pl,
		},
	}
}

func limitText(l limit, loss bool) string {
	if !l.set {
		return ""
	}
	if loss {
		return fmt.Sprintf("%g", l.lossPct)
	}
	return fmt.Sprintf("%f", l.rtaMS)
}

var errNoSocket = errors.New("cannot open an ICMP socket")
