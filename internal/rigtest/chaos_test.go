package rigtest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
)

// TestMain lets four scenarios run at once unless -parallel says
// otherwise: their processes mostly wait (on plugins, timers, the
// injected fault), so the suite takes a fraction of their sum.
func TestMain(m *testing.M) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", "4")
	}
	pgtest.Main(m)
}

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
<command name="plugin" engine="nagios"><parameter name="command_line">` + cmd + `</parameter><parameter name="timeout">30s</parameter></command>
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

// subscribers puts one live dashboard on each serve node.
func (c *chaos) subscribers() []*Subscriber {
	tok := c.Token("a")
	var out []*Subscriber
	for i := range c.serves {
		out = append(out, c.Subscribe(tok, c.serves[i].Addr(), c.serves[(i+1)%len(c.serves)].Addr()))
	}
	return out
}

// synced fails unless every subscriber catches up with the database.
func (c *chaos) synced(subs []*Subscriber) {
	c.T.Helper()
	for i, s := range subs {
		if err := c.InSync(s, 60*time.Second); err != nil {
			c.T.Errorf("subscriber %d: %v", i+1, err)
		} else {
			c.T.Logf("subscriber %d in sync with the database: %s", i+1, s.Stats())
		}
	}
}

// TestChaosKillRemoteWorker: kill -9 a remote worker mid-check; its jobs
// go to the other remote worker of the zone, it comes back, nothing is
// lost or applied twice.
func TestChaosKillRemoteWorker(t *testing.T) {
	c := newChaos(t, Options{}, "")
	time.Sleep(5 * time.Second)
	c.remotes[0].Kill()
	time.Sleep(15 * time.Second)
	c.remotes[0].Restart()
	time.Sleep(10 * time.Second)
	c.verdict(time.Now())
}

// TestChaosKillServeNode: kill -9 the serve node the remote workers and a
// dashboard are connected to; the other node schedules, processes and
// serves the gateway alone, the workers and the dashboard move over, the
// killed node comes back.
func TestChaosKillServeNode(t *testing.T) {
	c := newChaos(t, Options{}, "")
	subs := c.subscribers()
	time.Sleep(5 * time.Second)
	c.serves[0].Kill()
	time.Sleep(20 * time.Second)
	c.serves[0].Restart()
	time.Sleep(10 * time.Second)
	c.verdict(time.Now())
	c.synced(subs)
}

// TestChaosStopServeNode: SIGSTOP a serve node for 60 s, a zombie holding
// its database connections (and whatever locks they hold), its gateway
// sessions and its WebSocket clients; then SIGCONT. The other node
// carries on, and both nodes' subscribers end in sync with the database.
// It was skipped in make test after a parallel run applied one slot twice
// around SIGCONT: the resumed node's result processor pulled a check's
// next slot back from now(), the start of its minute-old transaction,
// onto a slot the other node had already queued (fixed: clock_timestamp();
// jobs.TestFrozenProcessorDoesNotRewindTheSchedule). The frozen node's
// scheduler claim and processor lanes are now released after
// jobs.IdleInTransaction instead of the whole freeze.
func TestChaosStopServeNode(t *testing.T) {
	c := newChaos(t, Options{}, "")
	subs := c.subscribers()
	time.Sleep(5 * time.Second)
	c.serves[0].Stop()
	time.Sleep(60 * time.Second)
	c.serves[0].Cont()
	time.Sleep(15 * time.Second)
	c.verdict(time.Now())
	c.synced(subs)
	if c.serves[0].Exited() {
		t.Errorf("the resumed serve node exited:\n%s", c.serves[0].Logs(20))
	}
}

// TestChaosRestartPostgres: PostgreSQL crashes (kill -9 of every
// PostgreSQL process) and restarts under load; every role reconnects on
// its own.
func TestChaosRestartPostgres(t *testing.T) {
	c := newChaos(t, Options{}, "")
	subs := c.subscribers()
	time.Sleep(5 * time.Second)
	c.Primary.Kill()
	time.Sleep(5 * time.Second)
	c.Primary.Start()
	time.Sleep(30 * time.Second)
	c.verdict(time.Now())
	c.synced(subs)
	for _, p := range append(append(append([]*Proc{}, c.serves...), c.workers...), c.remotes...) {
		if p.Exited() {
			t.Errorf("%s exited after the database restart (a supervisor would restart it, but it should not need to):\n%s", p.Name, p.Logs(10))
		}
	}
}

// TestChaosCutRemoteLink: the link between both remote workers and the
// first serve node goes dark for 30 s (a black hole, not a refusal); the
// workers finish what they ran, move to the second node, hand back
// results over it, and nothing is lost or applied twice.
func TestChaosCutRemoteLink(t *testing.T) {
	c := newChaos(t, Options{}, "")
	time.Sleep(5 * time.Second)
	for _, l := range c.links {
		l.Cut()
	}
	time.Sleep(30 * time.Second)
	for _, l := range c.links {
		l.Heal()
	}
	time.Sleep(10 * time.Second)
	c.verdict(time.Now())
}
