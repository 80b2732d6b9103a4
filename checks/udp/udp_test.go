package udp_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck/certtest"
	"github.com/bergamot-monitoring/bergamot/checks/udp"
)

// echoServer answers every datagram with "echo: " + it, except "quiet" which
// it ignores and "twice" which it first answers with "provisional".
func echoServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if bytes.Equal(buf[:n], []byte("quiet")) {
				continue
			}
			if bytes.Equal(buf[:n], []byte("twice")) {
				_, _ = pc.WriteTo([]byte("provisional"), from)
			}
			_, _ = pc.WriteTo(append([]byte("echo: "), buf[:n]...), from)
		}
	}()
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return pc.LocalAddr().String()
}

func TestUDP(t *testing.T) {
	base := certtest.Snapshot()
	t.Cleanup(func() { base.Check(t, 0) })
	addr := echoServer(t)
	h, port, _ := net.SplitHostPort(addr)
	closed, _ := net.ListenPacket("udp", "127.0.0.1:0")
	_, deadPort, _ := net.SplitHostPort(closed.LocalAddr().String())
	closed.Close()
	e := udp.New(udp.Options{})
	cases := []struct {
		name    string
		params  map[string]string
		timeout time.Duration
		status  checks.Status
		output  string
	}{
		{"echo", map[string]string{"host": h, "port": port, "send": "hello", "expect": "echo: hello"}, time.Second, checks.StatusOK, `UDP OK - ` + addr + ` answered "echo: hello" in `},
		{"any reply", map[string]string{"host": h, "port": port, "send": `ping\n`}, time.Second, checks.StatusOK, "UDP OK"},
		{"wrong reply", map[string]string{"host": h, "port": port, "send": "hello", "expect": "pong"}, time.Second, checks.StatusCritical, `expected "pong" from ` + addr + ` but received "echo: hello"`},
		{"second reply", map[string]string{"host": h, "port": port, "send": "twice", "expect": "echo: twice"}, time.Second, checks.StatusOK, `UDP OK - ` + addr + ` answered "echo: twice" in `},
		{"neither reply", map[string]string{"host": h, "port": port, "send": "twice", "expect": "pong"}, time.Second, checks.StatusCritical, `but received "echo: twice"`},
		{"any first reply", map[string]string{"host": h, "port": port, "send": "twice"}, time.Second, checks.StatusOK, `answered "provisional"`},
		{"no reply", map[string]string{"host": h, "port": port, "send": "quiet"}, 150 * time.Millisecond, checks.StatusTimeout, "TIMEOUT - no reply from " + addr},
		{"port closed", map[string]string{"host": h, "port": deadPort, "send": "hello"}, time.Second, checks.StatusCritical, "port unreachable"},
		{"no send", map[string]string{"host": h, "port": port}, time.Second, checks.StatusError, `parameter "send" is required`},
		{"bad idle", map[string]string{"host": h, "port": port, "send": "hello", "expect_idle_ms": "soon"}, time.Second, checks.StatusError, `expect_idle_ms`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			res, err := e.Execute(ctx, &checks.Request{Parameters: c.params})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.status || !strings.Contains(res.Output, c.output) {
				t.Fatalf("got %s %q, want %s containing %q", res.Status, res.Output, c.status, c.output)
			}
		})
	}
}

// TestUDPIdle: after a reply without "expect", the check waits
// expect_idle_ms for another, not the whole timeout.
func TestUDPIdle(t *testing.T) {
	addr := echoServer(t)
	h, port, _ := net.SplitHostPort(addr)
	e := udp.New(udp.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t0 := time.Now()
	res, err := e.Execute(ctx, &checks.Request{Parameters: map[string]string{"host": h, "port": port, "send": "hello", "expect": "pong", "expect_idle_ms": "100"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != checks.StatusCritical || !strings.Contains(res.Output, `but received "echo: hello"`) {
		t.Fatalf("got %s %q, want CRITICAL: expected but received", res.Status, res.Output)
	}
	if took := time.Since(t0); took > 10*time.Second {
		t.Fatalf("took %v: waited for the check's deadline instead of expect_idle_ms", took)
	}
}
