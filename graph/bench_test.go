package graph_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/internal/apitest"
	"github.com/bergamot-monitoring/bergamot/internal/lattrace"
	"github.com/bergamot-monitoring/bergamot/server"
)

// report adds p50 and p99 of samples (milliseconds) to the benchmark.
func report(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 {
		return float64(samples[min(int(q*float64(len(samples))), len(samples)-1)].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // latency percentiles say more than the mean
}

// tuneLikeServe gives the benchmark process the garbage-collector settings
// of a serve node (server.TuneGC), restoring Go's defaults afterwards.
func tuneLikeServe(b *testing.B) {
	gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(gc)
	server.TuneGC()
	b.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })
}

// seedChecks inserts hosts*perHost+hosts checks with states straight into
// the site's tables as the owner (applying a 100,000-check configuration
// through the API would dominate the benchmark's run time).
func seedChecks(b testing.TB, e *apitest.Env, site string, hosts, perHost int) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	stmts := []string{
		`INSERT INTO checks (id, site_id, kind, name, summary, address, groups, engine)
			SELECT gen_random_uuid(), $1, 'host', 'host-' || i, 'Host ' || i, '10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256), ARRAY['g' || (i % 20)], 'dummy'
			FROM generate_series(1, $2::int) i`,
		`INSERT INTO checks (id, site_id, kind, name, summary, parent_id, engine)
			SELECT gen_random_uuid(), $1, 'service', 'svc-' || j, 'Service ' || j, h.id, 'dummy'
			FROM checks h, generate_series(1, $2::int) j WHERE h.site_id = $1 AND h.kind = 'host' AND h.name LIKE 'host-%'`,
		`INSERT INTO check_state (check_id, site_id, status, ok, hard, attempt, output, last_check, last_state_change)
			SELECT c.id, c.site_id, st, st = 'OK', true, 1, st || ': seeded result', now() - random() * interval '1 hour', now() - random() * interval '1 day'
			FROM checks c, LATERAL (SELECT CASE WHEN r < 0.02 THEN 'CRITICAL' WHEN r < 0.05 THEN 'WARNING' WHEN r < 0.06 THEN 'UNKNOWN' ELSE 'OK' END st
				FROM (SELECT random() + (c.id::text < '') ::int AS r) x) s
			WHERE c.site_id = $1 AND NOT EXISTS (SELECT 1 FROM check_state s WHERE s.check_id = c.id)`,
		// The state machine's view of the same states (as the processor
		// writes it), so a check's next result continues from its seeded
		// state like any check that has been running a while, instead of
		// being its first result ever (a PENDING -> OK change with a
		// history row for every check).
		`UPDATE check_state s SET machine = jsonb_build_object('Status', s.status, 'OK', s.ok, 'Hard', true, 'Attempt', 1,
				'HardStatus', s.status, 'HardOK', s.ok, 'LastCheck', s.last_check, 'LastStateChange', s.last_state_change,
				'LastHardChange', s.last_state_change, 'Output', s.output, 'AlertOpen', NOT s.ok, 'AlertSince', s.last_state_change)
			WHERE s.site_id = $1`,
		// VACUUM, not only ANALYZE: the first read of freshly inserted
		// rows sets their hint bits (writes), which made the first
		// benchmark after seeding (first-page-with-total, a count over
		// the site) measure that instead: p50 74 ms for its first 30
		// counts, 8 ms after. A running site's autovacuum does the same.
		`VACUUM (ANALYZE) checks`, `VACUUM (ANALYZE) check_state`,
	}
	for i, q := range stmts {
		var args []any
		switch i {
		case 0:
			args = []any{site, hosts}
		case 1:
			args = []any{site, perHost}
		case 2, 3:
			args = []any{site}
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
}

// BenchmarkChecksQuery: a page of 100 checks with their host and state,
// in a site of 100,000 checks (2% CRITICAL, 3% WARNING, 1% UNKNOWN).
func BenchmarkChecksQuery(b *testing.B) {
	tuneLikeServe(b)
	e := apitest.Start(b, apitest.Options{})
	a := e.SignUp(b, "alpha")
	seedChecks(b, e, a.ID, 10000, 9)
	var count struct{ Checks struct{ TotalCount int } }
	e.MustDo(b, a.Token, `{ checks { totalCount } }`, nil, &count)
	if count.Checks.TotalCount != 100000 {
		b.Fatalf("seeded %d checks", count.Checks.TotalCount)
	}
	const fields = `pageInfo { endCursor }
		nodes { id kind name summary ... on Service { host { id name } } state { status ok hard output lastCheck lastStateChange acknowledged } } } }`
	const page = `query($f: CheckFilter, $after: String) { checks(filter: $f, first: 100, after: $after) { totalCount ` + fields
	const pageNoCount = `query($f: CheckFilter, $after: String) { checks(filter: $f, first: 100, after: $after) { ` + fields
	var first struct {
		Checks struct{ PageInfo struct{ EndCursor string } }
	}
	e.MustDo(b, a.Token, pageNoCount, nil, &first)
	for _, c := range []struct {
		name   string
		query  string
		filter map[string]any
		after  string
	}{
		{"first-page-with-total", page, nil, ""},
		{"first-page", pageNoCount, nil, ""},
		{"next-page", pageNoCount, nil, first.Checks.PageInfo.EndCursor},
		{"problems", pageNoCount, map[string]any{"problems": true}, ""},
		{"search", pageNoCount, map[string]any{"search": "host-42"}, ""},        // 111 matches
		{"search-rare", pageNoCount, map[string]any{"search": "host-4242"}, ""}, // 1 match
		{"search-10k", pageNoCount, map[string]any{"search": "svc-1"}, ""},      // 10,000 matches
		{"search-common", pageNoCount, map[string]any{"search": "svc"}, ""},     // 90,000 matches
	} {
		page := c.query
		b.Run(c.name, func(b *testing.B) {
			vars := map[string]any{"f": c.filter}
			if c.after != "" {
				vars["after"] = c.after
			}
			var samples []time.Duration
			for b.Loop() {
				start := time.Now()
				r := e.Do(b, a.Token, page, vars)
				samples = append(samples, time.Since(start))
				if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"nodes":[{`) {
					b.Fatalf("query: %+v %.200s", r.Errors, r.Data)
				}
			}
			report(b, samples)
		})
	}
}

func init() { apitest.RunLoadClientIfAsked() }

// subChecks is the dashboard's live-update subscription
// (frontend/src/api/queries.ts SUB_CHECKS with its CheckRow fragment).
const subChecks = `subscription CheckUpdated($filter: CheckFilter) {
  checkUpdated(filter: $filter) { check { ...CheckRow } previous { status } state { status ok hard attempt output lastCheck lastStateChange flapping acknowledged inDowntime suppressed } }
}
fragment CheckRow on Check {
  __typename id kind name summary groups location
  ... on Service { host { id name } }
  ... on Trap { host { id name } }
  ... on Resource { cluster { id name } }
  state { status ok hard attempt output lastCheck lastStateChange flapping acknowledged inDowntime suppressed }
}`

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

func loadAvg() string {
	raw, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// BenchmarkSubscriptionLatency: time from a worker's result being handed
// back (committed into result_inbox, as jobs/handback.go does) to the
// update arriving at the subscribers, with 1,000 open subscriptions (one
// WebSocket each, half on each subprotocol) while 1,000 results/s flow
// through the real Processor and hub. The subscribers and the result feed
// run in a separate process (this test binary re-executed), so their CPU
// is not the server's.
//
// Site: 6,000 hosts x 9 services = 60,000 checks (BENCH_HOSTS), each with
// a state as if it had been running a while, fed round-robin at
// BENCH_RATE (1,000/s: each check once a minute). Every 50th check is
// CRITICAL and stays so (1 result in 50); every BENCH_RECOVER_EVERY-th
// (500) other check starts CRITICAL and recovers when the feed reaches
// it, so 1 result in 500 changes a check's state (agreeWithFeed). (Until
// 2026-11-25 the seeded states were random, 6% problems, and the feed's
// OK results recovered them all: 1 result in 17 was a recovery, 60 a
// second, a storm; since a problems subscription also receives the
// recovery, that storm quadrupled its messages. BENCH_RECOVER_EVERY=17
// measures it again.) (Until 2026-11-25 the seeded checks had no state
// machine yet, so every result in the window was its check's first ever,
// a PENDING -> OK change with a history row each; PostgreSQL spent a
// fifth less on statements without that, but the p99 did not move beyond
// this VM's noise.) Subscriptions, all with the dashboard's query: 10 with
// {problems: true} (overview pages), 90 following 10 check ids each
// (status widgets), the rest (BENCH_SUBS in all) filtered by host (host
// pages); BENCH_SUBS_ALL of them (default 0) unfiltered instead, each
// receiving every update (1,000 messages/s), and the next
// BENCH_SUBS_CHANGED (default 0) with {changed: true}, the dashboard's
// site-wide subscription since it stopped being unfiltered (only the
// updates that change what a status view shows). Each iteration is a
// one-second window after two seconds of warm-up.
func BenchmarkSubscriptionLatency(b *testing.B) {
	subs, unfiltered, rate := envInt("BENCH_SUBS", 1000), envInt("BENCH_SUBS_ALL", 0), envInt("BENCH_RATE", 1000)
	changedOnly := envInt("BENCH_SUBS_CHANGED", 0)
	hosts := max(envInt("BENCH_HOSTS", 6000), 1)
	const perHost, overviews, widgets = 9, 10, 90
	tuneLikeServe(b)
	stages := &lattrace.Recorder{}
	e := apitest.Start(b, apitest.Options{Stages: stages})
	a := e.SignUp(b, "alpha")
	seedChecks(b, e, a.ID, hosts, perHost)
	var ids []string
	owner, err := pgx.Connect(context.Background(), e.DB.OwnerURL)
	if err == nil {
		defer owner.Close(context.Background())
		var rows pgx.Rows
		rows, err = owner.Query(context.Background(), `SELECT id::text FROM checks WHERE site_id = $1 ORDER BY random()`, a.ID)
		if err == nil {
			ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
	}
	if err != nil || len(ids) != hosts*(perHost+1) {
		b.Fatalf("site has %d checks: %v", len(ids), err)
	}
	problemEvery, recoverEvery := 50, max(envInt("BENCH_RECOVER_EVERY", 500), 1)
	agreeWithFeed(b, owner, ids, problemEvery, recoverEvery)
	cfg := apitest.LoadConfig{URL: e.URL, Token: a.Token, DBURL: e.DB.OwnerURL, Site: a.ID, Checks: ids, Rate: rate, ProblemEvery: problemEvery}
	for i := range subs {
		sub := apitest.LoadSub{Class: "host", Query: subChecks,
			Vars: map[string]any{"filter": map[string]any{"host": fmt.Sprintf("host-%d", i%hosts+1)}}}
		switch {
		case i < unfiltered:
			sub = apitest.LoadSub{Class: "all", Query: subChecks}
		case i < unfiltered+changedOnly:
			sub = apitest.LoadSub{Class: "changed", Query: subChecks, Vars: map[string]any{"filter": map[string]any{"changed": true}}}
		case i < unfiltered+changedOnly+overviews:
			sub = apitest.LoadSub{Class: "problems", Query: subChecks, Vars: map[string]any{"filter": map[string]any{"problems": true}}}
		case i < unfiltered+changedOnly+overviews+widgets:
			// Ten checks spread over the feed's rotation.
			var follow []string
			for j := range 10 {
				follow = append(follow, ids[(j*len(ids)/10+i)%len(ids)])
			}
			sub = apitest.LoadSub{Class: "ids", Query: subChecks, Vars: map[string]any{"filter": map[string]any{"ids": follow}}}
		}
		cfg.Subs = append(cfg.Subs, sub)
	}
	load := apitest.StartLoad(b, cfg)
	e.WaitSubscribers(b, a.ID, subs)
	load.Feed(b)
	time.Sleep(2 * time.Second)
	load.Start(b)
	stages.Start()
	before, cpu0, pg0 := loadAvg(), apitest.SelfCPU(), pgCPU(e)
	for b.Loop() {
		time.Sleep(time.Second)
	}
	srvCPU, pgUsed := apitest.SelfCPU()-cpu0, pgCPU(e)-pg0
	s := load.Stop(b)
	b.StopTimer()
	stages.Stop()
	// Where the time went (b.Log would cut this off after ten lines).
	fmt.Fprint(os.Stderr, "time since the load client stamped a result (just before handing it back), by stage; then how long single steps took:\n"+stages.Report())
	sec := s.Window.Seconds()
	var backlog int
	_ = owner.QueryRow(context.Background(), `SELECT count(*) FROM result_inbox`).Scan(&backlog)
	b.Logf("load average before %s, after %s; window %.1fs; results fed %.0f/s, inbox backlog %d",
		before, loadAvg(), sec, float64(s.Results)/sec, backlog)
	for name, c := range s.Classes {
		b.Logf("  %-4s %4d subscriptions: %7.0f messages/s  p50 %v  p99 %v  max %v", name, c.Subs, float64(c.Messages)/sec, c.P50, c.P99, c.Max)
	}
	b.Logf("  CPU (cores): server %.2f, PostgreSQL %.2f, clients+feed %.2f", srvCPU.Seconds()/sec, pgUsed.Seconds()/sec, s.CPU.Seconds()/sec)
	if len(s.Errors) > 0 {
		b.Fatalf("subscribers got errors: %v", s.Errors)
	}
	if s.Messages == 0 {
		b.Fatal("no update arrived")
	}
	b.ReportMetric(float64(s.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(s.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(s.Messages)/sec, "msgs/s")
	b.ReportMetric(float64(s.Results)/sec, "results/s")
	b.ReportMetric(srvCPU.Seconds()/sec, "server-cores")
	b.ReportMetric(pgUsed.Seconds()/sec, "pg-cores")
	b.ReportMetric(0, "ns/op")
}

// agreeWithFeed sets the seeded states of ids (in the feed's order) to
// what the load feed keeps sending them: CRITICAL for every
// problemEvery-th check, OK for the rest. Without it the feed's first
// pass over the site (60 s) turned every seeded problem (6%, random)
// into a recovery, 60 state changes a second, each delivered to every
// problems subscription: a recovery storm no site lives in. Instead,
// every recoverEvery-th other check starts CRITICAL and recovers when
// the feed reaches it, a steady 1,000/recoverEvery recoveries a second
// (from position recoverEvery/2+1: recoverEvery/2 itself is a multiple of
// 50 for the default 500, which the feed keeps CRITICAL).
func agreeWithFeed(b *testing.B, owner *pgx.Conn, ids []string, problemEvery, recoverEvery int) {
	_, err := owner.Exec(context.Background(), `WITH f AS (
			SELECT id::uuid AS id, CASE WHEN (n - 1) % $2 = 0 OR (n - 1) % $3 = $3 / 2 + 1 THEN 'CRITICAL' ELSE 'OK' END AS st
			FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n))
		UPDATE check_state s SET status = f.st, ok = f.st = 'OK', output = f.st || ': seeded result',
			machine = s.machine || jsonb_build_object('Status', f.st, 'OK', f.st = 'OK', 'HardStatus', f.st, 'HardOK', f.st = 'OK',
				'Output', f.st || ': seeded result', 'AlertOpen', f.st <> 'OK')
		FROM f WHERE s.check_id = f.id`, ids, problemEvery, recoverEvery)
	if err != nil {
		b.Fatalf("seeding the feed's states: %v", err)
	}
}

// pgCPU is the CPU time used so far by the test cluster's PostgreSQL
// processes (postmaster and its children), or 0 when it cannot be read.
func pgCPU(e *apitest.Env) time.Duration {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB.OwnerURL)
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	var dir string
	if err := conn.QueryRow(ctx, `SHOW data_directory`).Scan(&dir); err != nil {
		return 0
	}
	raw, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	master, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state ppid ... utime(14) stime(15).
		s := string(raw)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		pid, _ := strconv.Atoi(strings.Fields(s)[0])
		ppid, _ := strconv.Atoi(f[1])
		if pid != master && ppid != master {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ = 100
}

// BenchmarkChecksQueryDomains: the checks page of BenchmarkChecksQuery
// with security domains on (a viewer whose contact may read 5 of the 10
// domains the 100,000 checks are spread over: row-level security filters
// every row by its domains) and off (the administrator, who reads all).
// docs/security-domains.md.
func BenchmarkChecksQueryDomains(b *testing.B) {
	tuneLikeServe(b)
	e := apitest.Start(b, apitest.Options{})
	a := e.SignUp(b, "alpha")
	seedChecks(b, e, a.ID, 10000, 9)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DB.OwnerURL)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE checks SET settings = settings || jsonb_build_object('SecurityDomains', jsonb_build_array('d' || abs(hashtext(id::text)) % 10)) WHERE site_id = $1`,
		`INSERT INTO domain_grants (site_id, contact, email, domain, permissions) SELECT $1, 'viewer', 'viewer@alpha.example', 'd' || i, '{read}' FROM generate_series(0, 4) i`,
		`VACUUM (ANALYZE) checks`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{a.ID}
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			b.Fatalf("seeding domains: %v", err)
		}
	}
	_ = conn.Close(ctx)
	const pw = "Viewer-bench-pass-9"
	e.Invite(b, a.Token, "viewer@alpha.example", pw, "VIEWER")
	viewer := login(b, e, "alpha", "viewer@alpha.example", pw)
	const page = `query($f: CheckFilter) { checks(filter: $f, first: 100) { totalCount
		nodes { id kind name summary ... on Service { host { id name } } state { status ok hard output lastCheck lastStateChange acknowledged } } } }`
	for _, who := range []struct{ name, token string }{{"off-admin", a.Token}, {"on-viewer-5-of-10", viewer}} {
		for _, c := range []struct {
			name   string
			filter map[string]any
		}{{"first-page-with-total", nil}, {"problems", map[string]any{"problems": true}}, {"search", map[string]any{"search": "host-42"}}} {
			b.Run(who.name+"/"+c.name, func(b *testing.B) {
				var samples []time.Duration
				for b.Loop() {
					start := time.Now()
					r := e.Do(b, who.token, page, map[string]any{"f": c.filter})
					samples = append(samples, time.Since(start))
					if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"nodes":[{`) {
						b.Fatalf("query: %+v %.200s", r.Errors, r.Data)
					}
				}
				report(b, samples)
				b.Logf("load %s", loadAvg())
			})
		}
	}
}
