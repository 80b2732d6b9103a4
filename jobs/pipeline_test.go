package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/dummy"
	"github.com/bergamot-monitoring/bergamot/checks/nagios"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/internal/riverclient"
	"github.com/bergamot-monitoring/bergamot/monitor"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// e2eRig is one site with the serve-side loops (scheduler, processor,
// watchdog) and workers running in-process, wired as cmd/bergamot does.
type e2eRig struct {
	t      *testing.T
	db     *pgtest.DB
	site   uuid.UUID
	sealer *store.Sealer
	rc     *river.Client[pgx.Tx]
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newE2ERig(t *testing.T, xml string) *e2eRig {
	t.Helper()
	db := pgtest.New(t)
	r := &e2eRig{t: t, db: db, log: slog.New(slog.DiscardHandler)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() { r.cancel(); r.wg.Wait() })
	err := pgx.BeginFunc(r.ctx, db.Pool, func(tx pgx.Tx) error {
		s, err := tenants.CreateSite(r.ctx, tx, "e"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		if err == nil {
			r.site = s.ID
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.sealer, err = store.NewSealer(make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if r.rc, err = riverclient.NewInsertClient(db.Pool, r.log); err != nil {
		t.Fatal(err)
	}
	doc, err := config.Parse("test.xml", strings.NewReader(xml))
	if err != nil {
		t.Fatal(err)
	}
	err = tenants.InSite(tenants.WithSite(r.ctx, r.site), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		res, err := (&store.Configs{Sealer: r.sealer}).Apply(ctx, tx, doc, "test", "test.xml", false)
		if err == nil && !res.OK {
			err = res.Errors
		}
		return err
	})
	if err != nil {
		t.Fatalf("applying configuration: %v", err)
	}
	// The rig's worker pools are the operator's zones (`bergamot zone create
	// --shared`), served by direct workers. A direct worker also claims its
	// zone when it starts, but a new check's first run may be queued before
	// that, into the site's private queue, where no direct worker looks.
	if _, err := db.Pool.Exec(r.ctx, `INSERT INTO shared_zones (name) VALUES ('z'), ('z2') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatalf("naming the shared zones: %v", err)
	}
	return r
}

func (r *e2eRig) goRun(f func(ctx context.Context) error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_ = f(r.ctx)
	}()
}

// startServe runs the scheduler, processor and watchdog.
func (r *e2eRig) startServe(startWithin time.Duration) {
	r.startServeSinks(startWithin)
}

// startServeSinks runs the serve loops as a serve node does (NewServe),
// with a short scheduler tick and watchdog interval, and sinks.
func (r *e2eRig) startServeSinks(startWithin time.Duration, sinks ...EventSink) {
	s := NewServe(r.ctx, ServeConfig{Pool: r.db.Pool, River: r.rc, Logger: r.log, Sinks: sinks, StartWithin: startWithin,
		Tick: 20 * time.Millisecond, WatchEvery: 200 * time.Millisecond})
	for _, loop := range s.Loops() {
		r.goRun(loop)
	}
}

// startWorker runs a River worker client for zone with the nagios and
// dummy engines.
func (r *e2eRig) startWorker(zone string, concurrency int) *river.Client[pgx.Tx] {
	r.t.Helper()
	reg := checks.NewRegistry()
	// Unconfined: these tests run their own plugins from private temporary
	// directories; checks/nagios tests confinement.
	reg.Register(nagios.New(nagios.Options{Logger: r.log, Confine: nagios.Confinement{User: "-"}}))
	reg.Register(dummy.New(dummy.Options{Logger: r.log}))
	w := &ExecuteWorker{Pool: r.db.Pool, Engines: reg, Sealer: r.sealer, WorkerID: "test/" + zone, Logger: r.log}
	wc, err := NewWorkerClient(r.db.Pool, WorkerConfig{Zone: zone, Concurrency: concurrency, Worker: w, Logger: r.log,
		FetchPollInterval: 50 * time.Millisecond})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wc.Start(r.ctx); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = wc.StopAndCancel(ctx)
	})
	return wc
}

// svcState is a service's row of check_state.
type svcState struct {
	Status    string
	Hard      bool
	Attempt   int
	Output    string
	Interval  int64
	LastCheck *time.Time
}

func (r *e2eRig) state(service string) svcState {
	r.t.Helper()
	var s svcState
	err := tenants.InSite(tenants.WithSite(r.ctx, r.site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT s.status, s.hard, s.attempt, s.output, COALESCE(sch.interval_ms, 0), s.last_check
			FROM checks c JOIN check_state s ON s.check_id = c.id LEFT JOIN check_schedule sch ON sch.check_id = c.id
			WHERE c.kind = 'service' AND c.name = $1`, service).Scan(&s.Status, &s.Hard, &s.Attempt, &s.Output, &s.Interval, &s.LastCheck)
	})
	if err != nil {
		r.t.Fatalf("state of %s: %v", service, err)
	}
	return s
}

func (r *e2eRig) checkID(service string) uuid.UUID {
	r.t.Helper()
	var id uuid.UUID
	err := tenants.InSite(tenants.WithSite(r.ctx, r.site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM checks WHERE name = $1`, service).Scan(&id)
	})
	if err != nil {
		r.t.Fatalf("check %s: %v", service, err)
	}
	return id
}

// waitFor polls cond until it holds or the deadline passes.
func (r *e2eRig) waitFor(what string, within time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// history lists a service's state changes, oldest first, as "STATUS/hard".
func (r *e2eRig) history(service string) []string {
	r.t.Helper()
	var out []string
	err := tenants.InSite(tenants.WithSite(r.ctx, r.site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT h.status, h.hard FROM state_history h JOIN checks c ON c.id = h.check_id
			WHERE c.name = $1 ORDER BY h.id`, service)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var hard bool
			if err := rows.Scan(&st, &hard); err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%s/%v", st, map[bool]string{true: "hard", false: "soft"}[hard]))
		}
		return rows.Err()
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

const plugins = "/usr/lib/nagios/plugins"

func pluginXML(services string) string {
	return `<bergamot site="t">
<command name="plugin" engine="nagios"><parameter name="command_line">#{cmd}</parameter></command>
<service name="fast" template="yes"><check-command command="plugin"/>
	<schedule every="1s" retry-every="2s" changing-every="1s"/><state failed-after="2" recovers-after="1"/></service>
<host name="h" address="127.0.0.1">` + services + `</host></bergamot>`
}

func svc(name, cmd string, extra ...string) string {
	return `<service name="` + name + `" extends="fast"><parameter name="cmd">` + cmd + `</parameter>` + strings.Join(extra, "") + `</service>`
}

func TestRealPluginsEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	open := ln.Addr().(*net.TCPAddr).Port
	r := newE2ERig(t, pluginXML(
		svc("d0", plugins+"/check_dummy 0 all-fine")+
			svc("d1", plugins+"/check_dummy 1 a-warning")+
			svc("d2", plugins+"/check_dummy 2 a-critical")+
			svc("d3", plugins+"/check_dummy 3 unknown-thing")+
			svc("tcp-open", fmt.Sprintf("%s/check_tcp -H 127.0.0.1 -p %d", plugins, open))+
			svc("tcp-closed", fmt.Sprintf("%s/check_tcp -H 127.0.0.1 -p %d", plugins, closedPort))+
			svc("slow", "/bin/sleep 20", `<parameter name="timeout">1s</parameter>`)+
			svc("missing", "/nonexistent/check_nothing")))
	r.startServe(time.Minute)
	r.startWorker("default", 20)

	hard := func(name, status string) {
		t.Helper()
		r.waitFor(name+" hard "+status, 30*time.Second, func() bool {
			s := r.state(name)
			return s.Status == status && s.Hard
		})
	}
	hard("d0", "OK")
	for name, status := range map[string]string{"d1": "WARNING", "d2": "CRITICAL", "d3": "UNKNOWN"} {
		hard(name, status)
		// failed-after=2: the first bad result is soft, the second hard.
		h := r.history(name)
		want := []string{status + "/soft", status + "/hard"}
		if len(h) < 2 || h[0] != want[0] || h[1] != want[1] {
			t.Errorf("%s went through %v; want %v first", name, h, want)
		}
	}
	if s := r.state("d1"); s.Output != "WARNING: a-warning" || s.Attempt != 2 {
		t.Errorf("d1: output %q attempt %d", s.Output, s.Attempt)
	}
	hard("tcp-open", "OK")
	hard("tcp-closed", "CRITICAL")
	if s := r.state("tcp-closed"); !strings.Contains(s.Output, "refused") {
		t.Errorf("closed port output: %q", s.Output)
	}
	hard("slow", "TIMEOUT")
	if s := r.state("slow"); !strings.Contains(s.Output, "timed out after 1s") {
		t.Errorf("slow plugin output: %q", s.Output)
	}
	hard("missing", "ERROR")
	if s := r.state("missing"); !strings.Contains(s.Output, "/nonexistent/check_nothing") {
		t.Errorf("missing plugin output: %q", s.Output)
	}
	// The interval follows the state: hard OK -> every, hard problem -> retry-every.
	if s := r.state("d0"); s.Interval != 1000 {
		t.Errorf("hard OK check runs every %d ms; want every=1s", s.Interval)
	}
	if s := r.state("d2"); s.Interval != 2000 {
		t.Errorf("hard CRITICAL check runs every %d ms; want retry-every=2s", s.Interval)
	}
}

func TestIntervalFollowsState(t *testing.T) {
	s := store.CheckSettings{Schedule: config.Schedule{Every: 5 * time.Minute, RetryEvery: time.Minute, ChangingEvery: 30 * time.Second}}
	for _, c := range []struct {
		name string
		st   monitor.State
		want time.Duration
	}{
		{"soft problem", monitor.State{Hard: false, OK: false}, 30 * time.Second},
		{"soft recovery", monitor.State{Hard: false, OK: true, HardOK: false}, 30 * time.Second},
		{"hard OK", monitor.State{Hard: true, OK: true, HardOK: true}, 5 * time.Minute},
		{"hard problem", monitor.State{Hard: true, OK: false, HardOK: false}, time.Minute},
	} {
		if got := intervalFor(s, c.st); got != c.want {
			t.Errorf("%s: interval %s, want %s", c.name, got, c.want)
		}
	}
	if got := intervalFor(store.CheckSettings{}, monitor.State{Hard: true, OK: true, HardOK: true}); got != 5*time.Minute {
		t.Errorf("default every: %s", got)
	}
}

func TestNextSlotSpreadsChecksEvenly(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 7, 300e6, time.UTC)
	const n, buckets = 10000, 60
	var count [buckets]int
	for i := 0; i < n; i++ {
		id := uuid.New()
		slot := store.NextSlot(id, time.Minute, now)
		if !slot.After(now) || slot.Sub(now) > time.Minute {
			t.Fatalf("slot %s not within the next interval after %s", slot, now)
		}
		if again := store.NextSlot(id, time.Minute, now.Add(time.Minute)); again.Sub(slot) != time.Minute {
			t.Fatalf("a check's phase moved: %s then %s", slot, again)
		}
		count[slot.Sub(now)*buckets/time.Minute]++
	}
	mean := float64(n) / buckets
	var worst float64
	for _, c := range count {
		worst = math.Max(worst, math.Abs(float64(c)-mean)/mean)
	}
	// Binomial spread: sd ~ 12.8 (7.7%); 30% is > 3.9 sd.
	if worst > 0.30 {
		t.Errorf("10,000 checks per second of a minute: %v (worst %.0f%% off the mean %.0f)", count, worst*100, mean)
	}
}

// jobsFor counts queued River check jobs per check.
func jobsFor(t *testing.T, pool *pgxpool.Pool, check uuid.UUID) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'check' AND args->>'check_id' = $1`,
		check.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTimePeriodGatesExecution(t *testing.T) {
	now := time.Now().UTC()
	today := strings.ToLower(now.Weekday().String())
	other := strings.ToLower(now.Add(48 * time.Hour).Weekday().String())
	r := newE2ERig(t, `<bergamot site="t">
<time-period name="today"><time-range>`+today+` 00:00-24:00</time-range></time-period>
<time-period name="elsewhen"><time-range>`+other+` 00:00-24:00</time-range></time-period>
<command name="d" engine="dummy"/>
<host name="h" address="127.0.0.1">
<service name="inside"><check-command command="d"/><schedule every="1m" time-period="today"/></service>
<service name="outside"><check-command command="d"/><schedule every="1m" time-period="elsewhen"/></service>
</host></bergamot>`)
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET next_run = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	s := &Scheduler{Pool: r.db.Pool, River: r.rc, Logger: r.log}
	n, err := s.RunOnce(r.ctx)
	if err != nil || n != 2 {
		t.Fatalf("scheduler claimed %d due checks (%v); want 2", n, err)
	}
	if got := jobsFor(t, r.db.Pool, r.checkID("inside")); got != 1 {
		t.Errorf("check inside its time period: %d jobs, want 1", got)
	}
	if got := jobsFor(t, r.db.Pool, r.checkID("outside")); got != 0 {
		t.Errorf("check outside its time period: %d jobs, want 0", got)
	}
	var next time.Time
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT next_run FROM check_schedule WHERE check_id = $1`, r.checkID("outside")).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if !next.After(time.Now()) {
		t.Errorf("skipped check's next run did not move on: %s", next)
	}
}

