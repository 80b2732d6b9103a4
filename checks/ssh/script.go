package ssh

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/script"
)

// runScript is the ssh engine's "script" executor: the command's script
// with an `ssh` object (Bergamot's SSHCheckContext):
//
//	ssh.addIdentity(privateKey[, publicKey]); ssh.setPassword(pw)
//	ssh.connect(user, host, port, function(session) {
//	    var r = session.exec('uptime');   // r.exit, r.stdOut, r.stdErr (and getExit(), ...)
//	    session.hostId();                 // the server's key fingerprint
//	    session.sftp(function(sftp) { ... });
//	});
//
// Without addIdentity/setPassword, connect uses the check's credentials.
func (e *Engine) runScript(ctx context.Context, req *checks.Request) *checks.Result {
	res, err := e.opts.Script.Run(ctx, req, func(ctx context.Context, run *script.Run) error {
		return run.VM.Set("ssh", e.sshObject(ctx, run))
	})
	if err != nil {
		return &checks.Result{Status: checks.StatusError, Output: err.Error()}
	}
	return res
}

// sshObject is the `ssh` global of a script run.
func (e *Engine) sshObject(ctx context.Context, run *script.Run) *goja.Object {
	vm := run.VM
	req := run.Request
	auth := credentials{}
	custom := false
	o := vm.NewObject()
	_ = o.Set("addIdentity", func(priv string) { auth.privateKey, custom = strings.TrimSpace(priv), true })
	_ = o.Set("setPassword", func(pw string) { auth.password, custom = pw, true })
	_ = o.Set("connect", func(c goja.FunctionCall) goja.Value {
		t, err := targetOf(req)
		if err != nil && !custom {
			run.Throw(err)
		}
		if custom {
			t.auth = auth
		}
		t.site, t.policy = req.SiteID, req.Policy
		if u := c.Argument(0).String(); !goja.IsUndefined(c.Argument(0)) && u != "" {
			t.user = u
		}
		host, port := c.Argument(1).String(), int(c.Argument(2).ToInteger())
		if goja.IsUndefined(c.Argument(1)) || host == "" {
			run.Throw(fmt.Errorf("ssh.connect: no host given"))
		}
		if port <= 0 || port > 65535 {
			port = DefaultPort
		}
		t.addr = fmt.Sprintf("%s:%d", host, port)
		if strings.Contains(host, ":") {
			t.addr = fmt.Sprintf("[%s]:%d", host, port)
		}
		var ret goja.Value
		err = e.withConn(ctx, t, func(cn *conn) error {
			ret = run.Call(c.Argument(3), e.sessionObject(ctx, run, t, cn))
			return nil
		})
		if err != nil {
			run.Throw(fmt.Errorf("ssh.connect %s@%s: %s", t.user, t.addr, failure(ctx, t, err).Output))
		}
		return ret
	})
	return o
}

// sessionObject is what an ssh.connect callback receives.
func (e *Engine) sessionObject(ctx context.Context, run *script.Run, t target, cn *conn) *goja.Object {
	vm := run.VM
	o := vm.NewObject()
	_ = o.Set("exec", func(command string, stdin goja.Value) *goja.Object {
		in := ""
		if stdin != nil && !goja.IsUndefined(stdin) && !goja.IsNull(stdin) {
			in = stdin.String()
		}
		r, err := e.execOn(ctx, cn, command, in)
		if err != nil {
			run.Throw(fmt.Errorf("ssh exec %q: %w", command, err))
		}
		return execObject(vm, r)
	})
	_ = o.Set("hostId", func() string {
		return gossh.FingerprintSHA256(cn.hostKey)
	})
	_ = o.Set("sftp", func(fn goja.Value) goja.Value {
		cl, err := openSFTP(ctx, cn)
		if err != nil {
			run.Throw(fmt.Errorf("sftp to %s: %w", t.addr, err))
		}
		defer cl.Close()
		return run.Call(fn, sftpObject(run, cl))
	})
	return o
}

