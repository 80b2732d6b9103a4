// Package libvirtdtest runs Debian's libvirtd for tests as an unprivileged
// session daemon with a private runtime, configuration and cache
// directory, so its Unix socket is the test's own and the system daemon is
// never touched. Its test:///default driver offers domains without any
// virtualisation.
package libvirtdtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// DaemonPath is Debian's libvirtd (package libvirt-daemon).
const DaemonPath = "/usr/sbin/libvirtd"

// Daemon is one running libvirtd.
type Daemon struct {
	// Socket is the read-write Unix socket.
	Socket string

	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs libvirtd until the test ends, as the user "nobody" (root
// would make it the system daemon). The test is skipped when libvirtd is
// missing or the test cannot switch users.
func Start(t testing.TB) *Daemon {
	t.Helper()
	if _, err := os.Stat(DaemonPath); err != nil {
		t.Skipf("libvirtd not installed (apt-get install -y libvirt-daemon-system): %v", err)
	}
	u, err := user.Lookup("nobody")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("libvirtdtest runs libvirtd as nobody and needs root to switch to it")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp("", "libvirtdtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Socket: filepath.Join(dir, "run", "libvirt", "libvirt-sock")}
	d.cmd = exec.CommandContext(context.Background(), DaemonPath)
	d.cmd.Dir = dir
	d.cmd.Env = []string{"HOME=" + dir, "XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "cfg"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Setpgid: true}
	logf, err := os.Create(filepath.Join(dir, "libvirtd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting libvirtd: %v", err)
	}
	d.done = make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.Stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := (&net.Dialer{}).DialContext(context.Background(), "unix", d.Socket); err == nil {
			c.Close()
			return d
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "libvirtd.log"))
			t.Fatalf("libvirtd did not open %s:\n%s", d.Socket, log)
		}
		select {
		case <-d.done:
			log, _ := os.ReadFile(filepath.Join(dir, "libvirtd.log"))
			t.Fatalf("libvirtd exited at start:\n%s", log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends libvirtd.
func (d *Daemon) Stop() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
		d.cmd = nil
	}
}
