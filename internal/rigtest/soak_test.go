package rigtest

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bergamot-monitoring/bergamot/gateway"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// TestSoak is `make soak`. It first measures the rig's capacity: a fresh
// rig (one serve node, two direct workers) with SOAK_CHECKS (default
// 100,000) dummy checks offered at 10,000 checks/s, and over
// SOAK_CAPACITY_WINDOW (default 45 s, after a 20 s warm-up) the rate the
// slower of the workers (checks executed) and the result processor
// (results applied) sustains. Then, on a second fresh rig, it runs the
// same checks every SOAK_EVERY = checks / (capacity / 2) for
// SOAK_DURATION (default 1h); setting SOAK_EVERY skips the capacity run.
// The soak site's checks-in-flight limit is SOAK_IN_FLIGHT (default
// 20,000) in both rigs.
// Every minute it samples each process's RSS, goroutines and open files
// (from their /metrics), the pipeline's table sizes and dead tuples, the
// minute's lateness (p99 from the workers' histograms, where a p99 in the
// +Inf bucket is saturation, not 120 s; the exact mean from their
// _sum/_count; the oldest due job still waiting, from river_job) and the
// checks the watchdog reported TIMEOUT. At the end: the samples and a
// verdict (soakVerdict). Skipped unless BERGAMOT_SOAK=1 (scripts/soak).
func TestSoak(t *testing.T) {
	if os.Getenv("BERGAMOT_SOAK") != "1" {
		t.Skip("the soak runs for an hour: make soak")
	}
	n := envIntDefault("SOAK_CHECKS", 100000)
	dur := envDurationDefault("SOAK_DURATION", time.Hour)
	every := envDurationDefault("SOAK_EVERY", 0)
	var capacity float64
	if every == 0 {
		t.Run("capacity", func(t *testing.T) {
			capacity = measureCapacity(t, n, envDurationDefault("SOAK_CAPACITY_WINDOW", 45*time.Second))
		})
		if capacity <= 0 {
			t.Fatal("could not measure the rig's capacity")
		}
		every = time.Duration(math.Ceil(float64(n)/(capacity/2))) * time.Second
		fmt.Printf("SOAK capacity %.0f checks/s measured with %d checks (load %s): the soak runs at half, every %s\n", capacity, n, load1(), every)
	} else {
		fmt.Printf("SOAK capacity not measured: SOAK_EVERY=%s given\n", every)
	}
	c, procs := soakRig(t, n, every, "BERGAMOT_RESCUE_AFTER=3m")
	fmt.Printf("SOAK checks=%d every=%s (%.0f checks/s) duration=%s\n", n, every, float64(n)/every.Seconds(), dur)
	fmt.Println("SOAK minute  rss_mb(serve,w1,w2)  goroutines  open_fds  tables_mb  dead_tuples  late_p99_s  late_mean_s  oldest_wait_s  timeouts  load1")
	var samples []sample
	prev := map[string]*histogram{}
	start := time.Now()
	var sizes0 map[string]float64
	for i := 1; time.Since(start) < dur; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Minute)))
		s := c.sample(t, procs, prev)
		s.minute = i
		samples = append(samples, s)
		fmt.Println("SOAK " + s.String())
		if i == max(int(dur/time.Minute)/6, 1) {
			sizes0 = c.relationSizes(t)
		}
	}
	// Which relation grew, heap and each index apart: a table growing
	// a little every minute is what a one-hour soak can catch before a
	// week in production does (River's GIN index on args was one).
	sizes1 := c.relationSizes(t)
	var grew []string
	for name, mb := range sizes1 {
		if d := mb - sizes0[name]; d >= 1 {
			grew = append(grew, fmt.Sprintf("%s %.1f -> %.1f", name, sizes0[name], mb))
		}
	}
	slices.Sort(grew)
	if len(grew) == 0 {
		grew = []string{"none"}
	}
	fmt.Printf("SOAK relations that grew by 1 MB or more after the warm-up (MB): %s\n", strings.Join(grew, "; "))
	lim := soakLimits{
		maxP99:  envDurationDefault("SOAK_MAX_P99", 30*time.Second).Seconds(),
		maxDead: float64(envIntDefault("SOAK_MAX_DEAD", max(200000, 2*n))),
		checks:  n,
	}
	ok, verdict := soakVerdict(samples, lim)
	fmt.Println("SOAK verdict: " + verdict)
	if !ok {
		t.Error(verdict)
	}
}

