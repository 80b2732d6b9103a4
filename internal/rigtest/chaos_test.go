package rigtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// chaos is one scenario's rig: two serve nodes, two direct workers in the
// operator zone "core", two remote workers in site a's private zone
// "edge" (each dialling both serve nodes, through links the test can
// cut), and 40 checks every 2 s, half in each zone.
type chaos struct {
	*Cluster
	serves  []*Proc
	workers []*Proc // direct
	remotes []*Proc
	links   map[string]*Link // remote worker name -> its link to the first serve node
	started time.Time
}

const (
	chaosChecks   = 40
	chaosInterval = 2 * time.Second
)

// plugin writes a check plugin that takes a little while, so kills land mid-check.
func plugin(t testing.TB) string {
	dir := tempDir(t, "bergamot-rig-plugin-")
	p := filepath.Join(dir, "check_rig")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nsleep 0.3\necho \"OK: rig|x=1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func chaosXML(cmd, extra string) string {
	var core, edge strings.Builder
	for i := range chaosChecks / 2 {
		fmt.Fprintf(&core, `<service name="core%02d" extends="rig"/>`, i)
		fmt.Fprintf(&edge, `<service name="edge%02d" extends="rig"/>`, i)
	}
	return `<bergamot site="a">` + extra + `
<command name="plugin" engine="nagios"><parameter name="command_line">` + cmd + `</parameter><parameter name="timeout">10s</parameter></command>
<service name="rig" template="yes"><check-command command="plugin"/><schedule every="2s" retry-every="2s" changing-every="2s"/></service>
<host name="core" address="127.0.0.1" worker-pool="core">` + core.String() + `</host>
<host name="edge" address="127.0.0.1" worker-pool="edge">` + edge.String() + `</host></bergamot>`
}

func newChaos(t *testing.T, o Options, extraXML string) *chaos {
	t.Parallel()
	c := &chaos{Cluster: New(t, o), links: map[string]*Link{}}
	if _, err := (&gateway.Store{Pool: c.Pool}).CreateSharedZone(c.Ctx, "core"); err != nil {
		t.Fatal(err)
	}
	c.Site("a", chaosXML(plugin(t), extraXML))
	c.serves = []*Proc{c.Serve("serve-1"), c.Serve("serve-2")}
	c.workers = []*Proc{c.Worker("worker-1", "core"), c.Worker("worker-2", "core")}
	key := c.WorkerKey("a", "edge")
	for _, name := range []string{"remote-1", "remote-2"} {
		l := NewLink(t, c.serves[0].Addr())
		c.links[name] = l
		c.remotes = append(c.remotes, c.RemoteWorker(name, key, []string{HubURL(l.Addr), HubURL(c.serves[1].Addr())}))
	}
	c.started = time.Now()
	c.WaitFor("every check's first result", 90*time.Second, func() bool { return c.checked() == chaosChecks })
	return c
}

// checked counts the checks with a result.
func (c *chaos) checked() int {
	var n int
	if err := c.Admin.QueryRow(c.Ctx, `SELECT count(*) FROM check_state s JOIN checks k ON k.id = s.check_id
		WHERE k.kind = 'service' AND s.last_check IS NOT NULL`).Scan(&n); err != nil {
		c.T.Logf("counting checked: %v", err)
	}
	return n
}

// verdict settles the ledger for the slots before cutoff, prints it, and
// fails on any lost or duplicated slot. TIMEOUTs are failures too: a
// check no worker started in time is a false alert.
func (c *chaos) verdict(cutoff time.Time) *Slots {
	c.T.Helper()
	s := c.Ledger(cutoff, 15*time.Second, 3*time.Minute)
	c.T.Logf("%s: %s", c.T.Name(), s)
	fmt.Printf("CHAOS %s: %s\n", c.T.Name(), s)
	for i, p := range s.Problems {
		if i == 10 {
			break
		}
		c.T.Log(p)
	}
	if s.Lost != 0 || s.Duplicated != 0 || s.InFlight != 0 || s.TimedOut != 0 {
		c.T.Errorf("want zero lost, duplicated, in-flight and timed-out slots: %s", s)
	}
	if s.Executed < chaosChecks {
		c.T.Errorf("only %d slots executed", s.Executed)
	}
	return s
}

// TestChaosKillDirectWorker: kill -9 a direct worker while checks run on
// it; the other takes its zone's work, the killed one comes back (as its
// supervisor would restart it), and every slot is applied exactly once.
func TestChaosKillDirectWorker(t *testing.T) {
	c := newChaos(t, Options{}, "")
	time.Sleep(5 * time.Second)
	c.workers[0].Kill()
	time.Sleep(15 * time.Second)
	c.workers[0].Restart()
	time.Sleep(10 * time.Second)
	c.verdict(time.Now())
}
