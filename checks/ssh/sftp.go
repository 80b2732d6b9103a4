package ssh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pkg/sftp"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/netcheck"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// SFTP is the "sftp" engine: executors "file" (the default: a file exists,
// and its age and size are within thresholds) and "script" (a script with
// `sftp` connected with the check's credentials, and `ssh`). It shares its
// connections, host-key records and options with the ssh Engine it was made
// from.
type SFTP struct{ e *Engine }

var _ checks.Engine = (*SFTP)(nil)

// SFTP returns the "sftp" engine that works through e's connections.
func (e *Engine) SFTP() *SFTP { return &SFTP{e: e} }

// CheckPolicy implements checks.PolicyChecker: the same rules as ssh.
func (s *SFTP) CheckPolicy(ctx context.Context, p *checks.Policy, req *checks.Request) error {
	return s.e.CheckPolicy(ctx, p, req)
}

// Name returns "sftp".
func (s *SFTP) Name() string { return "sftp" }

// Execute implements checks.Engine.
func (s *SFTP) Execute(ctx context.Context, req *checks.Request) (*checks.Result, error) {
	e := s.e
	start := time.Now()
	ctx, cancel := checks.WithDeadline(ctx, req, e.opts.DefaultTimeout)
	defer cancel()
	var res *checks.Result
	switch ex := executor(req, "file"); ex {
	case "file":
		res = e.runFile(ctx, req)
	case "script":
		res = e.runSFTPScript(ctx, req)
	default:
		res = &checks.Result{Status: checks.StatusError, Output: fmt.Sprintf("the sftp engine has no executor %q (it has: file, script)", ex)}
	}
	res.Started, res.Runtime = start, time.Since(start)
	return res, nil
}

// openSFTP starts the sftp subsystem on cn; Close the client after use.
func openSFTP(ctx context.Context, cn *conn) (*sftp.Client, error) {
	stop := context.AfterFunc(ctx, cn.breakConn)
	cl, err := sftp.NewClient(cn.client)
	if !stop() {
		if err == nil {
			_ = cl.Close()
		}
		return nil, context.Cause(ctx)
	}
	return cl, err
}

// withSFTP runs fn with an SFTP client to t.
func (e *Engine) withSFTP(ctx context.Context, t target, fn func(*conn, *sftp.Client) error) error {
	return e.withConn(ctx, t, func(cn *conn) error {
		cl, err := openSFTP(ctx, cn)
		if err != nil {
			return err
		}
		defer cl.Close()
		// An SFTP request the server never answers must not outlive the check.
		stop := context.AfterFunc(ctx, func() { _ = cl.Close() })
		defer stop()
		return fn(cn, cl)
	})
}

// runSFTPScript is the sftp engine's "script" executor.
func (e *Engine) runSFTPScript(ctx context.Context, req *checks.Request) *checks.Result {
	t, err := targetOf(req)
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	var res *checks.Result
	err = e.withSFTP(ctx, t, func(cn *conn, cl *sftp.Client) error {
		var err error
		res, err = e.opts.Script.Run(ctx, req, func(ctx context.Context, run *script.Run) error {
			if err := run.VM.Set("sftp", sftpObject(run, cl)); err != nil {
				return err
			}
			return run.VM.Set("ssh", e.sshObject(ctx, run))
		})
		return err
	})
	if err != nil {
		return failure(ctx, t, err)
	}
	return res
}

// fileParams are the "file" executor's parameters.
type fileParams struct {
	path      string
	mustExist bool // false: the file must be absent
	kind      string
	age, size netcheck.Thresholds
	hasAge    bool
	hasSize   bool
}

func parseFileParams(req *checks.Request) (*fileParams, error) {
	p := &fileParams{path: strings.TrimSpace(req.Param("path", "")), mustExist: req.BoolParam("exists", true),
		kind: strings.ToLower(req.Param("type", "any"))}
	if p.path == "" {
		return nil, errors.New(`parameter "path" is required: the remote file to check`)
	}
	switch p.kind {
	case "any", "file", "directory":
	default:
		return nil, fmt.Errorf(`parameter "type": %q is not one of any, file, directory`, p.kind)
	}
	var err error
	if p.age, err = netcheck.ParseThresholds("age_warning", req.Param("age_warning", ""), "age_critical", req.Param("age_critical", "")); err != nil {
		return nil, err
	}
	if p.size, err = netcheck.ParseThresholds("size_warning", req.Param("size_warning", ""), "size_critical", req.Param("size_critical", "")); err != nil {
		return nil, err
	}
	p.hasAge = p.age.Warn != nil || p.age.Crit != nil
	p.hasSize = p.size.Warn != nil || p.size.Crit != nil
	return p, nil
}

// runFile is the "file" executor: stat the path over SFTP and judge it.
func (e *Engine) runFile(ctx context.Context, req *checks.Request) *checks.Result {
	p, err := parseFileParams(req)
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	t, err := targetOf(req)
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	var fi os.FileInfo
	var statErr error
	err = e.withSFTP(ctx, t, func(_ *conn, cl *sftp.Client) error {
		fi, statErr = cl.Stat(p.path)
		if statErr != nil && !os.IsNotExist(statErr) && !errors.Is(statErr, os.ErrPermission) {
			return statErr
		}
		return nil
	})
	if err != nil {
		return failure(ctx, t, err)
	}
	return judgeFile(p, fi, statErr, time.Now())
}

// judgeFile is the verdict on one stat.
func judgeFile(p *fileParams, fi os.FileInfo, statErr error, now time.Time) *checks.Result {
	switch {
	case errors.Is(statErr, os.ErrPermission):
		return &checks.Result{Status: checks.StatusUnknown, Output: fmt.Sprintf("%s: permission denied", p.path)}
	case statErr != nil && p.mustExist:
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("%s does not exist", p.path)}
	case statErr != nil:
		return &checks.Result{Status: checks.StatusOK, Output: fmt.Sprintf("%s does not exist, as expected", p.path)}
	case !p.mustExist:
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("%s exists but should not", p.path)}
	case p.kind == "file" && !fi.Mode().IsRegular():
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("%s is not a regular file (%s)", p.path, fi.Mode().Type())}
	case p.kind == "directory" && !fi.IsDir():
		return &checks.Result{Status: checks.StatusCritical, Output: fmt.Sprintf("%s is not a directory", p.path)}
	}
	age := now.Sub(fi.ModTime()).Seconds()
	if age < 0 {
		age = 0
	}
	size := float64(fi.Size())
	st := checks.StatusOK
	if p.hasAge {
		st = worst(st, p.age.Evaluate(age))
	}
	if p.hasSize {
		st = worst(st, p.size.Evaluate(size))
	}
	res := &checks.Result{Status: st,
		Output: fmt.Sprintf("%s: %s bytes, modified %s ago", p.path, strconv.FormatInt(fi.Size(), 10), time.Duration(age*float64(time.Second)).Round(time.Second)),
		Perfdata: []checks.Perfdata{
			netcheck.Perf("age", age, "s", p.age.WarnRaw(), p.age.CritRaw(), netcheck.Zero()),
			netcheck.Perf("size", size, "B", p.size.WarnRaw(), p.size.CritRaw(), netcheck.Zero()),
		}}
	return res
}

func worst(a, b checks.Status) checks.Status {
	if b.Severity() > a.Severity() {
		return b
	}
	return a
}
