package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// freezeSink stands for a serve node frozen (SIGSTOP) in the middle of its
// result processor's transaction: it blocks between the processor's read
// and its writes, after the transaction began.
type freezeSink struct {
	hold  time.Duration
	woken time.Time
}

func (f *freezeSink) HandleEvents(context.Context, pgx.Tx, *ProcessedCheck) error {
	time.Sleep(f.hold)
	f.woken = time.Now()
	return nil
}

// TestFrozenProcessorDoesNotRewindTheSchedule: a result processor that
// resumes in a transaction begun long ago must not move a check's next
// slot back to a slot already queued. The chaos suite's SIGSTOP of a serve
// node applied one slot twice: the frozen node's processor, resumed, pulled
// the check's next_run back from the slots the other node had queued
// meanwhile using now(), the start of its own transaction 60 s earlier, so
// the pulled-back slot was one already run, and the scheduler queued it
// again. Without clock_timestamp() in the pull-back, next_run lands about
// hold before the processor woke.
func TestFrozenProcessorDoesNotRewindTheSchedule(t *testing.T) {
	r := newE2ERig(t, `<bergamot site="t"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">
		<service name="s"><check-command command="d"/><schedule every="2s" retry-every="2s" changing-every="2s"/></service></host></bergamot>`)
	id := r.checkID("s")
	// The other node has been scheduling the check while this one was
	// frozen: the check is in flight and its next slot 30 s out.
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET next_run = date_trunc('second', clock_timestamp()) + interval '30 seconds',
		in_flight_until = clock_timestamp() + interval '5 minutes' WHERE check_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	r.inbox(id, checks.Result{Status: checks.StatusOK, Output: "ok", Started: time.Now()})
	freeze := &freezeSink{hold: 5 * time.Second}
	p := &Processor{Pool: r.db.Pool, Logger: r.log, Sinks: []EventSink{freeze}}
	if n, err := p.RunOnce(r.ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	var next time.Time
	var busy bool
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT next_run, in_flight_until IS NOT NULL FROM check_schedule WHERE check_id = $1`, id).Scan(&next, &busy); err != nil {
		t.Fatal(err)
	}
	if busy {
		t.Error("the result did not clear the in-flight mark")
	}
	if next.Before(freeze.woken) {
		t.Errorf("next_run %s is %s before the processor resumed: a slot already queued would run again",
			next.Format(time.RFC3339Nano), freeze.woken.Sub(next).Round(time.Millisecond))
	}
	if next.After(freeze.woken.Add(2*time.Second + time.Second)) {
		t.Errorf("next_run %s is more than an interval after the processor resumed (%s): the result should bring the check back to its next slot",
			next.Format(time.RFC3339Nano), freeze.woken.Format(time.RFC3339Nano))
	}
}
