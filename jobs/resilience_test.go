package jobs

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// bergamotBinary builds cmd/bergamot once per test binary.
func bergamotBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bergamot-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bergamot")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/bergamot").CombinedOutput()
		if err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("building bergamot: %v\n%s", binErr, binPath)
	}
	return binPath
}

// workerProc starts `bergamot worker --zone zone` against the rig's database.
func (r *e2eRig) workerProc(zone string, env ...string) *exec.Cmd {
	r.t.Helper()
	cmd := exec.Command(bergamotBinary(r.t), "--log-format", "json", "worker", "--zone", zone, "--concurrency", "5")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+r.db.OwnerURL, "BERGAMOT_DATA="+r.t.TempDir(),
		"BERGAMOT_SECRET_KEY="+base64.StdEncoding.EncodeToString(make([]byte, 32)),
		// The tests' plugins live in private temporary directories and check
		// loopback: run them as configured (docs/exec-policy.md).
		"BERGAMOT_EXEC_POLICY=trusted", "BERGAMOT_PLUGIN_USER=-")
	cmd.Env = append(cmd.Env, env...)
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// countingSink counts processed results per check.
type countingSink struct {
	mu sync.Mutex
	n  map[uuid.UUID]int
}

func (c *countingSink) HandleEvents(_ context.Context, _ pgx.Tx, pc *ProcessedCheck) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[uuid.UUID]int{}
	}
	c.n[pc.CheckID]++
	return nil
}

func (c *countingSink) count(id uuid.UUID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// startServeCounting is startServe with a sink counting results.
func (r *e2eRig) startServeCounting(startWithin time.Duration) *countingSink {
	sink := &countingSink{}
	r.startServeSinks(startWithin, sink)
	return sink
}

func TestKilledWorkerCheckRunsOnceElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("runs worker processes")
	}
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "slow_check")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho run >> "+runs+"\nsleep 3\necho 'OK: slept'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newE2ERig(t, `<bergamot site="t"><command name="p" engine="nagios"><parameter name="command_line">`+script+`</parameter></command>
<host name="h" address="127.0.0.1" worker-pool="z"><service name="slow"><check-command command="p"/><schedule every="1h"/>
<state failed-after="1"/></service></host></bergamot>`)
	sink := r.startServeCounting(2 * time.Minute)
	id := r.checkID("slow")
	a := r.workerProc("z", "BERGAMOT_RESCUE_AFTER=4s")
	time.Sleep(500 * time.Millisecond) // let A register; the check is queued next
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET next_run = now() WHERE check_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	started := func(n int) func() bool {
		return func() bool {
			b, _ := os.ReadFile(runs)
			return strings.Count(string(b), "run") >= n
		}
	}
	r.waitFor("worker A to start the check", 60*time.Second, started(1))
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	r.workerProc("z", "BERGAMOT_RESCUE_AFTER=4s")
	// The sink counts inside the processing transaction: wait for its commit too.
	r.waitFor("the check to be rescued and finish on worker B", 90*time.Second, func() bool {
		return sink.count(id) >= 1 && r.state("slow").Status != "PENDING"
	})
	if s := r.state("slow"); s.Status != "OK" || s.Output != "OK: slept" {
		t.Errorf("after the rescue: %s %q", s.Status, s.Output)
	}
	time.Sleep(2 * time.Second) // anything duplicated would show by now
	if n := sink.count(id); n != 1 {
		t.Errorf("%d results for one slot; want exactly 1", n)
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 2 {
		t.Errorf("the plugin ran %d times; want twice (killed on A, rescued on B)", strings.Count(string(b), "run"))
	}
	// The job ended with its result: nothing of it is left to run again.
	var jobs int
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM river_job WHERE kind = 'check' AND args->>'check_id' = $1`,
		id.String()).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 {
		t.Errorf("%d check jobs left after the result; want 0", jobs)
	}
}

func TestZoneWithoutWorkersTimesOutThenRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs worker processes")
	}
	r := newE2ERig(t, `<bergamot site="t"><command name="d" engine="dummy"/>
<host name="h" address="127.0.0.1" worker-pool="z2"><service name="beat"><check-command command="d"/>
<schedule every="1s" retry-every="1s" changing-every="1s"/><state failed-after="1" recovers-after="1"/></service></host></bergamot>`)
	r.startServe(2 * time.Second)
	w := r.workerProc("z2")
	r.waitFor("OK from the worker", 60*time.Second, func() bool { return r.state("beat").Status == "OK" })
	// Stop every worker of the zone.
	_ = w.Process.Signal(syscall.SIGTERM)
	_ = w.Wait()
	r.waitFor("TIMEOUT with no worker", 30*time.Second, func() bool { return r.state("beat").Status == "TIMEOUT" })
	if s := r.state("beat"); s.Output != "no worker in zone z2 took the check within 2s; no worker of the zone is connected" || !s.Hard {
		t.Errorf("no worker: hard=%v output %q", s.Hard, s.Output)
	}
	r.workerProc("z2")
	r.waitFor("recovery when a worker returns", 60*time.Second, func() bool {
		return r.state("beat").Status == "OK"
	})
}
