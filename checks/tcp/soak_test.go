package tcp_test

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/tcp"
)

// TestSoak is a measurement, not a regular test: with BERGAMOT_TCP_SOAK set
// to a duration (e.g. 60s) it runs connect checks at BERGAMOT_TCP_RATE
// (default 5000/s) against a loopback listener and logs, every 5 s, the
// checks/s achieved, failures, and how many TIME_WAIT sockets the client
// and the server side hold. BERGAMOT_TCP_EXPECT=1 adds a banner exchange;
// BERGAMOT_TCP_SILENT=1 targets a server that sends nothing.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("BERGAMOT_TCP_SOAK"))
	if err != nil {
		t.Skip("set BERGAMOT_TCP_SOAK=60s to run the TIME_WAIT soak measurement")
	}
	rate := 5000
	if r := os.Getenv("BERGAMOT_TCP_RATE"); r != "" {
		if _, err := fmtSscan(r, &rate); err != nil {
			t.Fatal(err)
		}
	}
	addr := bannerServer(t, nil)
	if os.Getenv("BERGAMOT_TCP_SILENT") != "" {
		addr = silentServer(t)
	}
	h, port, _ := net.SplitHostPort(addr)
	params := map[string]string{"host": h, "port": port}
	if os.Getenv("BERGAMOT_TCP_EXPECT") != "" {
		params["expect"] = "ESMTP"
	}
	if c := os.Getenv("BERGAMOT_TCP_CLOSE"); c != "" {
		params["close"] = c
	}
	e := tcp.New(tcp.Options{})
	var ok, failed atomic.Int64
	var lastFail atomic.Value
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	// A token bucket paced by a ticker; 64 workers take tokens.
	tokens := make(chan struct{}, rate)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				close(tokens)
				return
			case <-tick.C:
				for range rate / 100 {
					select {
					case tokens <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range tokens {
				cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
				res, _ := e.Execute(cctx, &checks.Request{Engine: "tcp", Parameters: params})
				ccancel()
				if res.Status == checks.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
					lastFail.Store(res.Output)
				}
			}
		}()
	}
	start, prev, cpuPrev := time.Now(), int64(0), cpuTime()
	report := time.NewTicker(5 * time.Second)
	defer report.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-report.C:
		}
		n, cpu := ok.Load(), cpuTime()
		client, server := timeWait(port)
		t.Logf("t=%3.0fs  %6.0f checks/s  %5.1f cpu-ms/1000  failed=%d  TIME_WAIT client-side=%d server-side=%d  last failure: %v",
			time.Since(start).Seconds(), float64(n-prev)/5, (cpu-cpuPrev).Seconds()*1e6/float64(max(n-prev, 1)),
			failed.Load(), client, server, lastFail.Load())
		prev, cpuPrev = n, cpu
	}
	wg.Wait()
}

// timeWait counts TIME_WAIT sockets to (client side) and from (server side)
// the given port, as ss(8) reports them.
func timeWait(port string) (client, server int) {
	out, err := exec.Command("ss", "-Htan", "state", "time-wait").Output()
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		switch {
		case strings.HasSuffix(f[3], ":"+port):
			client++
		case strings.HasSuffix(f[2], ":"+port):
			server++
		}
	}
	return client, server
}

// silentServer accepts connections, sends nothing, and closes each one when
// the client does (a service that waits for the client to speak first).
func silentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveConns(t, ln, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	return ln.Addr().String()
}