// execOn runs command in a new session on cn.
func (e *Engine) execOn(ctx context.Context, cn *conn, command, stdin string) (*execResult, error) {
	s, err := cn.newSession(ctx)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return e.runIn(ctx, s, command, stdin)
}

func execObject(vm *goja.Runtime, r *execResult) *goja.Object {
	o := vm.NewObject()
	out, errOut := strings.ToValidUTF8(string(r.stdout), "\uFFFD"), strings.ToValidUTF8(string(r.stderr), "\uFFFD")
	_ = o.Set("exit", r.exit)
	_ = o.Set("stdOut", out)
	_ = o.Set("stdErr", errOut)
	_ = o.Set("getExit", func() int { return r.exit })
	_ = o.Set("getStdOut", func() string { return out })
	_ = o.Set("getStdErr", func() string { return errOut })
	return o
}

// sftpObject is the script's SFTP client: stat(path) (throws when the file
// does not exist), exists(path), ls(dir) (names), read(path) (text, at most
// 1 MiB).
func sftpObject(run *script.Run, cl *sftp.Client) *goja.Object {
	vm := run.VM
	o := vm.NewObject()
	_ = o.Set("stat", func(path string) *goja.Object {
		fi, err := cl.Stat(path)
		if err != nil {
			run.Throw(fmt.Errorf("sftp stat %s: %w", path, err))
		}
		return fileStatObject(vm, fi)
	})
	_ = o.Set("lstat", func(path string) *goja.Object {
		fi, err := cl.Lstat(path)
		if err != nil {
			run.Throw(fmt.Errorf("sftp lstat %s: %w", path, err))
		}
		return fileStatObject(vm, fi)
	})
	_ = o.Set("exists", func(path string) bool {
		_, err := cl.Stat(path)
		if err != nil && !os.IsNotExist(err) {
			run.Throw(fmt.Errorf("sftp stat %s: %w", path, err))
		}
		return err == nil
	})
	_ = o.Set("ls", func(dir string) []any {
		fis, err := cl.ReadDir(dir)
		if err != nil {
			run.Throw(fmt.Errorf("sftp ls %s: %w", dir, err))
		}
		names := make([]any, 0, len(fis))
		for _, fi := range fis {
			names = append(names, fi.Name())
		}
		return names
	})
	_ = o.Set("read", func(path string) string {
		f, err := cl.Open(path)
		if err != nil {
			run.Throw(fmt.Errorf("sftp read %s: %w", path, err))
		}
		defer f.Close()
		buf, err := io.ReadAll(io.LimitReader(f, 1<<20))
		if err != nil {
			run.Throw(fmt.Errorf("sftp read %s: %w", path, err))
		}
		return strings.ToValidUTF8(string(buf), "\uFFFD")
	})
	return o
}

// fileStatObject is Bergamot's FileStat.
func fileStatObject(vm *goja.Runtime, fi os.FileInfo) *goja.Object {
	o := vm.NewObject()
	mode := fi.Mode()
	ms := fi.ModTime().UnixMilli()
	set := func(name string, v any) { _ = o.Set(name, v) }
	set("name", fi.Name())
	set("size", fi.Size())
	set("mtime", ms)
	set("isFile", func() bool { return mode.IsRegular() })
	set("isDirectory", func() bool { return mode.IsDir() })
	set("isDir", func() bool { return mode.IsDir() })
	set("isLink", func() bool { return mode&os.ModeSymlink != 0 })
	set("isDevice", func() bool { return mode&os.ModeDevice != 0 })
	set("getSize", func() int64 { return fi.Size() })
	set("getMTime", func() int64 { return ms })
	set("ageSeconds", func() float64 { return time.Since(fi.ModTime()).Seconds() })
	set("permissionsString", func() string { return mode.String() })
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		set("uid", st.UID)
		set("gid", st.GID)
		set("atime", int64(st.Atime)*1000)
	}
	return o
}
