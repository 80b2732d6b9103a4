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

// stallSink blocks the processor mid-transaction for hold, saying when.
type stallSink struct {
	hold    time.Duration
	stalled chan struct{}
}

func (s *stallSink) HandleEvents(context.Context, pgx.Tx, *ProcessedCheck) error {
	close(s.stalled)
	time.Sleep(s.hold)
	return nil
}

// TestFrozenProcessorReleasesItsLanes: a serve node frozen in the middle
// of its processor's transaction holds every lane that transaction locked,
// so no other node could apply a result of those lanes until it resumed
// (a minute, in the chaos suite's SIGSTOP). With the transaction's idle
// time bounded, PostgreSQL ends the frozen session after IdleTimeout and
// another processor applies the result while the first is still frozen;
// the frozen one's work rolls back, so the result is applied once.
func TestFrozenProcessorReleasesItsLanes(t *testing.T) {
	r := newE2ERig(t, `<bergamot site="t"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">
		<service name="s"><check-command command="d"/><schedule every="1m"/></service></host></bergamot>`)
	id := r.checkID("s")
	r.inbox(id, checks.Result{Status: checks.StatusOK, Output: "the only result", Started: time.Now()})
	const hold = 12 * time.Second
	stall := &stallSink{hold: hold, stalled: make(chan struct{})}
	frozen := &Processor{Pool: r.db.Pool, Logger: r.log, Sinks: []EventSink{stall}, IdleTimeout: time.Second}
	frozenErr := make(chan error, 1)
	go func() {
		_, err := frozen.RunOnce(r.ctx)
		frozenErr <- err
	}()
	<-stall.stalled
	stalledAt := time.Now()
	other := &Processor{Pool: r.db.Pool, Logger: r.log}
	var took time.Duration
	for {
		n, err := other.RunOnce(r.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			took = time.Since(stalledAt)
			break
		}
		if time.Since(stalledAt) > hold-time.Second {
			t.Fatalf("the other processor applied nothing for %s while the first was frozen mid-transaction: its lanes stayed locked", time.Since(stalledAt).Round(time.Second))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the other processor applied the result %s after the first froze", took.Round(time.Millisecond))
	if err := <-frozenErr; err == nil {
		t.Error("the frozen processor's transaction committed after its session was ended")
	}
	var n int
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM result_inbox WHERE check_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d results left in the inbox", n)
	}
	if s := r.state("s"); s.Output != "the only result" {
		t.Errorf("state output %q, want the result's", s.Output)
	}
}
