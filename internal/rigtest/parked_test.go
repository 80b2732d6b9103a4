package rigtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestRemoteJobOutrunningItsTimeIsParkedNotLost: a remote zone's check
// that runs longer than the node's rescue time fails its job's every
// attempt; the gateway parks it on the third with an ERROR result that
// says why, as a direct worker does, instead of River discarding the job
// and its slot vanishing without a result. Found by the link-cut chaos
// scenario under load; fails without the forwarder's Parked check
// (the ledger counts the slot lost).
func TestRemoteJobOutrunningItsTimeIsParkedNotLost(t *testing.T) {
	t.Parallel()
	c := New(t, Options{})
	dir := tempDir(t, "bergamot-rig-plugin-")
	slow := filepath.Join(dir, "check_slow")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 60\necho 'OK: slow'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.Site("a", `<bergamot site="a">
<command name="slow" engine="nagios"><parameter name="command_line">`+slow+`</parameter><parameter name="timeout">90s</parameter></command>
<host name="edge" address="127.0.0.1" worker-pool="edge"><service name="slow"><check-command command="slow"/><schedule every="1h"/></service></host></bergamot>`)
	serve := c.Serve("serve-1", "BERGAMOT_RESCUE_AFTER=4s")
	c.RemoteWorker("remote-1", c.WorkerKey("a", "edge"), []string{HubURL(serve.Addr())})
	var status, output string
	c.WaitFor("the slot's result", 150*time.Second, func() bool {
		c.InSite("a", func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT s.status, s.output FROM check_state s JOIN checks k ON k.id = s.check_id WHERE k.name = 'slow'`).Scan(&status, &output)
		})
		return status != "PENDING" && status != ""
	})
	s := c.Ledger(time.Now(), time.Hour, 30*time.Second)
	t.Logf("%s; state %s %q", s, status, output)
	if s.Lost != 0 || s.Duplicated != 0 || s.Executed != 1 {
		t.Errorf("want the one slot executed once: %s %v", s, s.Problems)
	}
	if status != "ERROR" || !strings.Contains(output, "check parked") {
		t.Errorf("state %s %q, want ERROR saying the check was parked", status, output)
	}
}
