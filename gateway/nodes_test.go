package gateway_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/tenants"
)

// serveProc starts `bergamot serve` on a loopback port against the rig's
// database and returns it with its gateway URL.
func (r *rig) serveProc() (*exec.Cmd, string) {
	r.t.Helper()
	cmd := exec.Command(bergamotBinary(r.t), "--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--signup", "closed")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+r.db.OwnerURL, "BERGAMOT_DATA="+r.t.TempDir(),
		"BERGAMOT_SECRET_KEY="+base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"BERGAMOT_RESCUE_AFTER=8s", "BERGAMOT_START_WITHIN=150s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "serving" {
				addr <- l.Addr
			}
			if testing.Verbose() {
				fmt.Fprintln(os.Stderr, sc.Text())
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, "ws://" + a + "/worker"
	case <-time.After(60 * time.Second):
		r.t.Fatal("bergamot serve did not start within 60s")
	}
	return nil, ""
}

// TestServeNodeKilledWorkerMovesOn: two serve processes; the remote worker
// holds its connection on the first, which is killed with -9 while checks
// run. The worker reconnects to the second node, results finished during the
// cut arrive there, jobs the dead node held are rescued, and every check's
// one slot is applied exactly once.
func TestServeNodeKilledWorkerMovesOn(t *testing.T) {
	slow := filepath.Join(t.TempDir(), "check_slow")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 3\necho \"OK: slow|x=1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 12
	var services string
	for i := range n {
		services += fmt.Sprintf(`<service name="s%d" extends="slow"/>`, i)
	}
	xml := `<bergamot site="t">
<command name="plugin" engine="nagios"><parameter name="command_line">` + slow + `</parameter><parameter name="timeout">10s</parameter></command>
<service name="slow" template="yes"><check-command command="plugin"/><schedule every="24h"/></service>
<host name="h" address="127.0.0.1" worker-pool="edge">` + services + `</host></bergamot>`
	r := newRigDB(t, map[string]string{"a": xml})
	_, keyFile := r.key("a", "edge")
	nodeA, urlA := r.serveProc()
	_, urlB := r.serveProc()
	r.url = urlA + "," + urlB // the worker tries A first
	r.worker("worker-a", keyFile)
	running := func() int {
		var k int
		if err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM river_job WHERE kind = 'check' AND state = 'running'`).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	r.waitFor("checks running through node A", 60*time.Second, func() bool { return running() >= 3 })
	time.Sleep(time.Second) // plugins are running
	if err := nodeA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = nodeA.Wait()
	applied := func() map[string]int {
		out := map[string]int{}
		ctx, cancel := context.WithTimeout(r.ctx, 20*time.Second)
		defer cancel()
		err := tenants.InSite(tenants.WithSite(ctx, r.sites["a"]), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT c.name, count(m.*) FROM checks c LEFT JOIN metrics m ON m.check_id = c.id AND m.label = 'x'
				WHERE c.kind = 'service' GROUP BY c.name`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var name string
				var k int
				if err := rows.Scan(&name, &k); err != nil {
					return err
				}
				out[name] = k
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatalf("reading applied results: %v", err)
		}
		return out
	}
	r.waitFor("every check's result", 120*time.Second, func() bool {
		for _, k := range applied() {
			if k == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(5 * time.Second) // room for a duplicate to show
	got := applied()
	if len(got) != n {
		t.Fatalf("results for %d checks, want %d: %v", len(got), n, got)
	}
	for name, k := range got {
		if k != 1 {
			t.Errorf("%s: %d results applied, want 1", name, k)
		}
		if s := r.state("a", name); s.Status != "OK" || !strings.HasPrefix(s.Output, "OK: slow") {
			t.Errorf("%s: %+v", name, s)
		}
	}
}