// relationSizes are the sizes in MB of the pipeline tables' heaps and of
// each of their indexes, by name.
func (c *Cluster) relationSizes(t *testing.T) map[string]float64 {
	ctx, cancel := context.WithTimeout(c.Ctx, 30*time.Second)
	defer cancel()
	rows, err := c.Admin.Query(ctx, `SELECT relname, pg_relation_size(relid) / 1e6 FROM pg_stat_user_tables WHERE relname IN (`+soakTables+`)
		UNION ALL SELECT indexrelname, pg_relation_size(indexrelid) / 1e6 FROM pg_stat_user_indexes WHERE relname IN (`+soakTables+`)`)
	out := map[string]float64{}
	if err != nil {
		t.Logf("reading relation sizes: %v", err)
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var mb float64
		if err := rows.Scan(&name, &mb); err != nil {
			t.Logf("reading relation sizes: %v", err)
			return out
		}
		out[name] = mb
	}
	return out
}

// soakTables are the pipeline's tables the soak samples.
const soakTables = `'river_job', 'result_inbox', 'check_state', 'check_schedule', 'state_history', 'metrics_default', 'workers'`

// soakRig starts a fresh rig with n dummy checks every every in a shared
// zone, one serve node and two direct workers (env added to theirs).
func soakRig(t *testing.T, n int, every time.Duration, env ...string) (*Cluster, []*Proc) {
	c := New(t, Options{NoLedger: true, Settings: []string{"fsync=off", "synchronous_commit=off", "max_connections=300"}})
	if _, err := (&gateway.Store{Pool: c.Pool}).CreateSharedZone(c.Ctx, "core"); err != nil {
		t.Fatal(err)
	}
	var xml strings.Builder
	fmt.Fprintf(&xml, `<bergamot site="soak"><command name="d" engine="dummy"><parameter name="output">soak</parameter></command>
<service name="t" template="yes"><check-command command="d"/><schedule every="%s"/></service>`, every)
	for h := 0; h*1000 < n; h++ {
		fmt.Fprintf(&xml, `<host name="h%03d" address="127.0.0.1" worker-pool="core">`, h)
		for s := 0; s < 1000 && h*1000+s < n; s++ {
			fmt.Fprintf(&xml, `<service name="s%04d" extends="t"/>`, s)
		}
		xml.WriteString(`</host>`)
	}
	xml.WriteString(`</bergamot>`)
	applied := time.Now()
	site := c.Site("soak", xml.String())
	t.Logf("applied %d checks every %s in %s", n, every, time.Since(applied).Round(time.Second))
	// One site holds every check: its checks-in-flight limit (default
	// 2,000) would cap the pipeline at 2,000 per round trip, measuring the
	// limit rather than the machine. An operator with 100,000 checks in
	// one site raises it the same way (bergamot site limits).
	inFlight := int64(envIntDefault("SOAK_IN_FLIGHT", 20000))
	if err := tenants.NewSiteLimits(c.Admin, nil).Set(c.Ctx, site, tenants.LimitChecksInFlight, inFlight); err != nil {
		t.Fatal(err)
	}
	return c, []*Proc{c.Serve("serve-1"), c.Worker("worker-1", "core", env...), c.Worker("worker-2", "core", env...)}
}

