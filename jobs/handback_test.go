package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// TestHandbackCompletesJobWithResult: a result commits together with the end
// of its River job, and a result whose job is no longer running (River
// rescued it, so another run will report) is not written at all.
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
		if _, err := r.db.Pool.Exec(ctx, `UPDATE river_job SET state = $2::river_job_state, attempted_at = now(), attempt = 1 WHERE id = $1`, res.Job.ID, state); err != nil {
			t.Fatal(err)
		}
		return &river.Job[ExecuteArgs]{JobRow: &rivertype.JobRow{ID: res.Job.ID}, Args: args}
	}
	inbox := func() (n int) {
		t.Helper()
		if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM result_inbox WHERE check_id = $1`, check).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	jobRows := func(id int64) (n int) {
		t.Helper()
		if err := r.db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	running := insert("running")
	rescued := insert("retryable")
	if err := writeResults(r.db.Pool, []*handbackItem{
		{job: running, body: []byte(`{"status":"OK","output":"fresh"}`)},
		{job: rescued, body: []byte(`{"status":"OK","output":"late"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	if n := inbox(); n != 1 {
		t.Fatalf("result_inbox has %d results for the check, want 1 (the running job's)", n)
	}
	var out string
	if err := r.db.Pool.QueryRow(ctx, `SELECT result->>'output' FROM result_inbox WHERE check_id = $1`, check).Scan(&out); err != nil || out != "fresh" {
		t.Fatalf("stored result = %q (%v), want the running job's", out, err)
	}
	if jobRows(running.ID) != 0 {
		t.Error("the running job was not finished in the result's transaction")
	}
	if jobRows(rescued.ID) != 1 {
		t.Error("the rescued job was touched: its retry must still run")
	}
}
