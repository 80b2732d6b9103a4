package devnrpe

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bergamot-monitoring/bergamot/internal/testnet"
)

const checkNRPE = PluginDir + "/check_nrpe"

func requireNRPE(t *testing.T) {
	t.Helper()
	for _, p := range []string{DaemonPath, checkNRPE, PluginDir + "/check_procs"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing: apt-get install -y nagios-nrpe-server nagios-nrpe-plugin monitoring-plugins-basic", p)
		}
	}
}

// query asks the daemon through Debian's own check_nrpe.
func query(t *testing.T, d *Daemon, command string) (string, int) {
	t.Helper()
	out, err := exec.Command(checkNRPE, "-H", "127.0.0.1", "-p", strconv.Itoa(d.Port()), "-t", "20", "-c", command).CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out)), code
}

func TestDaemonRunsTemplateCommands(t *testing.T) {
	requireNRPE(t)
	ctx := context.Background()
	dir := filepath.Join(reachableTempDir(t), "nrpe")
	d, err := Start(ctx, Options{Dir: dir, Port: testnet.FreePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(context.Background()) })

	for cmd, prefix := range map[string]string{
		"check_mem":             "MEMORY ",
		"check_users":           "USERS ",
		"check_total_procs":     "PROCS ",
		"check_zombie_procs":    "PROCS ",
		"check_disk_space_root": "DISK ",
		"check_load":            "", // "LOAD OK - ..." or "OK - load average" by version
	} {
		out, code := query(t, d, cmd)
		if code > 2 || !strings.HasPrefix(out, prefix) || strings.Contains(out, "not defined") {
			t.Errorf("%s: exit %d %q, want a plugin answer starting %q", cmd, code, out, prefix)
		}
		if !strings.Contains(out, "|") {
			t.Errorf("%s: no perfdata in %q", cmd, out)
		}
	}
	if out, code := query(t, d, "check_nothing"); code != 3 || !strings.Contains(out, "not defined") {
		t.Errorf("undefined command: exit %d %q", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "port")); strings.TrimSpace(string(b)) != strconv.Itoa(d.Port()) {
		t.Errorf("port file = %q, want %d", b, d.Port())
	}
}

func TestStopEndsDaemonAndRestartReusesPort(t *testing.T) {
	requireNRPE(t)
	ctx := context.Background()
	dir := reachableTempDir(t)
	// A saved port from an earlier run is used again (the demo site's
	// stored configuration names it).
	want := testnet.FreePort(t)
	if err := os.WriteFile(filepath.Join(dir, "port"), []byte(strconv.Itoa(want)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if d.Port() != want {
		t.Errorf("port = %d, want the saved %d", d.Port(), want)
	}
	pid := d.cmd.Process.Pid
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if portFree(ctx, want) == false {
		t.Errorf("port %d still taken after Stop", want)
	}
	if err := syscallKill0(pid); err == nil {
		t.Errorf("nrpe pid %d still alive after Stop", pid)
	}
	// A daemon left running (a crashed bergamot) is replaced, not doubled.
	d1, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	d1.cmd = nil // forget it, as a crash would
	// Its pid file may name a process that is killed but not yet reaped:
	// nrpe would bail out ("already an NRPE server running").
	if err := os.WriteFile(filepath.Join(dir, "nrpe.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d2, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatalf("second start over a leftover daemon: %v", err)
	}
	t.Cleanup(func() { _ = d2.Stop(context.Background()) })
	if d2.Port() != want {
		t.Errorf("restart port = %d, want %d", d2.Port(), want)
	}
	if out, code := query(t, d2, "check_users"); code > 2 || !strings.HasPrefix(out, "USERS") {
		t.Errorf("after restart: exit %d %q", code, out)
	}
}

func syscallKill0(pid int) error { return syscall.Kill(pid, 0) }

// reachableTempDir is a temporary directory the nagios user can reach (the
// daemon runs as nagios when the tests run as root).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRefusesUnreachableDirAsRoot(t *testing.T) {
	requireNRPE(t)
	if os.Geteuid() != 0 {
		t.Skip("only root hands the daemon to the nagios user")
	}
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: filepath.Join(parent, "nrpe"), Port: testnet.FreePort(t)})
	if err == nil || !strings.Contains(err.Error(), "not searchable by others") || !strings.Contains(err.Error(), parent) {
		t.Fatalf("err = %v, want one naming %s as not searchable", err, parent)
	}
}
