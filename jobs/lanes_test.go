package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// orderSink records, per check, the sequence numbers of the results the
// processors apply ("seq N" outputs), in the order they apply them.
type orderSink struct {
	mu   sync.Mutex
	seqs map[uuid.UUID][]int
}

func (o *orderSink) HandleEvents(_ context.Context, _ pgx.Tx, pc *ProcessedCheck) error {
	var k int
	if _, err := fmt.Sscanf(pc.Result.Output, "seq %d", &k); err != nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seqs[pc.CheckID] = append(o.seqs[pc.CheckID], k)
	return nil
}

func (o *orderSink) total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, s := range o.seqs {
		n += len(s)
	}
	return n
}

// TestParallelProcessorsKeepEachChecksOrder: three serve nodes' processors
// (six loops in all) work through one inbox in small batches at once, yet
// each check's results are applied one transaction at a time, in arrival
// order, each exactly once, and its state ends at its last result.
func TestParallelProcessorsKeepEachChecksOrder(t *testing.T) {
	const nChecks, perCheck = 8, 60
	var services string
	for i := range nChecks {
		services += svc(fmt.Sprintf("s%d", i), plugins+"/check_dummy 0")
	}
	r := newE2ERig(t, pluginXML(services))
	ids := make([]uuid.UUID, nChecks)
	for i := range ids {
		ids[i] = r.checkID(fmt.Sprintf("s%d", i))
	}
	// Round-robin over the checks: every batch holds several of each.
	sites, checkIDs, bodies := []uuid.UUID{}, []uuid.UUID{}, []string{}
	start := time.Now().Add(-time.Hour)
	for k := range perCheck {
		for i, id := range ids {
			st := checks.StatusOK
			if (k+i)%3 == 0 {
				st = checks.StatusCritical // changes make history rows and alerts too
			}
			body, _ := json.Marshal(checks.Result{Status: st, Output: fmt.Sprintf("seq %d", k), Started: start.Add(time.Duration(k) * time.Second)})
			sites, checkIDs, bodies = append(sites, r.site), append(checkIDs, id), append(bodies, string(body))
		}
	}
	if _, err := r.db.Pool.Exec(r.ctx, `INSERT INTO result_inbox (site_id, check_id, result)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[])`, sites, checkIDs, bodies); err != nil {
		t.Fatal(err)
	}
	sink := &orderSink{seqs: map[uuid.UUID][]int{}}
	for _, loops := range []int{2, 3, 1} {
		p := &Processor{Pool: r.db.Pool, Logger: r.log, Sinks: []EventSink{sink}, Batch: 7, Loops: loops}
		r.goRun(p.Run)
	}
	r.waitFor("every result applied", 30*time.Second, func() bool { return sink.total() >= nChecks*perCheck })
	time.Sleep(100 * time.Millisecond) // anything applied twice would show now
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for i, id := range ids {
		got := sink.seqs[id]
		if len(got) != perCheck {
			t.Errorf("s%d: %d results applied, want %d", i, len(got), perCheck)
		}
		for k, seq := range got {
			if seq != k {
				t.Fatalf("s%d: results applied in order %v, want 0..%d", i, got, perCheck-1)
			}
		}
		if s := r.state(fmt.Sprintf("s%d", i)); s.Output != fmt.Sprintf("seq %d", perCheck-1) {
			t.Errorf("s%d ends with output %q, want the last result's", i, s.Output)
		}
	}
}

// inbox hands res for check id straight to the result inbox, as a
// worker's hand-back does.
func (r *e2eRig) inbox(id uuid.UUID, res checks.Result) {
	r.t.Helper()
	body, _ := json.Marshal(res)
	if _, err := r.db.Pool.Exec(r.ctx, `INSERT INTO result_inbox (site_id, check_id, result) VALUES ($1, $2, $3)`, r.site, id, body); err != nil {
		r.t.Fatal(err)
	}
}

// inSite runs fn in a transaction of the rig's site.
func (r *e2eRig) inSite(fn func(ctx context.Context, tx pgx.Tx) error) {
	r.t.Helper()
	if err := tenants.InSite(tenants.WithSite(r.ctx, r.site), r.db.Pool, fn); err != nil {
		r.t.Fatal(err)
	}
}

// processWhileHeld runs p once while change, made in a transaction of the
// rig's site, is held uncommitted; the change commits once the processor
// has reached the state rows, and both must succeed.
func (r *e2eRig) processWhileHeld(p *Processor, change func(ctx context.Context, tx pgx.Tx) error) {
	r.t.Helper()
	changed, release := make(chan error, 1), make(chan struct{})
	go func() {
		changed <- tenants.InSite(tenants.WithSite(r.ctx, r.site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			if err := change(ctx, tx); err != nil {
				return err
			}
			changed <- nil
			<-release // hold the change uncommitted
			return nil
		})
	}()
	if err := <-changed; err != nil {
		r.t.Fatal(err)
	}
	processed := make(chan error, 1)
	go func() {
		_, err := p.RunOnce(r.ctx)
		processed <- err
	}()
	time.Sleep(300 * time.Millisecond) // the processor reaches the check's row
	close(release)
	if err := <-changed; err != nil {
		r.t.Fatalf("committing the change: %v", err)
	}
	if err := <-processed; err != nil {
		r.t.Fatal(err)
	}
}

