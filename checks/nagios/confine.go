package nagios

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// Confinement says how plugins run when the worker runs as root, on any
// zone: as an unprivileged user, with an empty environment plus the
// documented Nagios variables, in a scratch working directory of their own,
// and under resource limits. Zero values take the defaults.
type Confinement struct {
	// User runs the plugins (default "nobody"); "-" turns confinement off.
	User string
	// CPU bounds a plugin's CPU time (default 60s), AddressSpace its
	// virtual memory (default 1 GiB), OpenFiles its descriptors (default
	// 256), Processes the run-as user's processes (default 1024).
	CPU          time.Duration
	AddressSpace uint64
	OpenFiles    uint64
	Processes    uint64
	// Protect lists directories the plugins must not read (BERGAMOT_DATA):
	// New removes other users' permissions from everything directly inside
	// them and the right to list them, keeping them traversable (the
	// private PostgreSQL needs that).
	Protect []string
	// ScratchDir is where each run's working directory is made (default
	// the system temporary directory).
	ScratchDir string
}

// DefaultRunAs is the user confined plugins run as.
const DefaultRunAs = "nobody"

// confiner applies a Confinement to commands.
type confiner struct {
	c        Confinement
	uid, gid uint32
	prlimit  string // path of util-linux prlimit, which sets the limits before exec
	log      *slog.Logger
}

// newConfiner returns nil when the worker is not root or confinement is off.
func newConfiner(c Confinement, log *slog.Logger) *confiner {
	if os.Geteuid() != 0 || c.User == "-" {
		return nil
	}
	if c.User == "" {
		c.User = DefaultRunAs
	}
	if c.CPU <= 0 {
		c.CPU = 60 * time.Second
	}
	if c.AddressSpace == 0 {
		c.AddressSpace = 1 << 30
	}
	if c.OpenFiles == 0 {
		c.OpenFiles = 256
	}
	if c.Processes == 0 {
		c.Processes = 1024
	}
	if c.ScratchDir == "" {
		c.ScratchDir = os.TempDir()
	}
	cf := &confiner{c: c, log: log}
	u, err := user.Lookup(c.User)
	if err == nil {
		var uid, gid int
		uid, err = strconv.Atoi(u.Uid)
		if err == nil {
			gid, err = strconv.Atoi(u.Gid)
		}
		cf.uid, cf.gid = uint32(uid), uint32(gid)
		if err == nil && uid == 0 {
			err = errors.New("it is root")
		}
	}
	if err != nil {
		// Refuse to run plugins at all rather than run them as root.
		log.Error("plugin user unusable; nagios checks will fail until it is fixed", slog.String("user", c.User), slog.Any("error", err))
		cf.uid = 0
	}
	if p, err := exec.LookPath("prlimit"); err == nil {
		cf.prlimit = p
	} else {
		log.Warn("prlimit (util-linux) not found: plugins run without resource limits")
	}
	for _, d := range c.Protect {
		if err := protectDir(d); err != nil {
			log.Warn("could not protect directory from plugins", slog.String("dir", d), slog.Any("error", err))
		}
	}
	return cf
}

// protectDir takes other users' permissions from the entries directly in
// dir, and the right to list dir itself (search stays).
func protectDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if err := os.Chmod(dir, st.Mode().Perm()&^0o006|0o001); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, ent := range entries {
		p := filepath.Join(dir, ent.Name())
		info, err := os.Lstat(p)
		if err != nil || info.Mode()&fs.ModeSymlink != 0 {
			continue
		}
		if err := os.Chmod(p, info.Mode().Perm()&^0o007); err != nil {
			return err
		}
	}
	return nil
}

// confinedEnvKeep are the worker variables a confined plugin still sees.
var confinedEnvKeep = map[string]bool{"TZ": true, "LANG": true, "LC_ALL": true, "LC_CTYPE": true, "LC_NUMERIC": true, "LC_MESSAGES": true}

// apply makes cmd run confined; undo removes the scratch directory.
func (cf *confiner) apply(cmd *exec.Cmd, req *checks.Request, shellPath string) (undo func(), err error) {
	if cf.uid == 0 {
		return nil, fmt.Errorf("the plugin user %q cannot be used (see the worker's log)", cf.c.User)
	}
	// Say what is wrong with the plugin itself before prlimit would.
	if st, err := os.Stat(cmd.Path); err != nil {
		return nil, err
	} else if st.Mode()&0o111 == 0 {
		return nil, &os.PathError{Op: "exec", Path: cmd.Path, Err: fs.ErrPermission}
	}
	dir, err := os.MkdirTemp(cf.c.ScratchDir, "bergamot-plugin-")
	if err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	undo = func() { _ = os.RemoveAll(dir) }
	if err := os.Chown(dir, int(cf.uid), int(cf.gid)); err != nil {
		undo()
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	cmd.Dir = dir
	path := "/usr/local/bin:/usr/bin:/bin"
	if shellPath != "" {
		path = shellPath
	}
	env := []string{"PATH=" + path, "HOME=" + dir, "TMPDIR=" + dir, "USER=" + cf.c.User, "LOGNAME=" + cf.c.User}
	for _, kv := range cmd.Env {
		k, _, _ := strings.Cut(kv, "=")
		if confinedEnvKeep[k] || strings.HasPrefix(k, "NAGIOS_") || strings.HasPrefix(k, "MONITORING_") {
			env = append(env, kv)
		}
	}
	// The documented Nagios environment macros of the check's host.
	if req.HostName != "" {
		env = append(env, "NAGIOS_HOSTNAME="+req.HostName)
	}
	if req.HostAddress != "" {
		env = append(env, "NAGIOS_HOSTADDRESS="+req.HostAddress)
	}
	cmd.Env = env
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: cf.uid, Gid: cf.gid, Groups: []uint32{}}
	if cf.prlimit != "" {
		args := []string{cf.prlimit,
			"--cpu=" + limit(syscall.RLIMIT_CPU, uint64((cf.c.CPU+time.Second-1)/time.Second)),
			"--as=" + limit(syscall.RLIMIT_AS, cf.c.AddressSpace),
			"--nofile=" + limit(syscall.RLIMIT_NOFILE, cf.c.OpenFiles),
			"--nproc=" + limit(rlimitNproc, cf.c.Processes),
			"--", cmd.Path}
		cmd.Args = append(args, cmd.Args[1:]...)
		cmd.Path = cf.prlimit
	}
	return undo, nil
}

const rlimitNproc = 6 // RLIMIT_NPROC on Linux

// limit is want, or the current hard limit when that is lower (an
// unprivileged process cannot raise it).
func limit(resource int, want uint64) string {
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(resource, &cur); err == nil && cur.Max < want {
		want = cur.Max
	}
	return strconv.FormatUint(want, 10)
}
