package rigtest

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bergamot-monitoring/bergamot/gateway"
)

// TestSoak is `make soak`: SOAK_CHECKS (default 100,000) dummy checks
// every SOAK_EVERY (default 48s: about 2,100 checks/s, half the
// throughput docs/pipeline.md measured) for SOAK_DURATION (default 1h) on
// one serve node and two direct workers. Every minute it samples each
// process's RSS, goroutines and open files (from their /metrics), the
// pipeline's table sizes and dead tuples, and the lateness p99 of that
// minute (from the workers' bergamot_schedule_lateness_seconds); at the
// end it prints the samples and a verdict: after the warm-up (the first
// sixth), nothing may grow beyond noise and the lateness p99 must stay flat.
// Skipped unless BERGAMOT_SOAK=1 (scripts/soak sets it).
func TestSoak(t *testing.T) {
	if os.Getenv("BERGAMOT_SOAK") != "1" {
		t.Skip("the soak runs for an hour: make soak")
	}
	n := envIntDefault("SOAK_CHECKS", 100000)
	every := envDurationDefault("SOAK_EVERY", 48*time.Second)
	dur := envDurationDefault("SOAK_DURATION", time.Hour)
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
	c.Site("soak", xml.String())
	t.Logf("applied %d checks in %s", n, time.Since(applied).Round(time.Second))
	procs := []*Proc{c.Serve("serve-1"), c.Worker("worker-1", "core", "BERGAMOT_RESCUE_AFTER=3m"), c.Worker("worker-2", "core", "BERGAMOT_RESCUE_AFTER=3m")}
	fmt.Printf("SOAK checks=%d every=%s (%.0f checks/s) duration=%s\n", n, every, float64(n)/every.Seconds(), dur)
	fmt.Println("SOAK minute  rss_mb(serve,w1,w2)  goroutines  open_fds  tables_mb  dead_tuples  lateness_p99_s  load1")
	var samples []sample
	prev := map[string]*histogram{}
	start := time.Now()
	for i := 1; time.Since(start) < dur; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Minute)))
		s := c.sample(t, procs, prev)
		s.minute = i
		samples = append(samples, s)
		fmt.Println("SOAK " + s.String())
	}
	verdict := soakVerdict(samples)
	fmt.Println("SOAK verdict: " + verdict)
	if !strings.HasPrefix(verdict, "flat") {
		t.Error(verdict)
	}
}

type sample struct {
	minute     int
	rss        []float64 // MB per process
	goroutines float64
	fds        float64
	tablesMB   float64
	dead       float64
	p99        float64
	load       string
}

func (s sample) String() string {
	var rss []string
	for _, r := range s.rss {
		rss = append(rss, fmt.Sprintf("%.0f", r))
	}
	return fmt.Sprintf("%6d  %-20s  %10.0f  %8.0f  %9.1f  %11.0f  %14.3f  %s", s.minute, strings.Join(rss, ","), s.goroutines, s.fds, s.tablesMB, s.dead, s.p99, s.load)
}

type histogram struct{ bounds, counts []float64 }

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
			cur := &histogram{}
			for _, b := range h.GetBucket() {
				cur.bounds = append(cur.bounds, b.GetUpperBound())
				cur.counts = append(cur.counts, float64(b.GetCumulativeCount()))
			}
			delta := cur
			if old := prev[p.Name]; old != nil && len(old.counts) == len(cur.counts) {
				delta = &histogram{bounds: cur.bounds}
				for i := range cur.counts {
					delta.counts = append(delta.counts, cur.counts[i]-old.counts[i])
				}
			}
			prev[p.Name] = cur
			if late.bounds == nil {
				late.bounds, late.counts = delta.bounds, make([]float64, len(delta.counts))
			}
			for i := range delta.counts {
				late.counts[i] += delta.counts[i]
			}
		}
	}
	s.p99 = late.quantile(0.99)
	ctx, cancel := context.WithTimeout(c.Ctx, 30*time.Second)
	defer cancel()
	_ = c.Admin.QueryRow(ctx, `SELECT COALESCE(sum(pg_total_relation_size(relid)), 0) / 1e6, COALESCE(sum(n_dead_tup), 0)
		FROM pg_stat_user_tables WHERE relname IN ('river_job', 'result_inbox', 'check_state', 'check_schedule', 'state_history', 'metrics_default', 'workers')`).
		Scan(&s.tablesMB, &s.dead)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		s.load = strings.Fields(string(b))[0]
	}
	return s
}

// quantile estimates q from cumulative bucket counts (the upper bound of
// the bucket it falls in; +Inf as the largest finite bound).
func (h *histogram) quantile(q float64) float64 {
	if len(h.counts) == 0 || h.counts[len(h.counts)-1] == 0 {
		return 0
	}
	total := h.counts[len(h.counts)-1]
	i := sort.SearchFloat64s(h.counts, q*total)
	if i >= len(h.bounds) {
		i = len(h.bounds) - 1
	}
	if math.IsInf(h.bounds[i], 1) && i > 0 {
		return h.bounds[i-1]
	}
	return h.bounds[i]
}

// soakVerdict compares the warm samples' first and last thirds.
func soakVerdict(ss []sample) string {
	warm := ss[len(ss)/6:]
	if len(warm) < 3 {
		return "too short: fewer than 3 samples after the warm-up"
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
	check("lateness p99 (s)", func(s sample) float64 { return s.p99 }, 1.0, 1)
	if len(problems) > 0 {
		return "GROWING: " + strings.Join(problems, "; ")
	}
	return fmt.Sprintf("flat: after a %d-minute warm-up, no growth beyond noise over %d minutes (RSS, goroutines, open files, table sizes, dead tuples, lateness p99)",
		ss[len(ss)/6].minute-1, len(warm))
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
