package ssh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// execResult is what a remote command produced.
type execResult struct {
	exit           int
	stdout, stderr []byte
	dropped        int64
}

// exec runs command in a new session to t and collects its output (capped)
// and exit status. At ctx's end the remote command is sent SIGKILL and its
// session closed.
func (e *Engine) exec(ctx context.Context, t target, command, stdin string) (*execResult, error) {
	var res *execResult
	err := e.withSession(ctx, t, func(s *gossh.Session) error {
		var err error
		res, err = e.runIn(ctx, s, command, stdin)
		return err
	})
	return res, err
}

// runIn runs command in session s.
func (e *Engine) runIn(ctx context.Context, s *gossh.Session, command, stdin string) (*execResult, error) {
	capped := &limitedPair{limit: e.opts.OutputCap}
	s.Stdout, s.Stderr = capped.out(), capped.err()
	if stdin != "" {
		s.Stdin = strings.NewReader(stdin)
	}
	stop := context.AfterFunc(ctx, func() {
		_ = s.Signal(gossh.SIGKILL)
		_ = s.Close()
	})
	err := s.Run(command)
	interrupted := !stop()
	capped.mu.Lock()
	res := &execResult{stdout: capped.o.buf, stderr: capped.e.buf, dropped: capped.dropped}
	capped.mu.Unlock()
	var exitErr *gossh.ExitError
	switch {
	case interrupted:
		return res, context.Cause(ctx)
	case err == nil:
		return res, nil
	case errors.As(err, &exitErr):
		if exitErr.Signal() != "" {
			res.exit = -1
			res.stderr = append(res.stderr, fmt.Sprintf("\n(killed by signal %s)", exitErr.Signal())...)
			return res, nil
		}
		res.exit = exitErr.ExitStatus()
		return res, nil
	}
	var missing *gossh.ExitMissingError
	if errors.As(err, &missing) {
		return res, errors.New("the server closed the session without an exit status")
	}
	return res, err
}

// runNagios is the "nagios" executor: command_line runs on the remote host
// and its exit code and output are a Nagios plugin's.
func (e *Engine) runNagios(ctx context.Context, req *checks.Request) *checks.Result {
	command := strings.TrimSpace(req.Param("command_line", req.CommandLine))
	if command == "" {
		return &checks.Result{Status: checks.StatusError, Output: `parameter "command_line" is required: the command to run on the remote host`}
	}
	t, err := targetOf(req)
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	started := time.Now()
	out, err := e.exec(ctx, t, command, "")
	if err != nil {
		res := failure(ctx, t, err)
		if res.Status == checks.StatusTimeout {
			res.Output = fmt.Sprintf("remote command did not finish within %s over SSH to %s: %s", time.Since(started).Round(time.Millisecond), t.addr, command)
		}
		return res
	}
	return pluginResult(out, command)
}

// pluginResult reads a remote plugin's output the way Nagios reads a local
// one: exit 0..3 is OK..UNKNOWN; anything else is UNKNOWN with an
// explanation, as check_by_ssh reports it.
func pluginResult(out *execResult, command string) *checks.Result {
	text := out.stdout
	if len(text) == 0 && len(out.stderr) > 0 {
		text = append([]byte("(No output on stdout) stderr: "), out.stderr...)
	}
	po := checks.ParsePluginOutput(text)
	res := &checks.Result{Output: po.Status, LongOutput: po.LongOutput}
	res.Perfdata, res.PerfdataWarnings = checks.ParsePerfdata(po.Perfdata)
	if len(out.stdout) > 0 && len(out.stderr) > 0 {
		res.LongOutput = joinLines(res.LongOutput, strings.TrimRight(checks.ParsePluginOutput(out.stderr).Status, "\n"))
	}
	if out.dropped > 0 {
		res.LongOutput += fmt.Sprintf("\n(Bergamot kept the first %d bytes of the remote output and discarded %d more)", len(out.stdout)+len(out.stderr), out.dropped)
	}
	if st, ok := checks.FromNagiosExit(out.exit); ok {
		res.Status = st
		return res
	}
	res.Status = checks.StatusUnknown
	name := command
	if f := strings.Fields(command); len(f) > 0 {
		name = f[0]
	}
	switch out.exit {
	case 126:
		res.Output = fmt.Sprintf("remote command %s is not executable (exit 126)", name)
	case 127:
		res.Output = fmt.Sprintf("remote command %s not found (exit 127)", name)
	case -1:
		res.Output = fmt.Sprintf("remote command %s was killed by a signal", name)
	default:
		res.Output = fmt.Sprintf("remote command %s exited %d (a plugin returns 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN)", name, out.exit)
	}
	if po.Status != checks.NoOutput {
		res.LongOutput = joinLines(po.Status, res.LongOutput)
	}
	return res
}

func joinLines(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// limitedPair captures stdout and stderr within one shared byte budget.
type limitedPair struct {
	mu      sync.Mutex // the session copies stdout and stderr in two goroutines
	limit   int
	o, e    limitedBuf
	dropped int64
}

type limitedBuf struct {
	p   *limitedPair
	buf []byte
}

func (l *limitedPair) out() *limitedBuf { l.o.p = l; return &l.o }
func (l *limitedPair) err() *limitedBuf { l.e.p = l; return &l.e }

func (b *limitedBuf) Write(p []byte) (int, error) {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	room := b.p.limit - len(b.p.o.buf) - len(b.p.e.buf)
	n := min(max(room, 0), len(p))
	b.buf = append(b.buf, p[:n]...)
	b.p.dropped += int64(len(p) - n)
	return len(p), nil
}