// measureCapacity offers n checks at 10,000 checks/s (every n/10,000 s,
// at least 1 s) on a fresh rig and returns the checks per second both the
// workers and the result processor sustained over window, after a 20 s
// warm-up. The rig is gone when t ends.
func measureCapacity(t *testing.T, n int, window time.Duration) float64 {
	every := max(time.Duration(math.Ceil(float64(n)/10000))*time.Second, time.Second)
	_, procs := soakRig(t, n, every)
	time.Sleep(20 * time.Second)
	exec0, done0 := pipelineCounts(t, procs)
	start := time.Now()
	time.Sleep(window)
	exec1, done1 := pipelineCounts(t, procs)
	secs := time.Since(start).Seconds()
	fmt.Printf("SOAK capacity run: %d checks offered every %s (%.0f/s) for %s: workers executed %.0f/s, the processor applied %.0f/s (load %s)\n",
		n, every, float64(n)/every.Seconds(), window, (exec1-exec0)/secs, (done1-done0)/secs, load1())
	return math.Min(exec1-exec0, done1-done0) / secs
}

// pipelineCounts sums the workers' bergamot_checks_executed_total and the
// serve nodes' bergamot_results_processed_total.
func pipelineCounts(t *testing.T, procs []*Proc) (executed, processed float64) {
	for _, p := range procs {
		fams := scrape(t, p.MetricsAddr())
		switch p.Role {
		case "worker":
			executed += sumCounter(fams["bergamot_checks_executed_total"])
		case "serve":
			processed += sumCounter(fams["bergamot_results_processed_total"])
		}
	}
	return executed, processed
}

func sumCounter(f *dto.MetricFamily) float64 {
	var sum float64
	for _, m := range f.GetMetric() {
		sum += m.GetCounter().GetValue()
	}
	return sum
}

type sample struct {
	minute     int
	rss        []float64 // MB per process
	goroutines float64
	fds        float64
	tablesMB   float64
	dead       float64
	p99        float64 // +Inf: beyond the histogram's top bucket (saturated)
	mean       float64 // exact, from the histograms' _sum and _count
	oldest     float64 // seconds the oldest due check job has been waiting
	timeouts   float64 // checks whose state is the watchdog's TIMEOUT
	load       string
}

func (s sample) String() string {
	var rss []string
	for _, r := range s.rss {
		rss = append(rss, fmt.Sprintf("%.0f", r))
	}
	p99 := fmt.Sprintf("%10.3f", s.p99)
	if math.IsInf(s.p99, 1) {
		p99 = fmt.Sprintf("%10s", fmt.Sprintf(">%.0f", topBucket))
	}
	return fmt.Sprintf("%6d  %-20s  %10.0f  %8.0f  %9.1f  %11.0f  %s  %11.3f  %13.1f  %8.0f  %s",
		s.minute, strings.Join(rss, ","), s.goroutines, s.fds, s.tablesMB, s.dead, p99, s.mean, s.oldest, s.timeouts, s.load)
}

// topBucket is bergamot_schedule_lateness_seconds's largest finite bucket
// (read from the scrapes; 120 s today).
var topBucket = 120.0

type histogram struct {
	bounds, counts []float64
	sum, count     float64
}

