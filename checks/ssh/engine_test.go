package ssh

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/internal/enginetest"
	"github.com/bergamot-monitoring/bergamot/internal/sshdtest"
)

const site = "6f1c1f5e-0000-4000-8000-000000000001"

func request(srv *sshdtest.Server, executor string, params map[string]string) *checks.Request {
	p := map[string]string{"host": srv.Host, "port": srv.PortString(), "username": sshdtest.User, "private_key": srv.PrivateKey}
	for k, v := range params {
		p[k] = v
		if v == "-" {
			delete(p, k)
		}
	}
	return &checks.Request{SiteID: site, Engine: "ssh", Executor: executor, Parameters: p, Timeout: 20 * time.Second}
}

func run(t *testing.T, e checks.Engine, req *checks.Request) *checks.Result {
	t.Helper()
	res, err := e.Execute(t.Context(), req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return res
}

func newEngine(t *testing.T, opts Options) *Engine {
	e := New(opts)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestNagiosOverSSHStatuses(t *testing.T) {
	srv := sshdtest.Start(t)
	e := newEngine(t, Options{})
	for _, tc := range []struct {
		cmd    string
		status checks.Status
		output string
	}{
		{"/usr/lib/nagios/plugins/check_dummy 0 fine", checks.StatusOK, "OK: fine"},
		{"/usr/lib/nagios/plugins/check_dummy 1 hmm", checks.StatusWarning, "WARNING: hmm"},
		{"/usr/lib/nagios/plugins/check_dummy 2 bad", checks.StatusCritical, "CRITICAL: bad"},
		{"/usr/lib/nagios/plugins/check_dummy 3 what", checks.StatusUnknown, "UNKNOWN: what"},
		{"printf 'load ok|load1=0.5;1;2\\nline two\\n'; exit 0", checks.StatusOK, "load ok"},
		{"exit 7", checks.StatusUnknown, "remote command exit exited 7 (a plugin returns 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN)"},
		{"/no/such/plugin", checks.StatusUnknown, "remote command /no/such/plugin not found (exit 127)"},
		{"echo oops >&2; exit 2", checks.StatusCritical, "(No output on stdout) stderr: oops"},
	} {
		res := run(t, e, request(srv, "nagios", map[string]string{"command_line": tc.cmd}))
		if res.Status != tc.status || res.Output != tc.output {
			t.Errorf("%q: got %s %q (long %q), want %s %q", tc.cmd, res.Status, res.Output, res.LongOutput, tc.status, tc.output)
		}
		if strings.HasPrefix(tc.cmd, "printf") {
			if res.LongOutput != "line two" || len(res.Perfdata) != 1 || res.Perfdata[0].Label != "load1" {
				t.Errorf("long %q perfdata %+v", res.LongOutput, res.Perfdata)
			}
		}
	}
	if n := e.PooledConnections(); n != 1 {
		t.Errorf("%d pooled connections after 8 checks to one host, want 1 (reused)", n)
	}
}

func TestPasswordLogin(t *testing.T) {
	srv := sshdtest.Start(t)
	e := newEngine(t, Options{})
	res := run(t, e, request(srv, "", map[string]string{"private_key": "-", "password": srv.Password, "command_line": "echo via password"}))
	if res.Status != checks.StatusOK || res.Output != "via password" {
		t.Fatalf("got %s %q", res.Status, res.Output)
	}
	res = run(t, e, request(srv, "", map[string]string{"private_key": "-", "password": "wrong", "command_line": "true"}))
	if res.Status != checks.StatusUnknown || !strings.Contains(res.Output, "authentication failed") {
		t.Fatalf("wrong password: got %s %q", res.Status, res.Output)
	}
	res = run(t, e, request(srv, "", map[string]string{"private_key": "-", "command_line": "true"}))
	if res.Status != checks.StatusError || !strings.Contains(res.Output, "no SSH credentials") {
		t.Fatalf("no credentials: got %s %q", res.Status, res.Output)
	}
	res = run(t, e, request(srv, "", map[string]string{"private_key": "not a key", "command_line": "true"}))
	if res.Status != checks.StatusError || !strings.Contains(res.Output, `parameter "private_key"`) {
		t.Fatalf("bad key: got %s %q", res.Status, res.Output)
	}
}

func TestHostKeyChangeIsCritical(t *testing.T) {
	srv := sshdtest.Start(t)
	kh := &MemoryKnownHosts{}
	e := newEngine(t, Options{KnownHosts: kh})
	req := request(srv, "", map[string]string{"command_line": "echo hello"})
	if res := run(t, e, req); res.Status != checks.StatusOK {
		t.Fatalf("first use: %s %q", res.Status, res.Output)
	}
	srv.NewHostKey()
	srv.Restart()
	res := run(t, e, req)
	if res.Status != checks.StatusCritical || !strings.Contains(res.Output, "host key of "+srv.Addr+" has changed") ||
		!strings.Contains(res.Output, "forget-host-key") {
		t.Fatalf("after host key change: %s %q", res.Status, res.Output)
	}
	// Another site has its own trust: it accepts the new key on first use.
	other := *req
	other.SiteID = "6f1c1f5e-0000-4000-8000-000000000002"
	if res := run(t, e, &other); res.Status != checks.StatusOK {
		t.Fatalf("other site: %s %q", res.Status, res.Output)
	}
	kh.Forget(site, srv.Addr)
	if res := run(t, e, req); res.Status != checks.StatusOK {
		t.Fatalf("after forgetting: %s %q", res.Status, res.Output)
	}
}

func TestServerRestartReconnects(t *testing.T) {
	srv := sshdtest.Start(t)
	e := newEngine(t, Options{})
	req := request(srv, "", map[string]string{"command_line": "echo up"})
	run(t, e, req)
	srv.Restart() // kills the pooled connection's session process
	if res := run(t, e, req); res.Status != checks.StatusOK {
		t.Fatalf("after restart: %s %q", res.Status, res.Output)
	}
}

func TestTimeoutKillsRemoteCommand(t *testing.T) {
	srv := sshdtest.Start(t)
	e := newEngine(t, Options{})
	req := request(srv, "", map[string]string{"command_line": "sleep 30"})
	req.Timeout = time.Second
	start := time.Now()
	res := run(t, e, req)
	if res.Status != checks.StatusTimeout || time.Since(start) > 5*time.Second {
		t.Fatalf("got %s %q after %s", res.Status, res.Output, time.Since(start))
	}
	// The engine still works afterwards.
	if res := run(t, e, request(srv, "", map[string]string{"command_line": "echo still"})); res.Status != checks.StatusOK {
		t.Fatalf("after timeout: %s %q", res.Status, res.Output)
	}
}

func TestConnectFailures(t *testing.T) {
	srv := sshdtest.Start(t)
	e := newEngine(t, Options{})
	srv.Stop()
	res := run(t, e, request(srv, "", map[string]string{"command_line": "true"}))
	if res.Status != checks.StatusUnknown || !strings.Contains(res.Output, "connection refused") {
		t.Fatalf("refused: %s %q", res.Status, res.Output)
	}
	res = run(t, e, request(srv, "", map[string]string{"command_line": "", "port": "0"}))
	if res.Status != checks.StatusError {
		t.Fatalf("no command: %s %q", res.Status, res.Output)
	}
}

func TestDialIsInjected(t *testing.T) {
	srv := sshdtest.Start(t)
	var dialled []string
	var mu sync.Mutex
	e := newEngine(t, Options{Dial: func(ctx context.Context, network, addr string) (nc netConn, err error) {
		mu.Lock()
		dialled = append(dialled, addr)
		mu.Unlock()
		return nil, errRefusedByPolicy
	}})
	res := run(t, e, request(srv, "", map[string]string{"command_line": "true"}))
	if res.Status != checks.StatusUnknown || !strings.Contains(res.Output, errRefusedByPolicy.Error()) || len(dialled) != 1 || dialled[0] != srv.Addr {
		t.Fatalf("got %s %q, dialled %v", res.Status, res.Output, dialled)
	}
}

func TestSFTPFile(t *testing.T) {
	srv := sshdtest.Start(t)
	e := newEngine(t, Options{})
	s := e.SFTP()
	dir := sshdtest.ReadableDir(t)
	f := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(f, make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(f, old, old); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		params map[string]string
		status checks.Status
		output string
	}{
		{map[string]string{"path": f}, checks.StatusOK, f + ": 2048 bytes, modified 2h0m"},
		{map[string]string{"path": f, "age_warning": "3600", "age_critical": "86400"}, checks.StatusWarning, ""},
		{map[string]string{"path": f, "age_critical": "3600"}, checks.StatusCritical, ""},
		{map[string]string{"path": f, "size_critical": "4096:"}, checks.StatusCritical, ""},
		{map[string]string{"path": f, "size_warning": "1024:", "type": "file"}, checks.StatusOK, ""},
		{map[string]string{"path": f, "type": "directory"}, checks.StatusCritical, f + " is not a directory"},
		{map[string]string{"path": f + ".missing"}, checks.StatusCritical, f + ".missing does not exist"},
		{map[string]string{"path": f + ".missing", "exists": "false"}, checks.StatusOK, f + ".missing does not exist, as expected"},
		{map[string]string{"path": f, "exists": "false"}, checks.StatusCritical, f + " exists but should not"},
		{map[string]string{"path": f, "age_warning": "abc"}, checks.StatusError, ""},
		{map[string]string{}, checks.StatusError, `parameter "path" is required: the remote file to check`},
	} {
		res := run(t, s, request(srv, "file", tc.params))
		if res.Status != tc.status || !strings.HasPrefix(res.Output, tc.output) {
			t.Errorf("%v: got %s %q", tc.params, res.Status, res.Output)
		}
	}
	res := run(t, s, request(srv, "file", map[string]string{"path": f, "age_warning": "60"}))
	if len(res.Perfdata) != 2 || res.Perfdata[0].Label != "age" || res.Perfdata[0].Warn != "60" || *res.Perfdata[1].Value != 2048 {
		t.Errorf("perfdata %+v", res.Perfdata)
	}
}

func TestScripts(t *testing.T) {
	srv := sshdtest.Start(t)
	e := newEngine(t, Options{})
	dir := sshdtest.ReadableDir(t)
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	sshScript := `
		ssh.connect(check.getParameter('username'), check.getParameter('host'), check.getIntParameter('port'), function(session) {
			var r = session.exec('echo out; echo err >&2; exit 3');
			if (session.hostId().indexOf('SHA256:') != 0) throw new Error('hostId ' + session.hostId());
			session.sftp(function(sftp) {
				var st = sftp.stat('` + dir + `/a.txt');
				bergamot.ok(r.getStdOut().trim() + '/' + r.stdErr.trim() + '/' + r.exit + ' size=' + st.size + ' file=' + st.isFile());
			});
		});`
	req := request(srv, "script", nil)
	req.Script = sshScript
	res := run(t, e, req)
	if res.Status != checks.StatusOK || res.Output != "out/err/3 size=5 file=true" {
		t.Fatalf("ssh script: %s %q", res.Status, res.Output)
	}
	sftpScript := `
		var names = sftp.ls('` + dir + `');
		if (!sftp.exists('` + dir + `/a.txt') || sftp.exists('` + dir + `/b.txt')) throw new Error('exists');
		bergamot.warning(names.join(',') + ' ' + sftp.read('` + dir + `/a.txt'));`
	req = request(srv, "script", nil)
	req.Engine, req.Script = "sftp", sftpScript
	res = run(t, e.SFTP(), req)
	if res.Status != checks.StatusWarning || res.Output != "a.txt hello" {
		t.Fatalf("sftp script: %s %q", res.Status, res.Output)
	}
	req.Script = `sftp.stat('/no/such/file');`
	res = run(t, e.SFTP(), req)
	if res.Status != checks.StatusError || !strings.Contains(res.Output, "sftp stat /no/such/file") {
		t.Fatalf("sftp script error: %s %q", res.Status, res.Output)
	}
}

// TestNoLeaks runs 1,000 ssh and 1,000 sftp checks (and a script every
// tenth), then counts goroutines, file descriptors, heap, sshd session
// processes and pooled connections.
func TestNoLeaks(t *testing.T) {
	srv := sshdtest.Start(t)
	runs := enginetest.LeakRuns()
	base := enginetest.Take(t)
	e := New(Options{IdleTimeout: 3 * time.Second})
	f := filepath.Join(sshdtest.ReadableDir(t), "x")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < runs/4; i++ {
				req := request(srv, "", map[string]string{"command_line": "echo ok"})
				if res, _ := e.Execute(t.Context(), req); res.Status != checks.StatusOK {
					t.Errorf("run %d: %s %q", i, res.Status, res.Output)
					return
				}
				if res, _ := e.SFTP().Execute(t.Context(), request(srv, "file", map[string]string{"path": f})); res.Status != checks.StatusOK {
					t.Errorf("sftp run %d: %s %q", i, res.Status, res.Output)
					return
				}
				if i%10 == 0 {
					req := request(srv, "script", nil)
					req.Script = `ssh.connect(null, check.getParameter('host'), check.getIntParameter('port'), function(s) { bergamot.ok(s.exec('echo ok').stdOut) });`
					if res, _ := e.Execute(t.Context(), req); res.Status != checks.StatusOK {
						t.Errorf("script run %d: %s %q", i, res.Status, res.Output)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := e.PooledConnections(); n != 1 {
		t.Errorf("%d pooled connections, want 1", n)
	}
	if n := srv.Sessions(t); n == 0 || n > 2 {
		t.Errorf("%d sshd processes serving the test user after the runs, want 1 or 2 (one pooled connection)", n)
	}
	// Idle connections close by themselves.
	deadline := time.Now().Add(15 * time.Second)
	for e.PooledConnections() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.PooledConnections(); n != 0 {
		t.Errorf("%d pooled connections after the idle timeout", n)
	}
	_ = e.Close()
	enginetest.Bounded(t, base, runs*2, 2, 16<<20)
}

// BenchmarkSSH: "echo ok" over the pooled connection to the local sshd.
func BenchmarkSSH(b *testing.B) {
	srv := sshdtest.Start(b)
	e := New(Options{})
	defer e.Close()
	req := request(srv, "", map[string]string{"command_line": "echo ok"})
	enginetest.Bench(b, func() (checks.Status, string) {
		res, _ := e.Execute(context.Background(), req)
		return res.Status, res.Output
	})
}

// BenchmarkSFTP: stat of a file over SFTP on the pooled connection.
func BenchmarkSFTP(b *testing.B) {
	srv := sshdtest.Start(b)
	e := New(Options{})
	defer e.Close()
	f := filepath.Join(sshdtest.ReadableDir(b), "x")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	req := request(srv, "file", map[string]string{"path": f})
	enginetest.Bench(b, func() (checks.Status, string) {
		res, _ := e.SFTP().Execute(context.Background(), req)
		return res.Status, res.Output
	})
}

// TestConcurrentChecksShareOneConnection: 16 checks at a time (ssh and
// sftp) on the one pooled connection, which allows 8 sessions at once.
// OpenSSH counts a closed session a moment after the client does and
// refuses a new one meanwhile ("no more sessions"); the engine must wait
// that out on the same connection, not break it (which failed the checks
// running on it) nor report the refusal.
func TestConcurrentChecksShareOneConnection(t *testing.T) {
	srv := sshdtest.Start(t)
	e := newEngine(t, Options{})
	f := filepath.Join(sshdtest.ReadableDir(t), "x")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30 && failed.Load() < 5; i++ {
				var res *checks.Result
				if (w+i)%2 == 0 {
					res, _ = e.Execute(t.Context(), request(srv, "", map[string]string{"command_line": "echo ok"}))
				} else {
					res, _ = e.SFTP().Execute(t.Context(), request(srv, "file", map[string]string{"path": f}))
				}
				if res.Status != checks.StatusOK {
					failed.Add(1)
					t.Errorf("worker %d run %d: %s %q", w, i, res.Status, res.Output)
				}
			}
		}()
	}
	wg.Wait()
	if n := e.PooledConnections(); n != 1 {
		t.Errorf("%d pooled connections, want the one shared", n)
	}
}
