package nagios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// ExitParam is the request parameter choosing what an exit code outside
// 0-3 (and a plugin that cannot be started) gives: "error" (the default)
// is Bergamot's ERROR status with an explanation; "critical" is what
// nagios4 does, CRITICAL with nagios4's "(Return code of N ...)" text, so
// that a missing plugin pages like any other problem. `bergamot import
// nagios` sets it to "critical" on every imported command.
const ExitParam = "exit_out_of_bounds"

// nagios4Exits reports whether req asks for nagios4's out-of-bounds
// handling.
func nagios4Exits(req *checks.Request) bool {
	return strings.EqualFold(strings.TrimSpace(req.Param(ExitParam, "")), "critical")
}

// notFoundError is a plugin that is neither in the plugin directory nor on
// $PATH; it is fs.ErrNotExist for errors.Is.
type notFoundError struct{ msg string }

func (e notFoundError) Error() string        { return e.msg }
func (e notFoundError) Is(target error) bool { return target == fs.ErrNotExist }

// asNagios4Failure turns an ERROR result for a plugin that could not run
// into what nagios4 stores: CRITICAL, with the shell's exit code texts for
// a missing (127) or not executable (126) plugin; Bergamot's explanation
// moves to the long output.
func asNagios4Failure(res *checks.Result, err error) {
	res.Status = checks.StatusCritical
	var text string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		text = nagios4ExitText(127)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.ENOEXEC):
		text = nagios4ExitText(126)
	default:
		return
	}
	res.LongOutput = joinLines(res.Output, res.LongOutput)
	res.Output = text
}

// asNagios4Timeout turns a TIMEOUT result into what nagios4 stores for a
// check it killed at its deadline, without perfdata. A service check is
// service_check_timeout_state (CRITICAL by default) with the text
// "(Service check timed out after N.NN seconds)". A host check (kind
// "host") is "(Host check timed out after N.NN seconds)": nagios4 4.4's
// handle_async_host_check_result sets UNKNOWN, which its host logic then
// turns into DOWN (any result but OK, or WARNING without aggressive host
// checking, is DOWN; UNREACHABLE is decided from the parents later), so
// the host is DOWN, Bergamot's CRITICAL for a host. Unlike nagios4, which
// drops it, the output the plugin wrote before it was killed stays in the
// long output.
func asNagios4Timeout(res *checks.Result, ran time.Duration, kind string) {
	res.Status = checks.StatusCritical
	what := "Service"
	if kind == "host" {
		what = "Host"
	}
	res.Output = fmt.Sprintf("(%s check timed out after %.2f seconds)", what, ran.Seconds())
	res.Perfdata, res.PerfdataWarnings = nil, nil
}

// nagios4ExitText is nagios4 4.4's status text for an exit code outside
// 0-3 (for other codes it also names the service and host).
func nagios4ExitText(code int) string {
	switch code {
	case 126:
		return "(Return code of 126 is out of bounds. Check if plugin is executable)"
	case 127:
		return "(Return code of 127 is out of bounds. Check if plugin exists)"
	}
	return fmt.Sprintf("(Return code of %d was out of bounds)", code)
}

// exitResult turns a finished plugin's exit status and output into a Result.
// nagios4 selects nagios4's handling of exit codes outside 0-3.
func (e *Engine) exitResult(ctx context.Context, argv []string, ps *os.ProcessState, out *capture, nagios4 bool) *checks.Result {
	text := out.out.buf
	if len(out.out.buf) == 0 {
		// What nagios4 4.4 stores when stdout is empty, even when stderr
		// is empty too (a lone newline is "(No output returned from plugin)").
		text = append([]byte("(No output on stdout) stderr: "), out.err.buf...)
	}
	po := checks.ParsePluginOutput(text)
	res := &checks.Result{Output: po.Status, LongOutput: po.LongOutput}
	res.Perfdata, res.PerfdataWarnings = checks.ParsePerfdata(po.Perfdata)
	if len(out.out.buf) > 0 && len(out.err.buf) > 0 {
		// Nagios drops stderr here; Bergamot shows it after the long output.
		res.LongOutput = joinLines(res.LongOutput, strings.TrimRight(cleanText(out.err.buf), "\n"))
	}
	if note := out.cutNote(); note != "" {
		res.LongOutput += note
		e.opts.Logger.WarnContext(ctx, "nagios plugin output cut", slog.String("plugin", argv[0]),
			slog.Int("kept", out.kept()), slog.Int64("dropped", out.dropped()))
	}
	code := ps.ExitCode()
	if st, ok := checks.FromNagiosExit(code); ok {
		res.Status = st
		return res
	}
	// Out of bounds: say why, keep what the plugin said in the long output.
	res.Status = checks.StatusError
	res.Output = exitExplanation(argv, ps)
	if po.Status != checks.NoOutput {
		res.LongOutput = joinLines(po.Status, res.LongOutput)
	}
	if nagios4 {
		res.Status = checks.StatusCritical
		if ws, ok := ps.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			res.Output = nagios4ExitText(code)
		}
		if code == 126 || code == 127 {
			res.Perfdata, res.PerfdataWarnings = nil, nil // nagios4 drops them: the plugin did not run
		}
	}
	return res
}

// exitExplanation explains an exit status outside 0..3, in Nagios' words.
func exitExplanation(argv []string, ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("plugin %s was killed by signal %d (%s)", argv[0], int(ws.Signal()), ws.Signal())
	}
	code := ps.ExitCode()
	switch code {
	case 126:
		return fmt.Sprintf("(Return code of 126 is out of bounds. Check if plugin is executable: %s)", commandName(argv))
	case 127:
		return fmt.Sprintf("(Return code of 127 is out of bounds. Check if plugin exists: %s)", commandName(argv))
	}
	return fmt.Sprintf("(Return code of %d is out of bounds: %s returns 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN)", code, commandName(argv))
}

// commandName is the plugin the user asked for, also under /bin/sh -c.
func commandName(argv []string) string {
	if len(argv) == 3 && argv[0] == "/bin/sh" && argv[1] == "-c" {
		if f := strings.Fields(argv[2]); len(f) > 0 {
			return f[0]
		}
	}
	return argv[0]
}

// joinLines joins two blocks of text with a newline, skipping empty ones.
func joinLines(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// cutNote says how much output was discarded, or is empty.
func (c *capture) cutNote() string {
	if c.dropped() == 0 {
		return ""
	}
	return fmt.Sprintf("\n(Bergamot kept the first %d bytes of the plugin's output and discarded %d more)", c.kept(), c.dropped())
}

// cleanText returns b as valid UTF-8 without NUL bytes.
func cleanText(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "\uFFFD")
}
