package nagios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// readableDataDir makes a BERGAMOT_DATA-like directory that any user could
// read before protection: a world-readable secret.key under a traversable
// path.
func readableDataDir(t *testing.T) (data, secret string) {
	t.Helper()
	base, err := os.MkdirTemp("", "bergamot-confine-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	data = filepath.Join(base, "data")
	if err := os.MkdirAll(filepath.Join(data, "postgres"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{base, data} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret = filepath.Join(data, "secret.key")
	if err := os.WriteFile(secret, []byte("top secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	return data, secret
}

func runHost(t *testing.T, e *Engine, line string) *checks.Result {
	t.Helper()
	res, err := e.Execute(context.Background(), &checks.Request{CommandLine: line, HostName: "web1", HostAddress: "192.0.2.1", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRootWorkerConfinesPlugins: a plugin started by a root worker runs as
// nobody, cannot open a file under BERGAMOT_DATA, sees only the Nagios
// variables, works in its own scratch directory and has resource limits.
func TestRootWorkerConfinesPlugins(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	t.Setenv("DATABASE_URL", "postgres://bergamot:hunter2@db/bergamot")
	data, secret := readableDataDir(t)

	// Unconfined, the plugin is root and reads the secret: the test can fail.
	open := New(Options{Confine: unconfined})
	if res := runHost(t, open, "/usr/bin/id -u"); res.Output != "0" {
		t.Fatalf("unconfined uid %q", res.Output)
	}
	if res := runHost(t, open, "/bin/cat "+secret); res.Output != "top secret" {
		t.Fatalf("unconfined read: %+v", res)
	}

	e := New(Options{Confine: Confinement{Protect: []string{data}}})
	if res := runHost(t, e, "/usr/bin/id -u"); res.Output == "0" || res.Output == "" || res.Status != checks.StatusOK {
		t.Errorf("confined uid: %+v", res)
	}
	if res := runHost(t, e, "/bin/cat "+secret); res.Status == checks.StatusOK || strings.Contains(res.Output+res.LongOutput, "top secret") ||
		!strings.Contains(res.Output+res.LongOutput, "Permission denied") {
		t.Errorf("confined read of %s: %+v", secret, res)
	}
	if res := runHost(t, e, "/bin/ls "+data); res.Status == checks.StatusOK {
		t.Errorf("confined listing of BERGAMOT_DATA: %+v", res)
	}
	res := runHost(t, e, "/usr/bin/env")
	env := res.Output + "\n" + res.LongOutput
	for _, want := range []string{"NAGIOS_HOSTNAME=web1", "NAGIOS_HOSTADDRESS=192.0.2.1", "HOME=" + os.TempDir(), "USER=nobody"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "DATABASE_URL") || strings.Contains(env, "hunter2") {
		t.Errorf("environment leaks the worker's: %s", env)
	}
	res = runHost(t, e, "/bin/pwd")
	scratch := res.Output
	if !strings.HasPrefix(scratch, filepath.Join(os.TempDir(), "bergamot-plugin-")) {
		t.Errorf("working directory %q", scratch)
	}
	// The scratch directory is gone after the run.
	if _, err := os.Stat(scratch); !os.IsNotExist(err) {
		t.Errorf("scratch directory %s left behind: %v", scratch, err)
	}
	res = runHost(t, e, "/bin/cat /proc/self/limits")
	limits := strings.Join(strings.Fields(res.Output+"\n"+res.LongOutput), " ")
	for _, want := range []string{"Max cpu time 60 60 seconds", "Max processes 1024 1024", "Max open files 256 256", "Max address space 1073741824 1073741824 bytes"} {
		if !strings.Contains(limits, want) {
			t.Errorf("limits lack %q: %s", want, limits)
		}
	}
}
