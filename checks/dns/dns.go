// Package dns is the native "dns" check engine: it asks a given DNS server
// for a name's A, AAAA, CNAME, MX, TXT, NS, PTR or SOA records and checks
// the answers and the response time.
package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/internal/netpolicy"
)

// Options configure the engine.
type Options struct {
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Engine is the "dns" engine.
type Engine struct{ log *slog.Logger }

var _ checks.Engine = (*Engine)(nil)

// New returns a dns engine.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{log: opts.Logger}
}

// Name returns "dns".
func (e *Engine) Name() string { return "dns" }

var recordTypes = map[string]uint16{
	"A": mdns.TypeA, "AAAA": mdns.TypeAAAA, "CNAME": mdns.TypeCNAME, "MX": mdns.TypeMX,
	"TXT": mdns.TypeTXT, "NS": mdns.TypeNS, "PTR": mdns.TypePTR, "SOA": mdns.TypeSOA,
}

type query struct {
	name, qtype, server, proto string
	expect                     []string
	times                      netcheck.Thresholds
	net                        *netpolicy.Policy
}

func parse(req *checks.Request) (*query, error) {
	q := &query{net: req.Policy.Network(), name: strings.TrimSpace(req.Param("name", req.Param("query", ""))),
		qtype: strings.ToUpper(strings.TrimSpace(req.Param("type", "A"))),
		proto: strings.ToLower(strings.TrimSpace(req.Param("protocol", "udp")))}
	if q.name == "" {
		return nil, errors.New(`parameter "name" is required (the name to look up)`)
	}
	if _, ok := recordTypes[q.qtype]; !ok {
		return nil, fmt.Errorf("parameter %q: %q is not a supported record type (A, AAAA, CNAME, MX, TXT, NS, PTR, SOA)", "type", q.qtype)
	}
	if q.proto != "udp" && q.proto != "tcp" {
		return nil, fmt.Errorf("parameter %q: %q is not udp or tcp", "protocol", q.proto)
	}
	server := strings.TrimSpace(req.Param("server", ""))
	if server == "" {
		h, err := netcheck.Host(req)
		if err != nil {
			return nil, fmt.Errorf(`parameter "server": no DNS server given and %w`, err)
		}
		server = h
	}
	port, err := netcheck.Port(req, 53)
	if err != nil {
		return nil, err
	}
	q.server = netcheck.Address(server, port)
	for _, a := range strings.Split(req.Param("expect", ""), ",") {
		if a = strings.TrimSpace(a); a != "" {
			q.expect = append(q.expect, normalise(a))
		}
	}
	q.times, err = netcheck.ParseThresholds("warning_response_time", req.Param("warning_response_time", ""),
		"critical_response_time", req.Param("critical_response_time", ""))
	return q, err
}

// normalise makes names comparable: lower case, no trailing dot.
func normalise(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".") }

// CheckPolicy implements checks.PolicyChecker: under hosted, the server
// (default the host) must not be a loopback or private literal address.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	return netcheck.CheckPolicy(ctx, p, req, "server")
}

// Execute runs one lookup. Parameters: name (or query), type, server (default
// the host), port, protocol, expect (comma-separated answers that must all be
// present), warning_response_time, critical_response_time (ms).
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	q, err := parse(req)
	var res *checks.Result
	if err != nil {
		res = &checks.Result{Status: checks.StatusError, Output: "DNS check misconfigured: " + err.Error()}
	} else {
		res = e.lookup(ctx, q)
	}
	res.Started, res.Runtime = start, time.Since(start)
	e.log.DebugContext(ctx, "dns check", slog.String("check", req.CheckID), slog.String("status", res.Status.String()))
	return res, nil
}

func (e *Engine) lookup(ctx context.Context, q *query) *checks.Result {
	msg := new(mdns.Msg)
	msg.SetQuestion(mdns.Fqdn(q.name), recordTypes[q.qtype])
	client := &mdns.Client{Net: q.proto}
	if d, ok := ctx.Deadline(); ok {
		client.Timeout = time.Until(d)
	}
	if q.net != nil {
		client.Dialer = q.net.Dialer(&net.Dialer{Timeout: client.Timeout})
	}
	reply, rtt, err := client.ExchangeContext(ctx, msg, q.server)
	if err != nil {
		st := netcheck.FailStatus(ctx, err)
		var ne net.Error
		if st == checks.StatusTimeout || errors.As(err, &ne) && ne.Timeout() {
			return &checks.Result{Status: checks.StatusTimeout, Output: fmt.Sprintf("TIMEOUT - no answer from DNS server %s", q.server)}
		}
		return &checks.Result{Status: st, Output: fmt.Sprintf("%s - DNS server %s: %s", st, q.server, netcheck.Describe(ctx, err))}
	}
	if reply.Rcode != mdns.RcodeSuccess {
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("DNS CRITICAL - %s %s: %s from %s",
			q.name, q.qtype, mdns.RcodeToString[reply.Rcode], q.server)}
	}
	answers := answersOf(reply, recordTypes[q.qtype])
	status := q.times.Evaluate(float64(rtt) / float64(time.Millisecond))
	var problems []string
	if len(answers) == 0 {
		status = checks.StatusCritical
		problems = append(problems, fmt.Sprintf("%s has no %s record", q.name, q.qtype))
	}
	for _, want := range q.expect {
		if !slices.ContainsFunc(answers, func(a string) bool { return normalise(a) == want }) {
			status = checks.StatusCritical
			problems = append(problems, fmt.Sprintf("expected %s not in the answer", want))
		}
	}
	out := fmt.Sprintf("DNS %s - %s %s %s from %s in %s", status, q.name, q.qtype, strings.Join(answers, ", "), q.server, netcheck.Millis(rtt))
	if len(problems) > 0 {
		out += " - " + strings.Join(problems, ", ")
	}
	pt := q.times.Scale(0.001)
	return &checks.Result{Status: status, Output: out,
		Perfdata: []checks.Perfdata{netcheck.Perf("time", rtt.Seconds(), "s", pt.WarnRaw(), pt.CritRaw(), netcheck.Zero())}}
}

// answersOf renders the answer records of type t as text ("10.0.0.1",
// "10 mail.example.com", "v=spf1 -all").
func answersOf(m *mdns.Msg, t uint16) []string {
	var out []string
	for _, rr := range m.Answer {
		if rr.Header().Rrtype != t {
			continue
		}
		var s string
		switch r := rr.(type) {
		case *mdns.A:
			s = r.A.String()
		case *mdns.AAAA:
			s = r.AAAA.String()
		case *mdns.CNAME:
			s = normalise(r.Target)
		case *mdns.MX:
			s = fmt.Sprintf("%d %s", r.Preference, normalise(r.Mx))
		case *mdns.TXT:
			s = strings.Join(r.Txt, "")
		case *mdns.NS:
			s = normalise(r.Ns)
		case *mdns.PTR:
			s = normalise(r.Ptr)
		default:
			s = strings.TrimPrefix(rr.String(), rr.Header().String())
		}
		out = append(out, s)
	}
	return out
}