func TestExecuteNowJumpsTheQueue(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, `<service name="s%d"><check-command command="d"/><schedule every="1h"/></service>`, i)
	}
	r := newE2ERig(t, `<bergamot site="t"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">`+
		b.String()+`<service name="urgent"><check-command command="d"/><schedule every="1h"/></service></host></bergamot>`)
	// Everything is due and queued before a worker exists.
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET next_run = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if n, err := (&Scheduler{Pool: r.db.Pool, River: r.rc, Logger: r.log}).RunOnce(r.ctx); err != nil || n != 41 {
		t.Fatalf("queued %d (%v)", n, err)
	}
	urgent := r.checkID("urgent")
	err := tenants.InSite(tenants.WithSite(r.ctx, r.site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return ExecuteNow(ctx, tx, r.rc, urgent, time.Minute)
	})
	if err != nil {
		t.Fatal(err)
	}
	r.startWorker("default", 1)
	r.waitFor("all jobs done", 30*time.Second, func() bool {
		var n int
		_ = r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM result_inbox`).Scan(&n)
		return n == 42
	})
	var first string
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT check_id::text FROM result_inbox ORDER BY (result->>'Started')::timestamptz LIMIT 1`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if first != urgent.String() {
		t.Errorf("the ad-hoc check did not run first")
	}
}

func TestTwoSchedulersNeverRunASlotTwice(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, `<service name="s%d"><check-command command="d"/><schedule every="1s"/></service>`, i)
	}
	r := newE2ERig(t, `<bergamot site="t"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">`+b.String()+`</host></bergamot>`)
	// A second "serve node": its own pool and River client.
	pool2, err := tenants.OpenPool(r.ctx, r.db.OwnerURL, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer pool2.Close()
	rc2, err := riverclient.NewInsertClient(pool2, r.log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 3500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range []*Scheduler{
		// No worker answers here: let in-flight jobs hold back nothing, so
		// every second's slot is queued and can race.
		{Pool: r.db.Pool, River: r.rc, Logger: r.log, Tick: 5 * time.Millisecond, Batch: 50, InFlightFor: time.Millisecond},
		{Pool: pool2, River: rc2, Logger: r.log, Tick: 5 * time.Millisecond, Batch: 50, InFlightFor: time.Millisecond},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
	}
	wg.Wait()
	var total, dup int
	if err := r.db.Pool.QueryRow(context.Background(), `SELECT count(*), count(*) - count(DISTINCT (args->>'check_id', args->>'slot'))
		FROM river_job WHERE kind = 'check'`).Scan(&total, &dup); err != nil {
		t.Fatal(err)
	}
	if total < 600 {
		t.Errorf("only %d jobs in 3.5 s for 300 checks every second", total)
	}
	if dup != 0 {
		t.Errorf("%d of %d slots were queued twice", dup, total)
	}
}

// TestInFlightCheckSkipsSlots: while a check's job waits for a worker, its
// next slots are skipped instead of queued behind it; once its result is
// in, the next slot queues again.
func TestInFlightCheckSkipsSlots(t *testing.T) {
	r := newE2ERig(t, `<bergamot site="t"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">
		<service name="fast"><check-command command="d"/><schedule every="1s" retry-every="1s" changing-every="1s"/></service></host></bergamot>`)
	id := r.checkID("fast")
	sched := &Scheduler{Pool: r.db.Pool, River: r.rc, Logger: r.log}
	due := func() {
		t.Helper()
		if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET next_run = now() - interval '1 second' WHERE check_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if _, err := sched.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
	}
	due()
	due()
	due()
	if n := jobsFor(t, r.db.Pool, id); n != 1 {
		t.Fatalf("%d jobs queued for three slots with no worker; want 1 (the later slots skipped)", n)
	}
	if sched.Skipped() != 2 {
		t.Errorf("skipped = %d, want 2", sched.Skipped())
	}
	// A worker runs the job and the processor takes the result: the next
	// slot queues again.
	r.goRun((&Processor{Pool: r.db.Pool, Logger: r.log, Wake: Wakeup(r.ctx, r.db.Pool, ResultsChannel, r.log)}).Run)
	r.startWorker("default", 1)
	r.waitFor("the result", 30*time.Second, func() bool { return r.state("fast").Status == "OK" })
	r.waitFor("the job to end", 10*time.Second, func() bool { return jobsFor(t, r.db.Pool, id) == 0 })
	r.waitFor("the in-flight mark to clear", 10*time.Second, func() bool {
		var busy bool
		_ = r.db.Pool.QueryRow(r.ctx, `SELECT in_flight_until IS NOT NULL FROM check_schedule WHERE check_id = $1`, id).Scan(&busy)
		return !busy
	})
	before := sched.Skipped()
	due()
	if sched.Skipped() != before {
		t.Errorf("a slot after the result was skipped")
	}
}

// A new check's early first run (see store.FirstRunWindow) is followed by
// its stable slot, not by first run + interval: checks added together
// would otherwise keep running together.
func TestFirstRunRealignsToStableSlot(t *testing.T) {
	// Five daily checks: a check whose stable slot happens to come within
	// its first-run window (11 s of 24 h) runs there and has nothing to
	// realign to; the test takes one that has.
	r := newE2ERig(t, `<bergamot site="t"><command name="d" engine="dummy"/><host name="h" address="127.0.0.1">
		<service name="a"><check-command command="d"/><schedule every="24h"/></service>
		<service name="b"><check-command command="d"/><schedule every="24h"/></service>
		<service name="c"><check-command command="d"/><schedule every="24h"/></service>
		<service name="d"><check-command command="d"/><schedule every="24h"/></service>
		<service name="e"><check-command command="d"/><schedule every="24h"/></service></host></bergamot>`)
	var id uuid.UUID
	var first, stable time.Time
	var align *time.Time
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		id = r.checkID(name)
		if err := r.db.Pool.QueryRow(r.ctx, `SELECT next_run, realign_to FROM check_schedule WHERE check_id = $1`, id).Scan(&first, &align); err != nil {
			t.Fatal(err)
		}
		if align != nil {
			break
		}
	}
	if align == nil || time.Until(first) > time.Minute {
		t.Fatalf("a new daily check first runs in %v with realign_to %v; want within a minute, then its stable slot", time.Until(first), align)
	}
	stable = *align
	sched := &Scheduler{Pool: r.db.Pool, River: r.rc, Logger: r.log}
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE check_schedule SET next_run = now() - interval '1 second' WHERE check_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if n, err := sched.RunOnce(r.ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d claimed, %v", n, err)
	}
	var next time.Time
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT next_run, realign_to FROM check_schedule WHERE check_id = $1`, id).Scan(&next, &align); err != nil {
		t.Fatal(err)
	}
	if !next.Equal(stable) || align != nil {
		t.Fatalf("after the first run: next %v (realign_to %v), want the stable slot %v", next, align, stable)
	}
}
