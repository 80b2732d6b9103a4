package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/bergamot-monitoring/bergamot/checks"
)

// TestHandbackCompletesJobWithResult: a result commits together with the
// end of its River job, including a job River rescued while the run went
// on (the first result of any run stands for the slot); a result whose
// job has finished (completed, or cancelled by the watchdog, whose TIMEOUT
// stands for the slot) is not written at all and the job is left alone.
func TestHandbackCompletesJobWithResult(t *testing.T) {
	r := newE2ERig(t, `<bergamot site="t">
		<command name="ok" engine="dummy"><parameter name="status">OK</parameter></command>
		<host name="h" address="127.0.0.1"><check-command command="ok"/></host></bergamot>`)
	ctx := context.Background()
	check := r.checkID("h")
	args := ExecuteArgs{SiteID: r.site, CheckID: check, Slot: time.Now(), Deadline: time.Now().Add(time.Minute), Zone: "default"}
	insert := func(state string) *river.Job[ExecuteArgs] {
		t.Helper()
		res, err := r.rc.Insert(ctx, args, &river.InsertOpts{Queue: "handback_test"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.db.Pool.Exec(ctx, `UPDATE river_job SET state = $2::river_job_state, attempted_at = now(), attempt = 1,
			finalized_at = CASE WHEN $2 IN ('completed', 'cancelled') THEN now() END WHERE id = $1`, res.Job.ID, state); err != nil {
			t.Fatal(err)
		}
		return &river.Job[ExecuteArgs]{JobRow: &rivertype.JobRow{ID: res.Job.ID}, Args: args}
	}
	outputs := func() map[string]bool {
		t.Helper()
		rows, err := r.db.Pool.Query(ctx, `SELECT result->>'output' FROM result_inbox WHERE check_id = $1`, check)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for rows.Next() {
			var o string
			if err := rows.Scan(&o); err != nil {
				t.Fatal(err)
			}
			out[o] = true
		}
		return out
	}
	jobRows := func(id int64) (n int) {
		t.Helper()
		if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	running, rescued := insert("running"), insert("retryable")
	completed, cancelled := insert("completed"), insert("cancelled")
	if err := writeResults(r.db.Pool, []*handbackItem{
		{job: running, body: []byte(`{"status":"OK","output":"fresh"}`)},
		{job: rescued, body: []byte(`{"status":"OK","output":"late"}`)},
		{job: completed, body: []byte(`{"status":"OK","output":"again"}`)},
		{job: cancelled, body: []byte(`{"status":"OK","output":"after the watchdog"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	if got := outputs(); len(got) != 2 || !got["fresh"] || !got["late"] {
		t.Fatalf("result_inbox has %v for the check, want the running and the rescued job's results", got)
	}
	for name, j := range map[string]*river.Job[ExecuteArgs]{"running": running, "rescued": rescued} {
		if jobRows(j.ID) != 0 {
			t.Errorf("the %s job was not finished in its result's transaction", name)
		}
	}
	for name, j := range map[string]*river.Job[ExecuteArgs]{"completed": completed, "cancelled": cancelled} {
		if jobRows(j.ID) != 1 {
			t.Errorf("the %s job was touched", name)
		}
	}
}

// TestLateResultOfRescuedJobAppliesOnce replays, step by step, how
// TestFailoverSynchronousStandby lost a slot ("job row gone", no result):
// a worker's run outlasted the rescue bound (the database was failing
// over), River rescued the job, and the first run's result arrived while
// the job waited to run again. It was dropped, that run's Work returned
// nil, and River's completion of it (JobSetStateIfRunningMany: UPDATE ...
// WHERE state = 'running', whatever the attempt) marked the second run
// completed once that had started; the second run's result was dropped in
// turn, and River's cleaner deleted the completed row a minute later. Now
// the first result completes the job and the rest find nothing: the slot
// gets exactly one result.
func TestLateResultOfRescuedJobAppliesOnce(t *testing.T) {
	r := newE2ERig(t, `<bergamot site="t">
		<command name="ok" engine="dummy"><parameter name="status">OK</parameter></command>
		<host name="h" address="127.0.0.1"><check-command command="ok"/></host></bergamot>`)
	ctx := context.Background()
	check := r.checkID("h")
	args := ExecuteArgs{SiteID: r.site, CheckID: check, Slot: time.Now(), Deadline: time.Now().Add(time.Minute), Zone: "default"}
	ins, err := r.rc.Insert(ctx, args, &river.InsertOpts{Queue: "handback_test"})
	if err != nil {
		t.Fatal(err)
	}
	id := ins.Job.ID
	exec := func(sql string) {
		t.Helper()
		if _, err := r.db.Pool.Exec(ctx, sql, id); err != nil {
			t.Fatal(err)
		}
	}
	w := &ExecuteWorker{Pool: r.db.Pool}
	run := func(attempt int) *river.Job[ExecuteArgs] {
		return &river.Job[ExecuteArgs]{JobRow: &rivertype.JobRow{ID: id, Attempt: attempt}, Args: args}
	}
	exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1`) // worker 1 fetches it
	exec(`UPDATE river_job SET state = 'retryable', errors = errors || '{"error": "Stuck job rescued by Rescuer"}'::jsonb WHERE id = $1`)
	if err := w.HandBack(ctx, run(1), &checks.Result{Status: checks.StatusOK, Output: "first run", Started: time.Now()}); err != nil {
		t.Fatal(err) // worker 1's result, late
	}
	exec(`UPDATE river_job SET state = 'running', attempt = 2, attempted_at = now() WHERE id = $1 AND state = 'retryable'`) // worker 2 fetches it
	exec(`UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1 AND state = 'running'`)              // River completes worker 1's run
	if err := w.HandBack(ctx, run(2), &checks.Result{Status: checks.StatusOK, Output: "second run", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var n int
	var out string
	if err := r.db.Pool.QueryRow(ctx, `SELECT count(*), COALESCE(max(result->>'Output'), '') FROM result_inbox WHERE check_id = $1`, check).Scan(&n, &out); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("the slot got %d results (%q), want exactly 1", n, out)
	}
	if out != "first run" {
		t.Errorf("the slot's result is %q, want the first run's (the first to arrive)", out)
	}
}
