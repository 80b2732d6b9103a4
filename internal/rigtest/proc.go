package rigtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary builds cmd/bergamot once per test binary and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		ctx := context.Background()
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil {
			binErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		dir, err := os.MkdirTemp("", "bergamot-rig-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bergamot")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", binPath, "./cmd/bergamot")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("building bergamot: %v", binErr)
	}
	return binPath
}

// Proc is one bergamot process of the rig: a role with its arguments and
// environment, which the rig can kill -9, stop, continue and restart.
type Proc struct {
	Name string
	Role string
	t    testing.TB
	args []string
	env  []string

	mu          sync.Mutex
	cmd         *exec.Cmd
	done        chan struct{}
	addr        string // "serving" address (serve)
	metricsAddr string // "metrics listening" address
	started     chan struct{}
	starts      int
	logs        []string
}

// start runs the process and follows its JSON log for the addresses it
// reports.
func (p *Proc) start() {
	p.t.Helper()
	cmd := exec.CommandContext(context.Background(), Binary(p.t), append([]string{"--log-format", "json"}, p.args...)...) // Kill ends it
	cmd.Env = p.env
	// Setpgid: kill -9 takes the plugins it runs too; Pdeathsig: a test
	// binary that dies (a -timeout panic) leaves no process behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting %s: %v", p.Name, err)
	}
	p.mu.Lock()
	p.cmd, p.done, p.started = cmd, make(chan struct{}), make(chan struct{})
	p.addr, p.metricsAddr = "", ""
	p.starts++
	done, started := p.done, p.started
	p.mu.Unlock()
	go p.follow(stderr, started)
	go func() { _ = cmd.Wait(); close(done) }()
}

func (p *Proc) follow(r io.Reader, started chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	once := sync.Once{}
	for sc.Scan() {
		var l struct{ Msg, Addr string }
		line := sc.Text()
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			p.mu.Lock() // a plain line: the error a failing command prints last
			p.logs = append(p.logs, line)
			p.mu.Unlock()
		} else {
			p.mu.Lock()
			switch l.Msg {
			case "serving":
				p.addr = l.Addr
			case "metrics listening":
				p.metricsAddr = l.Addr
			}
			if len(p.logs) < 5000 {
				p.logs = append(p.logs, line)
			}
			p.mu.Unlock()
			switch {
			case l.Msg == "serving" && p.Role == "serve",
				l.Msg == "worker started" || l.Msg == "remote worker starting" || l.Msg == "notifier started",
				l.Msg == "agent manager serving":
				once.Do(func() { close(started) })
			}
		}
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "[%s] %s\n", p.Name, line)
		}
	}
}

// Wait waits until the process says it has started (within d).
func (p *Proc) Wait(d time.Duration) {
	p.t.Helper()
	p.mu.Lock()
	started, done := p.started, p.done
	p.mu.Unlock()
	select {
	case <-started:
	case <-done:
		p.t.Fatalf("%s exited while starting:\n%s", p.Name, p.Logs(30))
	case <-time.After(d):
		p.t.Fatalf("%s did not start within %s:\n%s", p.Name, d, p.Logs(30))
	}
}

// Logs returns the last n log lines.
func (p *Proc) Logs(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.logs
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// Addr is the serve node's HTTP address (host:port), once serving.
func (p *Proc) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// MetricsAddr is where the process serves /metrics (a serve node: its
// HTTP address).
func (p *Proc) MetricsAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.metricsAddr != "" {
		return p.metricsAddr
	}
	return p.addr
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

func (p *Proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, sig)
	}
}

// Kill is kill -9 of the process (and the plugins it runs), waited for.
func (p *Proc) Kill() {
	p.signal(syscall.SIGKILL)
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	<-done
}

// Stop freezes the process with SIGSTOP: it holds its connections, locks
// and jobs but does nothing, like a node in a long GC pause or a hung VM.
func (p *Proc) Stop() { p.signal(syscall.SIGSTOP) }

// Cont resumes a stopped process.
func (p *Proc) Cont() { p.signal(syscall.SIGCONT) }

// Term asks the process to stop (SIGTERM) and waits up to d.
func (p *Proc) Term(d time.Duration) bool {
	p.signal(syscall.SIGTERM)
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// Restart starts the process again with the same arguments (after Kill)
// and waits until it has started: a supervisor's Restart=always.
func (p *Proc) Restart() {
	p.t.Helper()
	if !p.Exited() {
		p.Kill()
	}
	p.start()
	p.Wait(4 * time.Minute)
}

// WaitCtx waits for ctx or the process's end; true when it ended.
func (p *Proc) WaitCtx(ctx context.Context) bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
