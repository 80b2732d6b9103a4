package hub_test

import (
	"strings"
	"testing"
	"time"
)

// TestForwardToDeadNode: the agent's only hub is node 1; node 2 forwards
// its checks there. Node 1 is killed with -9 while its connection row
// still looks live: node 2's forwarded checks are not left in the dead
// node's queue for River's rescue (minutes) but taken back after a few
// seconds and reported DISCONNECTED, naming the node that did not take
// them; node 2 then keeps reporting them DISCONNECTED.
func TestForwardToDeadNode(t *testing.T) {
	r := newRig(t, map[string]string{"a": hostXML})
	n1, url1 := r.serve()
	r.serve()
	creds := r.cert(r.sites["a"].String(), "agent-1")
	r.agent(creds, url1)
	before := time.Now()
	r.due("a")
	r.waitStates("a", "web1", before, 90*time.Second, healthy)

	_ = n1.cmd.Process.Kill()
	_ = n1.cmd.Wait()
	killed := time.Now()
	r.due("a")
	ss := r.waitStates("a", "web1", killed, 60*time.Second, func(s checkState) bool { return s.Status == "DISCONNECTED" })
	took := time.Since(killed)
	named := 0
	for _, s := range ss {
		if strings.Contains(s.Output, "did not take the check") && strings.Contains(s.Output, "is connected to node") {
			named++
		}
	}
	t.Logf("every check DISCONNECTED %s after node 1 was killed; %d of %d name the node that did not take them:\n%s",
		took.Round(100*time.Millisecond), named, len(ss), formatStates(ss))
	if named == 0 {
		t.Error("no check says the node holding the agent did not take it")
	}
}
