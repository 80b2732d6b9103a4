package nagios

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// requirePlugins fails (not skips) when Debian's monitoring-plugins are missing.
func requirePlugins(t testing.TB) {
	t.Helper()
	for _, p := range []string{"check_dummy", "check_tcp"} {
		if _, err := os.Stat(filepath.Join(DefaultPluginDir, p)); err != nil {
			t.Fatalf("%s/%s missing: these tests run Debian's real plugins; `make test` installs them "+
				"(apt-get install -y monitoring-plugins-basic monitoring-plugins-standard)", DefaultPluginDir, p)
		}
	}
}

func run(t *testing.T, e *Engine, cmdline string, timeout time.Duration) *checks.Result {
	t.Helper()
	req := &checks.Request{Engine: "nagios", CommandLine: cmdline, Timeout: timeout}
	res, err := e.Execute(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", cmdline, err)
	}
	return res
}

// writePlugin writes an executable shell script into dir.
func writePlugin(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckDummyStatuses(t *testing.T) {
	requirePlugins(t)
	e := New(Options{Confine: unconfined, PluginDir: DefaultPluginDir})
	cases := []struct {
		cmd    string
		status checks.Status
		output string
	}{
		{"check_dummy 0 hi", checks.StatusOK, "OK: hi"},
		{"$USER1$/check_dummy 1 'warn text'", checks.StatusWarning, "WARNING: warn text"},
		{DefaultPluginDir + `/check_dummy 2 "crit text"`, checks.StatusCritical, "CRITICAL: crit text"},
		{"check_dummy 3 unknown\\ text", checks.StatusUnknown, "UNKNOWN: unknown text"},
		{"check_dummy 4 bad", checks.StatusUnknown, "UNKNOWN: Status 4 is not a supported error state"},
	}
	for _, c := range cases {
		res := run(t, e, c.cmd, 10*time.Second)
		if res.Status != c.status || res.Output != c.output {
			t.Errorf("%s: %v %q, want %v %q", c.cmd, res.Status, res.Output, c.status, c.output)
		}
		if res.Runtime <= 0 || res.Started.IsZero() {
			t.Errorf("%s: runtime %v started %v", c.cmd, res.Runtime, res.Started)
		}
	}
}

func TestCommandLineParameter(t *testing.T) {
	requirePlugins(t)
	e := New(Options{Confine: unconfined})
	req := &checks.Request{Engine: "nagios", Parameters: map[string]string{
		"command_line": "check_dummy 0 'first line | a=1;2;3'",
	}}
	res, err := e.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != checks.StatusOK || res.Output != "OK: first line" || len(res.Perfdata) != 1 || *res.Perfdata[0].Value != 1 || res.Perfdata[0].Warn != "2" {
		t.Errorf("got %+v", res)
	}
}

func TestCheckTCP(t *testing.T) {
	requirePlugins(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	e := New(Options{Confine: unconfined})
	res := run(t, e, fmt.Sprintf("check_tcp -H 127.0.0.1 -p %d", port), 10*time.Second)
	if res.Status != checks.StatusOK || !strings.HasPrefix(res.Output, "TCP OK") || len(res.Perfdata) != 1 || res.Perfdata[0].Label != "time" || res.Perfdata[0].UOM != "s" {
		t.Errorf("listening port: %+v", res)
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	res = run(t, e, fmt.Sprintf("check_tcp -H 127.0.0.1 -p %d", closedPort), 10*time.Second)
	if res.Status != checks.StatusCritical || !strings.Contains(res.Output, "Connection refused") {
		t.Errorf("closed port: %v %q", res.Status, res.Output)
	}
}

// liveGroupMembers lists processes (not zombies) in process group pgid.
func liveGroupMembers(t *testing.T, pgid int) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, ent := range ents {
		if _, err := strconv.Atoi(ent.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		rest := b[bytes.LastIndexByte(b, ')')+2:]
		f := strings.Fields(string(rest))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			live = append(live, ent.Name()+" "+string(b[:bytes.LastIndexByte(b, ')')+1]))
		}
	}
	return live
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	// The plugin and a child of it both outlive the timeout.
	writePlugin(t, dir, "check_slow", "echo $$ > "+pidFile+"\necho 'still thinking'\nsleep 30 &\nsleep 30\n")
	e := New(Options{Confine: unconfined, PluginDir: dir})
	start := time.Now()
	res := run(t, e, "check_slow", 500*time.Millisecond)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v for a 500ms timeout", took)
	}
	if res.Status != checks.StatusTimeout || res.Output != "plugin timed out after 500ms" {
		t.Errorf("got %v %q", res.Status, res.Output)
	}
	if !strings.Contains(res.LongOutput, "still thinking") {
		t.Errorf("long output %q lacks what the plugin printed", res.LongOutput)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pgid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(3 * time.Second)
	for {
		live := liveGroupMembers(t, pgid)
		if len(live) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live members: %q", pgid, live)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestContextDeadlineIsTimeout(t *testing.T) {
	dir := t.TempDir()
	writePlugin(t, dir, "check_slow", "sleep 30\n")
	e := New(Options{Confine: unconfined, PluginDir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := e.Execute(ctx, &checks.Request{CommandLine: "check_slow"})
	if err != nil || res.Status != checks.StatusTimeout {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestCancelledContextIsError(t *testing.T) {
	dir := t.TempDir()
	writePlugin(t, dir, "check_slow", "sleep 30\n")
	e := New(Options{Confine: unconfined, PluginDir: dir})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	res, err := e.Execute(ctx, &checks.Request{CommandLine: "check_slow"})
	if err == nil || res != nil {
		t.Fatalf("got %+v, %v; want a cancellation error", res, err)
	}
}

func TestCommandProblemsAreClearErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "check_noexec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writePlugin(t, dir, "check_exit7", "echo 'out of range'\nexit 7\n")
	e := New(Options{Confine: unconfined, PluginDir: dir})
	cases := []struct{ cmd, want string }{
		{"check_does_not_exist -H x", "plugin not found: check_does_not_exist is neither in " + dir + " nor on $PATH"},
		{"/nonexistent/check_x", "plugin not found: /nonexistent/check_x does not exist"},
		{"$USER1$/check_x", "plugin not found: " + dir + "/check_x does not exist"},
		{"/nonexistent/check_x 2>&1", "(Return code of 127 is out of bounds. Check if plugin exists: /nonexistent/check_x)"},
		{notExec, "plugin " + notExec + " is not executable (check its permissions and #! line)"},
		{"$USER1$/check_noexec > /dev/null", "(Return code of 126 is out of bounds. Check if plugin is executable: " + notExec + ")"},
		{"check_exit7", "(Return code of 7 is out of bounds: " + dir + "/check_exit7 returns 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN)"},
		{"kill -SEGV $$", "plugin /bin/sh was killed by signal 11 (segmentation fault)"},
		{"check_dummy 'oops", `command line "check_dummy 'oops": unterminated ' quote at byte 13 of the command line`},
		{"$USER7$/check_dummy 0", "command line uses $USER7$, which is not defined (set parameter USER7; $USER1$ is the plugin directory)"},
		{"   ", "no command line: set the command's command_line parameter"},
	}
	for _, c := range cases {
		res := run(t, e, c.cmd, 5*time.Second)
		if res.Status != checks.StatusError || res.Output != c.want {
			t.Errorf("%s:\n got %v %q\nwant ERROR %q", c.cmd, res.Status, res.Output, c.want)
		}
	}
	// What the plugin or the shell said is kept in the long output.
	if res := run(t, e, "check_exit7", time.Second); res.LongOutput != "out of range" {
		t.Errorf("exit 7 long output %q", res.LongOutput)
	}
	if res := run(t, e, "/nonexistent/check_x 2>&1", time.Second); !strings.Contains(res.LongOutput, "not found") {
		t.Errorf("127 long output %q", res.LongOutput)
	}
}

func TestShellCommandLines(t *testing.T) {
	requirePlugins(t)
	e := New(Options{Confine: unconfined})
	cases := []struct {
		cmd    string
		status checks.Status
		output string
		long   string
	}{
		{`printf 'WARNING - piped | a=1\n' | cat; exit 1`, checks.StatusWarning, "WARNING - piped", ""},
		{`check_dummy 2 "$(echo from a subshell)"`, checks.StatusCritical, "CRITICAL: from a subshell", ""},
		{`$USER1$/check_dummy 0 "home is $HOME"`, checks.StatusOK, "OK: home is " + os.Getenv("HOME"), ""},
		{`echo oops >&2; exit 2`, checks.StatusCritical, "(No output on stdout) stderr: oops", ""},
		{"echo", checks.StatusOK, checks.NoOutput, ""},
		{`printf 'OK - a\nline 2\n' ; echo 'from stderr' >&2`, checks.StatusOK, "OK - a", "line 2\nfrom stderr"},
	}
	for _, c := range cases {
		res := run(t, e, c.cmd, 5*time.Second)
		if res.Status != c.status || res.Output != c.output || res.LongOutput != c.long {
			t.Errorf("%s: %v %q %q, want %v %q %q", c.cmd, res.Status, res.Output, res.LongOutput, c.status, c.output, c.long)
		}
	}
}

func TestOutputCap(t *testing.T) {
	dir := t.TempDir()
	// 33 KiB of long output, as nagios4 was seen to keep whole, then 200 KB more.
	writePlugin(t, dir, "check_chatty", `echo "OK - chatty | first=1"
i=0; while [ $i -lt 1024 ]; do echo "line $i ................"; i=$((i+1)); done
exit 0
`)
	writePlugin(t, dir, "check_flood", `echo "WARNING - flood"; head -c 200000 /dev/zero | tr '\0' x; exit 1`)
	e := New(Options{Confine: unconfined, PluginDir: dir})
	res := run(t, e, "check_chatty", 10*time.Second)
	if res.Status != checks.StatusOK || strings.Count(res.LongOutput, "\n") != 1023 || strings.Contains(res.LongOutput, "Bergamot kept") {
		t.Errorf("33 KiB: %v %q, %d long lines", res.Status, res.Output, strings.Count(res.LongOutput, "\n")+1)
	}
	if len(res.Perfdata) != 1 {
		t.Errorf("perfdata %+v", res.Perfdata)
	}
	e = New(Options{Confine: unconfined, PluginDir: dir, OutputCap: 16 << 10})
	res = run(t, e, "check_flood", 10*time.Second)
	if res.Status != checks.StatusWarning || res.Output != "WARNING - flood" {
		t.Errorf("flood: %v %q", res.Status, res.Output)
	}
	if !strings.HasSuffix(res.LongOutput, "(Bergamot kept the first 16384 bytes of the plugin's output and discarded 183632 more)") ||
		len(res.LongOutput) > 17<<10 {
		t.Errorf("flood long output (%d bytes) ends %q", len(res.LongOutput), res.LongOutput[max(0, len(res.LongOutput)-120):])
	}
}

// BenchmarkCheckDummy measures fork+exec of the real check_dummy, in parallel
// as a worker runs checks.
func BenchmarkCheckDummy(b *testing.B) {
	requirePlugins(b)
	e := New(Options{Confine: unconfined})
	req := &checks.Request{CommandLine: "check_dummy 0 'All good'", Timeout: 10 * time.Second}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := e.Execute(context.Background(), req)
			if err != nil || res.Status != checks.StatusOK {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})
}
