package nagios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Defaults for Options.
const (
	DefaultPluginDir = "/usr/lib/nagios/plugins"
	DefaultOutputCap = 64 << 10
	DefaultTimeout   = 60 * time.Second
	// PluginDirEnv names the environment variable (and request parameter)
	// that overrides the plugin directory.
	PluginDirEnv = "BERGAMOT_PLUGIN_DIR"
	// PluginUserEnv names the user a root worker runs plugins as (default
	// nobody; "-" runs them as root, unconfined).
	PluginUserEnv = "BERGAMOT_PLUGIN_USER"
)

// Options configure the engine. Zero values take the defaults.
type Options struct {
	// PluginDir is where bare plugin names ("check_dummy") and $USER1$
	// point. Default: $BERGAMOT_PLUGIN_DIR, else /usr/lib/nagios/plugins.
	PluginDir string
	// OutputCap bounds the bytes of stdout+stderr kept per run (default 64 KiB).
	OutputCap int
	// DefaultTimeout applies when neither the request nor ctx has a deadline.
	DefaultTimeout time.Duration
	// WaitDelay bounds how long to wait for output pipes after the plugin
	// is killed or exits while a stray child holds them (default 1s).
	WaitDelay time.Duration
	// Logger receives run failures; nil discards.
	Logger *slog.Logger

	// AllowDirs is the operator's plugin allow-list under the hosted
	// policy: plugins run only from these directories (default PluginDir).
	AllowDirs []string
	// ArgRules are the per-plugin argument rules under hosted (default
	// DefaultArgRules).
	ArgRules ArgRules
	// Confine says how plugins run when the worker is root (on any zone).
	Confine Confinement
}

// Engine runs Nagios plugins. It is safe for concurrent use.
type Engine struct {
	opts    Options
	env     []string  // the plugins' environment
	confine *confiner // nil unless the worker is root
}

var _ checks.Engine = (*Engine)(nil)

// New returns a nagios engine with opts, defaults filled in.
func New(opts Options) *Engine {
	if opts.PluginDir == "" {
		opts.PluginDir = os.Getenv(PluginDirEnv)
	}
	if opts.PluginDir == "" {
		opts.PluginDir = DefaultPluginDir
	}
	if opts.OutputCap <= 0 {
		opts.OutputCap = DefaultOutputCap
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = DefaultTimeout
	}
	if opts.WaitDelay <= 0 {
		opts.WaitDelay = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.AllowDirs) == 0 {
		opts.AllowDirs = []string{opts.PluginDir}
	}
	if opts.ArgRules == nil {
		opts.ArgRules = DefaultArgRules()
	}
	if opts.Confine.User == "" {
		opts.Confine.User = os.Getenv(PluginUserEnv)
	}
	if opts.Confine.Protect == nil {
		data := os.Getenv("BERGAMOT_DATA")
		if data == "" {
			data = ".bergamot"
		}
		opts.Confine.Protect = []string{data}
	}
	e := &Engine{opts: opts, env: pluginEnv(os.Environ())}
	e.confine = newConfiner(opts.Confine, opts.Logger)
	return e
}

// pluginEnvKeep are the variables of the worker's environment that plugins
// see; NAGIOS_* and MONITORING_* pass too, for plugins configured that way.
var pluginEnvKeep = map[string]bool{"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "TMPDIR": true,
	"TZ": true, "LANG": true, "LC_ALL": true, "LC_CTYPE": true, "LC_NUMERIC": true, "LC_MESSAGES": true}