func (c *Cluster) sample(t *testing.T, procs []*Proc, prev map[string]*histogram) sample {
	var s sample
	late := &histogram{}
	for _, p := range procs {
		fams := scrape(t, p.MetricsAddr())
		s.rss = append(s.rss, fams["process_resident_memory_bytes"].GetMetric()[0].GetGauge().GetValue()/1e6)
		s.goroutines += fams["go_goroutines"].GetMetric()[0].GetGauge().GetValue()
		s.fds += fams["process_open_fds"].GetMetric()[0].GetGauge().GetValue()
		if f := fams["bergamot_schedule_lateness_seconds"]; f != nil && p.Role == "worker" {
			h := f.GetMetric()[0].GetHistogram()
			cur := &histogram{sum: h.GetSampleSum(), count: float64(h.GetSampleCount())}
			for _, b := range h.GetBucket() {
				cur.bounds = append(cur.bounds, b.GetUpperBound())
				cur.counts = append(cur.counts, float64(b.GetCumulativeCount()))
			}
			if n := len(cur.bounds); n > 0 && !math.IsInf(cur.bounds[n-1], 1) {
				topBucket = cur.bounds[n-1]
			}
			late.add(cur.minus(prev[p.Name]))
			prev[p.Name] = cur
		}
	}
	s.p99 = late.quantile(0.99)
	if late.count > 0 {
		s.mean = late.sum / late.count
	}
	ctx, cancel := context.WithTimeout(c.Ctx, 30*time.Second)
	defer cancel()
	if err := c.Admin.QueryRow(ctx, `SELECT COALESCE(sum(pg_total_relation_size(relid)), 0) / 1e6, COALESCE(sum(n_dead_tup), 0)
		FROM pg_stat_user_tables WHERE relname IN (`+soakTables+`)`).
		Scan(&s.tablesMB, &s.dead); err != nil {
		t.Logf("reading table sizes: %v", err)
	}
	if err := c.Admin.QueryRow(ctx, `SELECT COALESCE(EXTRACT(epoch FROM now() - min(scheduled_at)), 0)::float8
		FROM river_job WHERE kind = 'check' AND state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= now()`).Scan(&s.oldest); err != nil {
		t.Logf("reading the queue: %v", err)
	}
	if err := c.Admin.QueryRow(ctx, `SELECT count(*) FROM check_state WHERE status = 'TIMEOUT'`).Scan(&s.timeouts); err != nil {
		t.Logf("reading the check states: %v", err)
	}
	s.load = load1()
	return s
}

// minus is h's counts since old (all of h when old is nil or differs).
func (h *histogram) minus(old *histogram) *histogram {
	if old == nil || len(old.counts) != len(h.counts) {
		return h
	}
	d := &histogram{bounds: h.bounds, sum: h.sum - old.sum, count: h.count - old.count}
	for i := range h.counts {
		d.counts = append(d.counts, h.counts[i]-old.counts[i])
	}
	return d
}

func (h *histogram) add(o *histogram) {
	if h.bounds == nil {
		h.bounds, h.counts = o.bounds, make([]float64, len(o.counts))
	}
	if len(o.counts) != len(h.counts) {
		return
	}
	for i := range o.counts {
		h.counts[i] += o.counts[i]
	}
	h.sum += o.sum
	h.count += o.count
}

// quantile estimates q from cumulative bucket counts: the upper bound of
// the bucket it falls in, +Inf when that is the +Inf bucket (lateness
// beyond the largest finite bound: saturation, not a measurement).
func (h *histogram) quantile(q float64) float64 {
	if len(h.counts) == 0 || h.counts[len(h.counts)-1] == 0 {
		return 0
	}
	total := h.counts[len(h.counts)-1]
	i := sort.SearchFloat64s(h.counts, q*total)
	if i >= len(h.bounds) {
		return math.Inf(1)
	}
	return h.bounds[i]
}

// soakLimits bound what a soak may show after its warm-up.
type soakLimits struct {
	maxP99  float64 // seconds: every warm minute's lateness p99 must be below
	maxDead float64 // dead tuples of the pipeline's tables, at any warm minute
	checks  int
}

