package nagios

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// exitResult turns a finished plugin's exit status and output into a Result.
func (e *Engine) exitResult(ctx context.Context, argv []string, ps *os.ProcessState, out *capture) *checks.Result {
	text := out.out.buf
	if len(out.out.buf) == 0 && len(out.err.buf) > 0 {
		// What nagios4 does when only stderr has something to say.
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