func critical(out string) checks.Result {
	return checks.Result{Status: checks.StatusCritical, Output: out, Started: time.Now()}
}

// TestAcknowledgeDuringProcessingIsKept: an acknowledgement committed
// while the processor applies a result for the same check survives it.
// The processor's state write replaces only the state it read; here it
// finds the acknowledged one instead, rolls back and applies the result
// again from there, instead of overwriting the acknowledgement.
func TestAcknowledgeDuringProcessingIsKept(t *testing.T) {
	r := newE2ERig(t, pluginXML(svc("disk", plugins+"/check_dummy 2")))
	id := r.checkID("disk")
	p := &Processor{Pool: r.db.Pool, Logger: r.log}
	for _, out := range []string{"full 1", "full 2"} { // failed-after 2: hard CRITICAL
		r.inbox(id, critical(out))
		if n, err := p.RunOnce(r.ctx); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
	}
	if s := r.state("disk"); s.Status != "CRITICAL" || !s.Hard {
		t.Fatalf("state %+v, want hard CRITICAL", s)
	}

	r.inbox(id, critical("full 3"))
	r.processWhileHeld(p, func(ctx context.Context, tx pgx.Tx) error {
		_, err := store.Acknowledge(ctx, tx, id.String(), "ops", "on it", false)
		return err
	})
	var ackd bool
	var out string
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT acknowledged, output FROM check_state WHERE check_id = $1`, id).Scan(&ackd, &out)
	})
	if !ackd || out != "full 3" {
		t.Fatalf("after the result: acknowledged %v, output %q; want the acknowledgement kept and output %q", ackd, out, "full 3")
	}
}

// TestSuppressDuringProcessingIsKept: a configuration change that
// suppresses a check, committed while the processor applies a result for
// it, survives the result: the processor's write finds a newer state than
// it read, rolls back and applies the result again from there.
func TestSuppressDuringProcessingIsKept(t *testing.T) {
	r := newE2ERig(t, pluginXML(svc("disk", plugins+"/check_dummy 2")))
	id := r.checkID("disk")
	p := &Processor{Pool: r.db.Pool, Logger: r.log}
	r.inbox(id, critical("full 1"))
	if n, err := p.RunOnce(r.ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	xml := strings.Replace(pluginXML(svc("disk", plugins+"/check_dummy 2")), `<service name="disk"`, `<service name="disk" suppressed="yes"`, 1)
	doc, err := config.Parse("suppress.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	r.inbox(id, critical("full 2"))
	r.processWhileHeld(p, func(ctx context.Context, tx pgx.Tx) error {
		res, err := (&store.Configs{Sealer: r.sealer}).Apply(ctx, tx, doc, "test", "suppress.xml", false)
		if err == nil && (!res.OK || res.Changed != 1) {
			err = fmt.Errorf("apply: %+v", res)
		}
		return err
	})
	var suppressed bool
	var out string
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT suppressed, output FROM check_state WHERE check_id = $1`, id).Scan(&suppressed, &out)
	})
	if !suppressed || out != "full 2" {
		t.Fatalf("after the result: suppressed %v, output %q; want the suppression kept and output %q", suppressed, out, "full 2")
	}
}

// TestOlderResultDoesNotTakeTheCheckBack: when two runs of one check
// overlap and the older one's result reaches the inbox last (two workers,
// executeNow during a scheduled run), the check keeps the newer result's
// state; the older run's perfdata is still recorded.
func TestOlderResultDoesNotTakeTheCheckBack(t *testing.T) {
	r := newE2ERig(t, pluginXML(svc("disk", plugins+"/check_dummy 0")))
	id := r.checkID("disk")
	p := &Processor{Pool: r.db.Pool, Logger: r.log}
	now := time.Now()
	feed := func(st checks.Status, out string, started time.Time, value float64) {
		t.Helper()
		r.inbox(id, checks.Result{Status: st, Output: out, Started: started, Runtime: 10 * time.Millisecond,
			Perfdata: []checks.Perfdata{{Label: "used", Value: &value}}})
	}
	feed(checks.StatusOK, "newer", now, 1)
	feed(checks.StatusCritical, "older", now.Add(-2*time.Second), 2)
	if _, err := p.RunOnce(r.ctx); err != nil {
		t.Fatal(err)
	}
	feed(checks.StatusCritical, "oldest, alone in its batch", now.Add(-3*time.Second), 3)
	if _, err := p.RunOnce(r.ctx); err != nil {
		t.Fatal(err)
	}
	var out string
	var points, inbox int
	r.inSite(func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT output FROM check_state WHERE check_id = $1`, id).Scan(&out); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM result_inbox WHERE check_id = $1`, id).Scan(&inbox); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM metrics WHERE check_id = $1`, id).Scan(&points)
	})
	if out != "newer" || points != 3 || inbox != 0 {
		t.Fatalf("output %q, %d metric points, %d results left; want %q, 3 points, none left", out, points, inbox, "newer")
	}
}
