package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/jobs"
)

// The bench's peer is the service the tcp/http checks (native or plugin)
// talk to. It runs as a child process of the same binary
// (`bergamot bench --peer tcp|http --listen 127.0.0.1:0`, not in --help) so
// its CPU is not counted as Bergamot's. It prints its address on the first
// line of stdout and exits when its stdin closes, so it never outlives the
// bench, even one killed with -9.

// isPeerMode reports whether args ask for the hidden peer mode.
func isPeerMode(args []string) bool {
	return len(args) > 0 && (args[0] == "--peer" || args[0] == "-peer" ||
		strings.HasPrefix(args[0], "--peer=") || strings.HasPrefix(args[0], "-peer="))
}

// runBenchPeer serves kind ("tcp": accept, wait for the client to close,
// close; "http": 200 "hello") on --listen until stdin closes.
func runBenchPeer(ctx context.Context, args []string) error {
	fs := newFlags("bench --peer", "bergamot bench --peer tcp|http [--listen 127.0.0.1:0]")
	kind := fs.String("peer", "", "tcp or http")
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("bench peer: %w", err)
	}
	defer ln.Close()
	go func() { <-ctx.Done(); ln.Close() }()
	fmt.Println(ln.Addr().String())
	switch *kind {
	case "tcp":
		for {
			c, err := ln.Accept()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				time.Sleep(10 * time.Millisecond) // e.g. EMFILE: let connections drain
				continue
			}
			go drainAndClose(c)
		}
	case "http":
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = io.WriteString(w, "hello")
			}),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       90 * time.Second,
		}
		go func() { <-ctx.Done(); srv.Close() }()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil {
			return fmt.Errorf("bench peer: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("bench peer: --peer %q: want tcp or http", *kind)
	}
}

// drainAndClose waits for the client to close (EOF or reset) before closing,
// so the client decides how the connection ends, as with most services.
func drainAndClose(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.Copy(io.Discard, c)
}

// benchPeer is a running peer child process.
type benchPeer struct {
	cmd   *exec.Cmd
	stdin io.Closer
	Addr  string
	Port  int
}

// startBenchPeer starts this binary as a peer of kind and waits for its address.
func startBenchPeer(ctx context.Context, kind string) (*benchPeer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench peer: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "--peer", kind, "--listen", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench peer: %w", err)
	}
	// When ctx ends first, stop the peer as stop does: close its stdin (it
	// exits), and kill it if it lingers.
	cmd.Cancel = func() error { return in.Close() }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench peer: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench peer: %w", err)
	}
	p := &benchPeer{cmd: cmd, stdin: in}
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-line:
		_, port, err := net.SplitHostPort(l)
		if n, perr := strconv.Atoi(port); ok && err == nil && perr == nil {
			p.Addr, p.Port = l, n
			return p, nil
		}
		p.stop()
		return nil, fmt.Errorf("bench peer %s: did not print its address (got %q)", kind, l)
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, fmt.Errorf("bench peer %s: no address within 15s", kind)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// stop closes the peer's stdin (it exits), kills it if it lingers, and reaps it.
func (p *benchPeer) stop() {
	if p == nil {
		return
	}
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// benchCPU is a snapshot of CPU seconds used so far.
type benchCPU struct {
	self, children, peer, postgres float64
}

// readCPU reads this process's and its reaped children's CPU
// (getrusage), the peer's and, when known, the PostgreSQL cluster's
// (postmaster, its live backends and its reaped ones, from /proc).
func readCPU(peerPID, pgPID int) benchCPU {
	var c benchCPU
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.self = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil {
		c.children = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	if peerPID > 0 {
		c.peer = procCPU(peerPID, false)
	}
	if pgPID > 0 {
		c.postgres = procCPU(pgPID, true)
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pgPID, pgPID))
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				c.postgres += procCPU(pid, true)
			}
		}
	}
	return c
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// procCPU returns utime+stime (and, with reaped, cutime+cstime) of pid in
// seconds from /proc/PID/stat (clock ticks of 1/100 s, USER_HZ on Linux).
func procCPU(pid int, reaped bool) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // comm may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime is field 14
	if len(f) < 15 {
		return 0
	}
	n := 2
	if reaped {
		n = 4
	}
	var ticks float64
	for _, v := range f[11 : 11+n] {
		t, _ := strconv.ParseFloat(v, 64)
		ticks += t
	}
	return ticks / 100
}

// postmasterPID returns the private cluster's postmaster PID under data, or 0.
func postmasterPID(data string) int {
	for _, pat := range []string{"postgres/postmaster.pid", "postgres/*/postmaster.pid"} {
		m, _ := filepath.Glob(filepath.Join(data, pat))
		for _, f := range m {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			first, _, _ := strings.Cut(string(b), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil {
				return pid
			}
		}
	}
	return 0
}

// loadAverage returns the 1-minute load average from /proc/loadavg.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// statusSink counts, while recording, results that were not OK: a bench
// whose checks fail measures something else than it claims.
type statusSink struct {
	recording atomic.Bool
	notOK     atomic.Int64
	example   atomic.Pointer[string]
}

func (s *statusSink) HandleEvents(_ context.Context, _ pgx.Tx, p *jobs.ProcessedCheck) error {
	if s.recording.Load() && p.Result != nil && p.Result.Status != checks.StatusOK {
		s.notOK.Add(1)
		if s.example.Load() == nil {
			msg := p.Result.Status.String() + ": " + p.Result.Output
			s.example.CompareAndSwap(nil, &msg)
		}
	}
	return nil
}
