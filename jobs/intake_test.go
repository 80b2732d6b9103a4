package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/bergamot-monitoring/bergamot/checks"
	"github.com/bergamot-monitoring/bergamot/checks/dummy"
	"github.com/bergamot-monitoring/bergamot/checks/nagios"
	"github.com/bergamot-monitoring/bergamot/checks/script"
	"github.com/bergamot-monitoring/bergamot/config"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// addSite creates another site in the rig's database with configuration
// xml and returns it.
func (r *e2eRig) addSite(xml string) uuid.UUID {
	r.t.Helper()
	var site uuid.UUID
	err := pgx.BeginFunc(r.ctx, r.db.Pool, func(tx pgx.Tx) error {
		s, err := tenants.CreateSite(r.ctx, tx, "b"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
		if err == nil {
			site = s.ID
		}
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	doc, err := config.Parse("b.xml", strings.NewReader(xml))
	if err != nil {
		r.t.Fatal(err)
	}
	err = tenants.InSite(tenants.WithSite(r.ctx, site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		res, err := (&store.Configs{Sealer: r.sealer}).Apply(ctx, tx, doc, "test", "b.xml", false)
		if err == nil && !res.OK {
			err = res.Errors
		}
		return err
	})
	if err != nil {
		r.t.Fatalf("applying site B's configuration: %v", err)
	}
	return site
}

// siteState is one check's state in any site of the rig.
type siteState struct {
	id        uuid.UUID
	status    string
	output    string
	lastCheck *time.Time
	perf      string
}

func (r *e2eRig) stateIn(site uuid.UUID, name string) siteState {
	r.t.Helper()
	var s siteState
	err := tenants.InSite(tenants.WithSite(r.ctx, site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT c.id, s.status, s.output, s.last_check, s.perfdata::text
			FROM checks c JOIN check_state s ON s.check_id = c.id WHERE c.name = $1`, name).
			Scan(&s.id, &s.status, &s.output, &s.lastCheck, &s.perf)
	})
	if err != nil {
		r.t.Fatalf("state of %s: %v", name, err)
	}
	return s
}

// startScriptWorker is startWorker with the script engine as well.
func (r *e2eRig) startScriptWorker(zone string) {
	r.t.Helper()
	reg := checks.NewRegistry()
	reg.Register(nagios.New(nagios.Options{Logger: r.log}))
	reg.Register(dummy.New(dummy.Options{Logger: r.log}))
	reg.Register(script.New(script.Options{Logger: r.log}))
	w := &ExecuteWorker{Pool: r.db.Pool, Engines: reg, Sealer: r.sealer, WorkerID: "test/" + zone, Logger: r.log}
	wc, err := NewWorkerClient(r.db.Pool, WorkerConfig{Zone: zone, Concurrency: 10, Worker: w, Logger: r.log,
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
}

// randomLabel is n letters that do not compress (PostgreSQL compresses a
// repetitive index entry below the btree row limit).
func randomLabel(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rand.IntN(26))
	}
	return string(b)
}

// The attacker's site: a script check whose output holds a NUL byte and a
// lone surrogate (invalid UTF-8 once in Go) and whose reading has a
// 3,000-character label, and a passive check.
const poisonSiteXML = `<bergamot site="a">
<command name="poison" engine="script"><script>
var label = '';
for (var i = 0; i &lt; 3000; i++) { label += String.fromCharCode(97 + Math.floor(Math.random() * 26)); }
bergamot.publishReadings(bergamot.createDoubleGaugeReading(label, 'B', 1));
bergamot.critical('nul \u0000 here, lone \uD800 surrogate');
</script></command>
<host name="attacker" address="127.0.0.1">
	<service name="poison"><check-command command="poison"/><schedule every="1s"/><state failed-after="1"/></service>
	<service name="pushed"><state failed-after="1"/></service>
</host></bergamot>`

// TestPoisonResultsDoNotStallOtherSites: site A sends results PostgreSQL
// cannot store as they are (a 3,000-character perfdata label, more than a
// btree index row holds; a NUL byte, which jsonb refuses; invalid UTF-8),
// through a passive submit and a script check's hand-back. Site B's checks
// must keep being processed on schedule, and A's checks show what arrived,
// bounded. Before the intake normaliser, the processor's batch (every
// site's results) rolled back and retried forever, and the hand-back
// batch holding the NUL failed for every result in it.
func TestPoisonResultsDoNotStallOtherSites(t *testing.T) {
	r := newE2ERig(t, poisonSiteXML)
	siteB := r.addSite(pluginXML(svc("steady", plugins+"/check_dummy 0 fine")))
	r.startServe(time.Minute)
	r.startScriptWorker("default")

	r.waitFor("site B's first result", 20*time.Second, func() bool { return r.stateIn(siteB, "steady").lastCheck != nil })
	err := tenants.InSite(tenants.WithSite(r.ctx, r.site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
		id := r.stateIn(r.site, "pushed").id
		return store.SubmitResult(ctx, tx, id.String(), checks.StatusWarning, "pushed\x00 \xff|"+randomLabel(3000)+"=1 ok=2", "passive:test")
	})
	if err != nil {
		t.Fatalf("passive submit: %v", err)
	}
	// Site B keeps its schedule: several more results after the poison.
	since := *r.stateIn(siteB, "steady").lastCheck
	r.waitFor("site B's checks to keep running after site A's poison", 20*time.Second, func() bool {
		s := r.stateIn(siteB, "steady")
		return s.status == "OK" && s.lastCheck.Sub(since) >= 2*time.Second
	})
	r.waitFor("site A's passive result", 10*time.Second, func() bool { return r.stateIn(r.site, "pushed").status == "WARNING" })
	pushed := r.stateIn(r.site, "pushed")
	if pushed.output != "pushed\uFFFD \uFFFD" || !strings.Contains(pushed.perf, `"label": "ok"`) || strings.Count(pushed.perf, `"label"`) != 1 {
		t.Errorf("passive result: output %q perfdata %s; want the NUL and bad byte replaced, the long-label item dropped, ok=2 kept", pushed.output, pushed.perf)
	}
	r.waitFor("site A's script result", 20*time.Second, func() bool { return r.stateIn(r.site, "poison").status == "CRITICAL" })
	if out := r.stateIn(r.site, "poison").output; !strings.HasPrefix(out, "nul \uFFFD here, lone ") || strings.ContainsRune(out, 0) {
		t.Errorf("script result output %q; want the NUL replaced", out)
	}
}

// inboxFor hands res for check id of site straight to the result inbox,
// skipping the intake normaliser (as a result queued before it existed,
// or one only the database refuses, would).
func (r *e2eRig) inboxFor(site, id uuid.UUID, res checks.Result) {
	r.t.Helper()
	body, _ := json.Marshal(res)
	if _, err := r.db.Pool.Exec(r.ctx, `INSERT INTO result_inbox (site_id, check_id, result) VALUES ($1, $2, $3)`, site, id, body); err != nil {
		r.t.Fatal(err)
	}
}

const passiveSiteXML = `<bergamot site="p"><host name="h" address="127.0.0.1">
	<service name="one"><state failed-after="1"/></service>
	<service name="two"><state failed-after="1"/></service>
</host></bergamot>`

// TestPoisonRowIsSetAside: when PostgreSQL refuses one result of a batch
// anyway, the processor splits the batch, sets that result aside with the
// database's reason, gives its check an ERROR saying what was wrong, and
// processes the rest, other sites' included, in one pass. Before, the
// whole batch rolled back and was retried every 200 ms forever.
func TestPoisonRowIsSetAside(t *testing.T) {
	r := newE2ERig(t, passiveSiteXML)
	siteB := r.addSite(passiveSiteXML)
	aOne, bOne, bTwo := r.stateIn(r.site, "one").id, r.stateIn(siteB, "one").id, r.stateIn(siteB, "two").id
	ok := func(out string) checks.Result {
		return checks.Result{Status: checks.StatusOK, Output: out, Started: time.Now()}
	}
	r.inboxFor(siteB, bOne, ok("b one first"))
	poison := ok("poison")
	v := 1.0
	poison.Perfdata = []checks.Perfdata{{Label: randomLabel(3000), Value: &v}}
	r.inboxFor(r.site, aOne, poison)
	for i := range 5 {
		r.inboxFor(siteB, bTwo, ok(fmt.Sprintf("b two %d", i)))
	}
	r.inboxFor(siteB, bOne, ok("b one last"))

	p := &Processor{Pool: r.db.Pool, Logger: r.log}
	n, err := p.RunOnce(r.ctx)
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if n != 8 {
		t.Errorf("RunOnce processed %d results, want 8 (7 of site B and site A's ERROR)", n)
	}
	if s := r.stateIn(siteB, "one"); s.status != "OK" || s.output != "b one last" {
		t.Errorf("site B one: %s %q, want its last result", s.status, s.output)
	}
	if s := r.stateIn(siteB, "two"); s.output != "b two 4" {
		t.Errorf("site B two: %q, want its last result", s.output)
	}
	a := r.stateIn(r.site, "one")
	if a.status != "ERROR" || !strings.Contains(a.output, "could not be stored and was set aside: index row size") ||
		!strings.Contains(a.output, `it said OK "poison"`) {
		t.Errorf("site A one: %s %q; want an ERROR naming what was wrong", a.status, a.output)
	}
	var inbox int
	if err := r.db.Pool.QueryRow(r.ctx, `SELECT count(*) FROM result_inbox`).Scan(&inbox); err != nil || inbox != 0 {
		t.Errorf("inbox holds %d results (%v), want none", inbox, err)
	}
	count := func(site uuid.UUID) (n int, reason string) {
		r.t.Helper()
		err := tenants.InSite(tenants.WithSite(r.ctx, site), r.db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*), coalesce(max(error), '') FROM result_quarantine`).Scan(&n, &reason)
		})
		if err != nil {
			t.Fatal(err)
		}
		return n, reason
	}
	if n, reason := count(r.site); n != 1 || !strings.Contains(reason, "SQLSTATE 54000") {
		t.Errorf("site A's quarantine: %d rows, reason %q", n, reason)
	}
	if n, _ := count(siteB); n != 0 {
		t.Errorf("site B sees %d quarantined results, want none (row-level security)", n)
	}
}

// TestJobThatKeepsKillingItsWorkerIsParked: a check job River already
// rescued twice (each time its worker died running it) is not run a third
// time: it ends with an ERROR that says why. Before, River handed it to
// the next worker, which died too.
func TestJobThatKeepsKillingItsWorkerIsParked(t *testing.T) {
	r := newE2ERig(t, pluginXML(svc("crashy", plugins+"/check_dummy 0 ran")))
	id := r.checkID("crashy")
	now := time.Now()
	res, err := r.rc.Insert(r.ctx, ExecuteArgs{SiteID: r.site, CheckID: id, Slot: now, Deadline: now.Add(time.Minute), Zone: "default"},
		&river.InsertOpts{Queue: QueueForZone("default"), MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	// What River's rescuer leaves after two workers died running it.
	rescued := `{"at": "2026-01-01T00:00:00Z", "attempt": %d, "error": "Stuck job rescued by JobRescuer", "trace": ""}`
	if _, err := r.db.Pool.Exec(r.ctx, `UPDATE river_job SET attempt = 2, errors = ARRAY[$2::jsonb, $3::jsonb] WHERE id = $1`,
		res.Job.ID, fmt.Sprintf(rescued, 1), fmt.Sprintf(rescued, 2)); err != nil {
		t.Fatal(err)
	}
	proc := &Processor{Pool: r.db.Pool, Logger: r.log, Wake: Wakeup(r.ctx, r.db.Pool, ResultsChannel, r.log)}
	r.goRun(proc.Run)
	r.startWorker("default", 2)
	r.waitFor("the parked job's result", 30*time.Second, func() bool { return r.state("crashy").Status != "PENDING" })
	if s := r.state("crashy"); s.Status != "ERROR" || !strings.HasPrefix(s.Output, "check parked: its run ended 2 times without a result") {
		t.Errorf("got %s %q; want the job parked with an ERROR", s.Status, s.Output)
	}
}
