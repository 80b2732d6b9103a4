package jobs

import (
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/monitor"
)

// A lasting problem on a check with renotify-every produces reminder events
// that notify, through the real processor.
func TestRenotifyEveryReminds(t *testing.T) {
	p := newPipeline(t, parseXML(t, `<bergamot site="t">
		<host name="h" address="127.0.0.1">
			<service name="cron">
				<state failed-after="1" recovers-after="1"/>
				<notifications renotify-every="1s"/>
			</service>
		</host></bergamot>`))
	rec := &recordingSink{}
	p.proc.Sinks = append(p.proc.Sinks, rec)
	p.push("h", "cron", checks.StatusCritical, "backup failed")
	id := p.expect("service", "cron", "h", "CRITICAL", true, "backup failed").id
	if n := rec.events(id, monitor.EventHardProblem); n != 1 {
		t.Fatalf("%d hard-problem events, want 1", n)
	}
	p.push("h", "cron", checks.StatusCritical, "backup failed")
	if n := notifying(rec, id, monitor.EventReminder); n != 0 {
		t.Fatalf("a reminder before renotify-every elapsed (%d)", n)
	}
	time.Sleep(1100 * time.Millisecond)
	p.push("h", "cron", checks.StatusCritical, "backup failed again")
	if n := notifying(rec, id, monitor.EventReminder); n != 1 {
		t.Fatalf("%d notifying reminders after renotify-every, want 1", n)
	}
}

func notifying(r *recordingSink, check interface{ String() string }, kind monitor.EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, pc := range r.pcs {
		for _, e := range pc.Events {
			if pc.CheckID.String() == check.String() && e.Kind == kind && e.Notify {
				n++
			}
		}
	}
	return n
}