// pluginEnv is the environment plugins run with: a few basic variables of
// the worker's, not all of it. Plugins are third-party programs and the
// worker's environment holds its secrets (DATABASE_URL with its password,
// BERGAMOT_SECRET_KEY); a small environment also starts each plugin faster.
func pluginEnv(environ []string) []string {
	out := []string{}
	hasPath := false
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if pluginEnvKeep[k] || strings.HasPrefix(k, "NAGIOS_") || strings.HasPrefix(k, "MONITORING_") {
			out = append(out, kv)
			hasPath = hasPath || k == "PATH"
		}
	}
	if !hasPath {
		out = append(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	return out
}

// Name implements checks.Engine.
func (e *Engine) Name() string { return "nagios" }

// Execute runs the plugin named by req.CommandLine (or the command_line
// parameter) and turns its exit code and output into a Result. Problems
// with the command itself (missing plugin, bad quoting) are ERROR results; a
// plugin still running at the deadline is killed with its process group and
// gives a TIMEOUT result. The error return is only for a cancelled ctx.
func (e *Engine) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	start := time.Now()
	timeout := req.Timeout
	if timeout <= 0 {
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl).Round(time.Millisecond)
		} else {
			timeout = e.opts.DefaultTimeout
		}
	}
	nagios4 := nagios4Exits(req)
	var argv []string
	var shellPath string
	var err error
	if req.Policy.Hosted() {
		argv, err = e.hostedArgs(req.Policy, req)
	} else {
		argv, shellPath, err = e.commandArgs(req)
	}
	if err != nil {
		res := errorResult(start, err.Error(), "")
		if nagios4 {
			asNagios4Failure(res, err)
		}
		return res, nil
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	out := newCapture(e.opts.OutputCap)
	cmd.Stdout = &out.out
	cmd.Stderr = &out.err
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The plugin leads its own process group: kill all of it.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = e.opts.WaitDelay
	cmd.Env = e.env
	if shellPath != "" {
		// Under /bin/sh, bare plugin names resolve in the plugin directory too.
		cmd.Env = append(slices.Clip(e.env), "PATH="+shellPath)
	}
	if e.confine != nil {
		undo, err := e.confine.apply(cmd, req, shellPath)
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			res := e.startFailure(ctx, argv, err)
			if nagios4 {
				asNagios4Failure(res, err)
			}
			res.Started, res.Runtime = start, time.Since(start)
			return res, nil
		} else if err != nil {
			return errorResult(start, "cannot confine the plugin: "+err.Error(), ""), nil
		}
		defer undo()
	}
	err = cmd.Run()
	runtime := time.Since(start)
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("plugin %s: %w", argv[0], ctx.Err())
	}
	var res *checks.Result
	switch {
	case runCtx.Err() != nil:
		res = e.timeoutResult(ctx, argv, timeout, out)
		if nagios4 {
			asNagios4Timeout(res, runtime, req.Kind)
		}
	case cmd.ProcessState == nil:
		res = e.startFailure(ctx, argv, err)
		if nagios4 {
			asNagios4Failure(res, err)
		}
	default:
		res = e.exitResult(ctx, argv, cmd.ProcessState, out, nagios4)
	}
	res.Started, res.Runtime = start, runtime
	return res, nil
}

// commandArgs builds argv for the request's command line. For a line that
// needs /bin/sh it also returns the PATH to give the shell.
func (e *Engine) commandArgs(req *checks.Request) (argv []string, shellPath string, err error) {
	line := strings.TrimSpace(req.CommandLine)
	if line == "" {
		line = strings.TrimSpace(req.Param("command_line", ""))
	}
	if line == "" {
		return nil, "", errors.New("no command line: set the command's command_line parameter")
	}
	dir := req.Param("plugin_dir", req.Param(PluginDirEnv, e.opts.PluginDir))
	line, err = expandUserMacros(line, dir, func(name string) string { return req.Param(name, "") })
	if err != nil {
		return nil, "", err
	}
	args, needShell, err := splitCommandLine(line)
	if err != nil {
		return nil, "", fmt.Errorf("command line %q: %w", line, err)
	}
	if needShell {
		return []string{"/bin/sh", "-c", line}, dir + string(os.PathListSeparator) + os.Getenv("PATH"), nil
	}
	if !strings.Contains(args[0], "/") {
		inDir := filepath.Join(dir, args[0])
		if _, err := os.Stat(inDir); err == nil {
			args[0] = inDir
		} else if p, err := exec.LookPath(args[0]); err == nil {
			args[0] = p
		} else {
			return nil, "", notFoundError{fmt.Sprintf("plugin not found: %s is neither in %s nor on $PATH", args[0], dir)}
		}
	}
	return args, "", nil
}

func errorResult(start time.Time, output, long string) *checks.Result {
	return &checks.Result{Status: checks.StatusError, Output: output, LongOutput: long, Started: start, Runtime: time.Since(start)}
}

// startFailure explains why the plugin could not be started.
func (e *Engine) startFailure(ctx context.Context, argv []string, err error) *checks.Result {
	var msg string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg = fmt.Sprintf("plugin not found: %s does not exist", argv[0])
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.ENOEXEC):
		msg = fmt.Sprintf("plugin %s is not executable (check its permissions and #! line)", argv[0])
	default:
		msg = fmt.Sprintf("could not run plugin %s: %v", argv[0], err)
	}
	e.opts.Logger.WarnContext(ctx, "nagios plugin did not start", slog.String("plugin", argv[0]), slog.Any("error", err))
	return &checks.Result{Status: checks.StatusError, Output: msg}
}

func (e *Engine) timeoutResult(ctx context.Context, argv []string, timeout time.Duration, out *capture) *checks.Result {
	e.opts.Logger.WarnContext(ctx, "nagios plugin timed out; killed its process group",
		slog.String("plugin", argv[0]), slog.Duration("timeout", timeout))
	res := &checks.Result{Status: checks.StatusTimeout, Output: fmt.Sprintf("plugin timed out after %s", timeout)}
	if text := joinLines(cleanText(out.out.buf), cleanText(out.err.buf)); text != "" {
		res.LongOutput = "Output before the timeout:\n" + text + out.cutNote()
	}
	return res
}
