package rigtest

import (
	"fmt"
	"testing"
	"time"
)

// failover kills the primary under load, promotes the standby, and
// measures what it cost. Every process was given both hosts with
// target_session_attrs=read-write and none is restarted.
func failover(t *testing.T, sync bool) (gap time.Duration, s *Slots, missing int) {
	c := newChaos(t, Options{Standby: true, Sync: sync}, "")
	subs := c.subscribers()
	time.Sleep(8 * time.Second)
	var before int
	var last time.Time
	if err := c.Admin.QueryRow(c.Ctx, `SELECT count(*), max(at) FROM rig.applied`).Scan(&before, &last); err != nil {
		t.Fatal(err)
	}
	// Everything committed up to here must survive: with a synchronous
	// standby, each of these commits waited for the standby's flush.
	c.Primary.Kill()
	killed := time.Now()
	time.Sleep(2 * time.Second) // a watchdog noticing the dead primary
	c.Standby.Promote()
	promoted := time.Now()
	var first time.Time
	c.WaitFor("results applied on the promoted standby", 120*time.Second, func() bool {
		err := c.Admin.QueryRow(c.Ctx, `SELECT min(at) FROM rig.applied WHERE at > $1`, killed).Scan(&first)
		return err == nil && !first.IsZero()
	})
	gap = first.Sub(last)
	if err := c.Admin.QueryRow(c.Ctx, `SELECT $1 - count(*) FROM rig.applied WHERE at <= $2`, before, last).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Second)
	s = c.Ledger(time.Now(), 15*time.Second, 3*time.Minute)
	line := fmt.Sprintf("failover (sync=%v): primary killed, standby promoted %.1fs later; no results for %.1fs (last before %s, first after %s); "+
		"committed results missing after failover: %d of %d; %s", sync, promoted.Sub(killed).Seconds(), gap.Seconds(),
		last.Format("15:04:05.000"), first.Format("15:04:05.000"), missing, before, s)
	t.Log(line)
	fmt.Println("FAILOVER " + line)
	for i, p := range s.Problems { // which slots, and their jobs' last state: asynchronous loss or a bug
		if i == 10 {
			break
		}
		t.Log(p)
	}
	for _, p := range append(append(append([]*Proc{}, c.serves...), c.workers...), c.remotes...) {
		if p.Exited() {
			t.Errorf("%s exited during the failover; it should reconnect on its own:\n%s", p.Name, p.Logs(10))
		}
	}
	c.synced(subs)
	return gap, s, missing
}

// TestFailoverSynchronousStandby: with a synchronous standby nothing
// committed is lost, no slot is lost or applied twice, and every role
// carries on through the promoted standby without a restart.
func TestFailoverSynchronousStandby(t *testing.T) {
	_, s, missing := failover(t, true)
	if missing != 0 {
		t.Errorf("%d committed results lost with a synchronous standby", missing)
	}
	if s.Lost != 0 || s.Duplicated != 0 || s.InFlight != 0 {
		t.Errorf("want zero lost, duplicated and in-flight slots: %s %v", s, s.Problems)
	}
}

// TestFailoverAsynchronousStandby measures the same with asynchronous
// replication, PostgreSQL's default: transactions committed on the
// primary in the last moments before it died may be missing on the
// standby. Their results are gone; their slots' jobs, if those were
// lost too, are rescheduled by the scheduler's next pass (the schedule
// row rolled back with them). Reported, not asserted beyond the pipeline
// carrying on.
func TestFailoverAsynchronousStandby(t *testing.T) {
	_, s, _ := failover(t, false)
	if s.Executed == 0 {
		t.Errorf("nothing executed after the failover: %s", s)
	}
}