// soakVerdict judges the samples after a warm-up of the first sixth (at
// least one sample; at least 3 samples must remain). It fails when a warm minute's lateness
// p99 is saturated (beyond the top bucket) or above lim.maxP99, when dead
// tuples exceed lim.maxDead at any warm minute (autovacuum not keeping
// up), and when RSS, goroutines, open files, table sizes, dead tuples,
// lateness (p99, mean, oldest waiting job) or watchdog timeouts grew from
// the first third of the warm samples to the last beyond noise.
func soakVerdict(ss []sample, lim soakLimits) (bool, string) {
	skip := max(len(ss)/6, 1)
	if len(ss)-skip < 3 {
		return false, "too short: fewer than 3 samples after the warm-up"
	}
	warm := ss[skip:]
	if len(warm) < 3 {
		return false, "too short: fewer than 3 samples after the warm-up"
	}
	k := max(len(warm)/3, 1)
	first, last := warm[:k], warm[len(warm)-k:]
	avg := func(xs []sample, f func(sample) float64) float64 {
		var sum float64
		for _, x := range xs {
			sum += f(x)
		}
		return sum / float64(len(xs))
	}
	var problems []string
	var saturated, slow, dead []string
	var maxP99, maxDead float64
	for _, s := range warm {
		maxP99, maxDead = math.Max(maxP99, s.p99), math.Max(maxDead, s.dead)
		switch {
		case math.IsInf(s.p99, 1):
			saturated = append(saturated, strconv.Itoa(s.minute))
		case s.p99 > lim.maxP99:
			slow = append(slow, strconv.Itoa(s.minute))
		}
		if s.dead > lim.maxDead {
			dead = append(dead, strconv.Itoa(s.minute))
		}
	}
	if saturated != nil {
		problems = append(problems, fmt.Sprintf("lateness p99 beyond the histogram's top bucket (%.0f s: saturated) in minute(s) %s", topBucket, strings.Join(saturated, ",")))
	}
	if slow != nil {
		problems = append(problems, fmt.Sprintf("lateness p99 above %.0f s in minute(s) %s", lim.maxP99, strings.Join(slow, ",")))
	}
	if dead != nil {
		problems = append(problems, fmt.Sprintf("dead tuples above %.0f (autovacuum not keeping up) in minute(s) %s", lim.maxDead, strings.Join(dead, ",")))
	}
	check := func(name string, f func(sample) float64, rel, abs float64) {
		a, b := avg(first, f), avg(last, f)
		if b > a*(1+rel)+abs {
			problems = append(problems, fmt.Sprintf("%s grew from %.1f to %.1f", name, a, b))
		}
	}
	for i := range warm[0].rss {
		check(fmt.Sprintf("RSS of process %d (MB)", i+1), func(s sample) float64 { return s.rss[i] }, 0.15, 20)
	}
	check("goroutines", func(s sample) float64 { return s.goroutines }, 0.15, 50)
	check("open files", func(s sample) float64 { return s.fds }, 0.10, 20)
	check("table size (MB)", func(s sample) float64 { return s.tablesMB }, 0.25, 20)
	check("dead tuples", func(s sample) float64 { return s.dead }, 1.0, 50000)
	if saturated == nil {
		check("lateness p99 (s)", func(s sample) float64 { return s.p99 }, 1.0, 1)
	}
	check("lateness mean (s)", func(s sample) float64 { return s.mean }, 1.0, 0.5)
	check("oldest waiting check job (s)", func(s sample) float64 { return s.oldest }, 1.0, 5)
	check("checks in the watchdog's TIMEOUT", func(s sample) float64 { return s.timeouts }, 1.0, float64(lim.checks)/1000)
	if len(problems) > 0 {
		return false, "FAIL: " + strings.Join(problems, "; ")
	}
	return true, fmt.Sprintf("flat: after a %d-minute warm-up, %d minutes with lateness p99 at most %.2f s (bound %.0f s), dead tuples at most %.0f (bound %.0f), and no growth beyond noise in RSS, goroutines, open files, table sizes, dead tuples, lateness or timeouts",
		warm[0].minute-1, len(warm), maxP99, lim.maxP99, maxDead, lim.maxDead)
}

func load1() string {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		return strings.Fields(string(b))[0]
	}
	return "?"
}

func envIntDefault(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}

func envDurationDefault(k string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(k)); err == nil && d > 0 {
		return d
	}
	return def
}
