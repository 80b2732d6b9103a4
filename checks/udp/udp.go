// Package udp is the native "udp" check engine: it sends a datagram to a
// port and expects a reply containing a given string within the timeout.
package udp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
)

// Options configure the engine.
type Options struct {
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Engine is the "udp" engine.
type Engine struct{ log *slog.Logger }

var _ checks.Engine = (*Engine)(nil)

// New returns a udp engine.
func New(opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{log: opts.Logger}
}

// Name returns "udp".
func (e *Engine) Name() string { return "udp" }

// CheckPolicy implements checks.PolicyChecker: under hosted, no loopback or
// private literal target.
func (e *Engine) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	return netcheck.CheckPolicy(ctx, p, req)
}

// Execute sends "send" to host:port and waits for a reply containing
// "expect" (any reply when expect is empty). Parameters: host, port, send,
// expect, expect_idle_ms (after a reply without expect, how long to wait
// for another; default 500), warning_response_time, critical_response_time
// (ms).
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	res := e.run(ctx, req, start)
	res.Started, res.Runtime = start, time.Since(start)
	e.log.DebugContext(ctx, "udp check", slog.String("check", req.CheckID), slog.String("status", res.Status.String()))
	return res, nil
}

func (e *Engine) run(ctx context.Context, req *checks.Request, start time.Time) *checks.Result {
	host, err := netcheck.Host(req)
	if err != nil {
		return misconfigured(err)
	}
	port, err := netcheck.Port(req, 0)
	if err != nil {
		return misconfigured(err)
	}
	send := netcheck.Unescape(req.Param("send", ""))
	if send == "" {
		return misconfigured(errors.New(`parameter "send" is required: UDP needs a datagram to provoke a reply`))
	}
	expect := netcheck.Unescape(req.Param("expect", ""))
	idleMS, err := req.IntParam("expect_idle_ms", 500)
	if err != nil {
		return misconfigured(err)
	}
	times, err := netcheck.ParseThresholds("warning_response_time", req.Param("warning_response_time", ""),
		"critical_response_time", req.Param("critical_response_time", ""))
	if err != nil {
		return misconfigured(err)
	}
	addr := netcheck.Address(host, port)
	conn, err := req.Policy.Network().Dialer(nil).DialContext(ctx, "udp", addr)
	if err != nil {
		return failed(ctx, err, addr, time.Since(start))
	}
	defer conn.Close()
	stop := netcheck.BindConn(ctx, conn)
	defer stop()
	if _, err := conn.Write([]byte(send)); err != nil {
		return failed(ctx, err, addr, time.Since(start))
	}
	// Datagrams without expect are passed over (a service may answer with
	// several, a provisional one first); once one has come, the wait for
	// another ends after expect_idle_ms of silence, as the tcp engine's.
	buf := make([]byte, 64<<10)
	var last []byte // the last datagram read, when it lacked expect
	mismatched := false
	for {
		n, err := conn.Read(buf)
		elapsed := time.Since(start)
		if err != nil {
			if mismatched {
				return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("UDP CRITICAL - expected %q from %s but received %q",
					expect, addr, netcheck.Printable(last, 60))}
			}
			return failed(ctx, err, addr, elapsed)
		}
		got := buf[:n]
		if expect != "" && !strings.Contains(string(got), expect) {
			last, mismatched = append(last[:0], got...), true
			if idleMS > 0 {
				d := time.Now().Add(time.Duration(idleMS) * time.Millisecond)
				if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
					d = cd
				}
				_ = conn.SetReadDeadline(d)
				if ctx.Err() != nil { // ended before the line above replaced the deadline BindConn set
					_ = conn.SetReadDeadline(time.Unix(1, 0))
				}
			}
			continue
		}
		st := times.Evaluate(float64(elapsed) / float64(time.Millisecond))
		pt := times.Scale(0.001)
		return &checks.Result{Status: st,
			Output:   fmt.Sprintf("UDP %s - %s answered %q in %s", st, addr, netcheck.Printable(got, 60), netcheck.Millis(elapsed)),
			Perfdata: []checks.Perfdata{netcheck.Perf("time", elapsed.Seconds(), "s", pt.WarnRaw(), pt.CritRaw(), netcheck.Zero())}}
	}
}

func failed(ctx context.Context, err error, addr string, elapsed time.Duration) *checks.Result {
	st := netcheck.FailStatus(ctx, err)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("CRITICAL - port unreachable: nothing listens on %s (ICMP port unreachable after %s)", addr, netcheck.Millis(elapsed))}
	case st == checks.StatusTimeout:
		return &checks.Result{Status: st, Output: fmt.Sprintf("TIMEOUT - no reply from %s within %s", addr, netcheck.Millis(elapsed))}
	}
	return &checks.Result{Status: st, Output: fmt.Sprintf("%s - %s talking to %s after %s", st, netcheck.Describe(ctx, err), addr, netcheck.Millis(elapsed))}
}

func misconfigured(err error) *checks.Result {
	return &checks.Result{Status: checks.StatusError, Output: "UDP check misconfigured: " + err.Error()}
}
