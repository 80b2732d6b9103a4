package store_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// BenchmarkRetentionScale is issue 25's scale acceptance, sized to what a
// disk can hold (docs/data-retention.md, "Scale"): BENCH_RETENTION_SCALE
// checks with one result a minute, generated straight into the tables of
// the test binary's private PostgreSQL (dropped when it ends).
//
//	quick (make bench's default): 1,000 checks; full: 100,000 checks; or
//	a number of checks.
//
// What it generates, per check: 30 days of hourly rollups (the 30-day
// chart's source: 72 million rows at full scale), the raw points of the
// hour not rolled up yet, one expired raw day holding 144 minutes of
// every check (14.4 million rows at full scale) and, the day before it,
// one expired raw day holding 1,000 points. Thirty days of 5-minute
// rollups (864 million rows) and of raw points (4.3 billion) do not fit:
// their size at steady state is extrapolated from the measured bytes per
// row. It measures expiring each of the two days (one partition drop
// each, through store.MaintainPartitions as the sweep calls it), the
// tables' sizes before and after, and the 30-day chart of random checks
// through store.MetricsAt in a site transaction, as the dashboard reads
// it, with its plan. Skipped unless BENCH_RETENTION_SCALE is set.
func BenchmarkRetentionScale(b *testing.B) {
	scale := os.Getenv("BENCH_RETENTION_SCALE")
	n, charts := 0, 0
	switch scale {
	case "":
		b.Skip("BENCH_RETENTION_SCALE unset (quick, full or a number of checks; make bench sets it)")
	case "quick":
		n, charts = 1000, 300
	case "full":
		n, charts = 100_000, 2000
	default:
		v, err := strconv.Atoi(scale)
		if err != nil || v < 10 || v > 1_000_000 {
			b.Fatalf("BENCH_RETENTION_SCALE %q: want quick, full or a number of checks from 10 to 1000000", scale)
		}
		n, charts = v, 1000
	}
	s := newSite(b)
	ctx := context.Background()
	say := func(format string, args ...any) {
		fmt.Printf("retention-scale: "+format+" (load %s)\n", append(args, loadavg())...)
	}
	in := func(fn func(ctx context.Context, tx pgx.Tx) error) {
		b.Helper()
		if err := tenants.InSite(s.ctx(), s.db.Pool, fn); err != nil {
			b.Fatal(err)
		}
	}
	owner := s.db.OwnerConn(b)

	now := time.Now().UTC()
	hour := now.Truncate(time.Hour)
	today := now.Truncate(24 * time.Hour)
	start := hour.Add(-30 * 24 * time.Hour)
	bigDay, smallDay := today.Add(-16*24*time.Hour), today.Add(-17*24*time.Hour)

	// Checks in index order, so that each insert (a chunk of the checks,
	// or one step of all of them) meets the indexes in their order.
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	t0 := time.Now()
	for i := 0; i < n; i += 10_000 {
		chunk := ids[i:min(i+10_000, n)]
		in(func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO checks (id, site_id, kind, name) SELECT c, $1, 'host', 'h' || c FROM unnest($2::uuid[]) c`, s.id, chunk); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO check_state (check_id, site_id, status, ok) SELECT c, $1, 'OK', true FROM unnest($2::uuid[]) c`, s.id, chunk)
			return err
		})
	}
	if _, err := s.db.Pool.Exec(ctx, `SELECT bergamot_ensure_partitions('metrics', $1, $2), bergamot_ensure_partitions('metrics_1h', $3, $4)`,
		smallDay, bigDay.Add(24*time.Hour), start, now.Add(62*24*time.Hour)); err != nil {
		b.Fatal(err)
	}
	var rows1h, rowsTail, rowsBig int64
	// genSteps runs sql once per step from first to last (inclusive), $3
	// the step's time, for every check at once.
	genSteps := func(what string, total *int64, first, last time.Time, step time.Duration, sql string) {
		t := time.Now()
		for at, i := first, 0; !at.After(last); at, i = at.Add(step), i+1 {
			in(func(ctx context.Context, tx pgx.Tx) error {
				tag, err := tx.Exec(ctx, sql, s.id, ids, at)
				*total += tag.RowsAffected()
				return err
			})
			if i > 0 && i%100 == 0 {
				say("  %s: %d steps to %s, %d rows in %v", what, i, at.Format(time.RFC3339), *total, time.Since(t).Round(time.Second))
			}
		}
		say("%s: %d rows in %v: %.0f rows/s", what, *total, time.Since(t).Round(time.Second), float64(*total)/time.Since(t).Seconds())
	}
	// The rollup job writes one bucket of every check at a time, and the
	// processor one minute of every check at a time, so one series' rows
	// are spread over the heap, a page per row: generate them in that
	// order too (hour by hour, minute by minute), or the charts read a
	// series packed into a few pages that no running system has. The
	// hourly table's primary key is dropped meanwhile and rebuilt after
	// from its own definition: inserting hour by hour into it would touch
	// every leaf page per hour.
	var pkey string
	if err := owner.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'metrics_1h'::regclass AND contype = 'p'`).Scan(&pkey); err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `ALTER TABLE metrics_1h DROP CONSTRAINT metrics_1h_pkey`); err != nil {
		b.Fatal(err)
	}
	genSteps("hourly rollups, 30 days", &rows1h, start, hour.Add(-time.Hour), time.Hour, `INSERT INTO metrics_1h (site_id, check_id, label, at, min, max, sum, count, last, last_at)
		SELECT $1, c, 'load', $3, r, r + 1, 60 * (r + 0.5), 60, r + 0.5, $3::timestamptz + interval '59 minutes'
		FROM unnest($2::uuid[]) c, LATERAL (SELECT random() AS r) x`)
	t1 := time.Now()
	if _, err := owner.Exec(ctx, `SET maintenance_work_mem = '1GB'`); err != nil {
		b.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `ALTER TABLE metrics_1h ADD CONSTRAINT metrics_1h_pkey `+pkey); err != nil {
		b.Fatal(err)
	}
	say("hourly rollups' primary key (%s) built in %v", pkey, time.Since(t1).Round(time.Second))
	genSteps("raw points not rolled up yet (this hour)", &rowsTail, hour, now, time.Minute, `INSERT INTO metrics (site_id, check_id, label, at, value)
		SELECT $1, c, 'load', $3, random() FROM unnest($2::uuid[]) c`)
	genSteps("expired raw day (144 minutes of every check)", &rowsBig, bigDay, bigDay.Add(143*time.Minute), time.Minute, `INSERT INTO metrics (site_id, check_id, label, at, value)
		SELECT $1, c, 'load', $3, random() FROM unnest($2::uuid[]) c`)
	in(func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO metrics (site_id, check_id, label, at, value)
			SELECT $1, c, 'load', g, random() FROM unnest($2::uuid[]) c, generate_series($3::timestamptz, $3::timestamptz + interval '99 minutes', interval '1 minute') g`,
			s.id, ids[:10], smallDay); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO rollup_progress (site_id, resolution, done_until) VALUES ($1, '5m', $2), ($1, '1h', $2)
			ON CONFLICT (site_id, resolution) DO UPDATE SET done_until = excluded.done_until`, s.id, hour)
		return err
	})
	// Autovacuum marks the insert-only past pages all-visible (what lets
	// a chart's index-only scan skip the heap); do it now.
	t2 := time.Now()
	if _, err := owner.Exec(ctx, `VACUUM (ANALYZE) metrics_1h`); err != nil {
		b.Fatal(err)
	}
	say("hourly rollups vacuumed in %v", time.Since(t2).Round(time.Second))
	if _, err := owner.Exec(ctx, `ANALYZE metrics`); err != nil {
		b.Fatal(err)
	}
	say("generated %d checks' data in %v", n, time.Since(t0).Round(time.Second))

	size := func(table string) int64 {
		var v int64
		if err := owner.QueryRow(ctx, `SELECT COALESCE(sum(pg_total_relation_size(i.inhrelid)), 0)::bigint FROM pg_inherits i WHERE i.inhparent = $1::regclass`, table).Scan(&v); err != nil {
			b.Fatal(err)
		}
		return v
	}
	part := func(table string, at time.Time) string {
		return fmt.Sprintf("%s_p%s", table, at.Format("20060102"))
	}
	var bigBytes, dbBytes int64
	if err := owner.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass), pg_database_size(current_database())`, part("metrics", bigDay)).Scan(&bigBytes, &dbBytes); err != nil {
		b.Fatal(err)
	}
	raw0, h0 := size("metrics"), size("metrics_1h")
	say("sizes before the sweep: metrics %s, metrics_1h %s (%.0f bytes/row with its index), database %s",
		mb(raw0), mb(h0), float64(h0)/float64(rows1h), mb(dbBytes))

	// Expire the small day, then the big one: one partition drop each.
	maxR := store.DefaultRetention
	sweep := func(rawDays int) (time.Duration, []string) {
		maxR.Raw = rawDays
		t := time.Now()
		rep, err := store.MaintainPartitions(ctx, s.db.Pool, now, maxR)
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(t), rep.Dropped
	}
	sweep(17) // creates what is missing ahead; drops nothing
	idle, none := sweep(17)
	small, droppedSmall := sweep(16)
	big, droppedBig := sweep(15)
	if len(none) != 0 || !slices.Equal(droppedSmall, []string{part("metrics", smallDay)}) || !slices.Equal(droppedBig, []string{part("metrics", bigDay)}) {
		b.Fatalf("sweeps dropped %v, then %v, then %v; want nothing, %s, %s", none, droppedSmall, droppedBig, part("metrics", smallDay), part("metrics", bigDay))
	}
	say("sweep with nothing to expire: %v", idle.Round(time.Microsecond))
	say("expiring a day of 1,000 points: dropped %v in %v", droppedSmall, small.Round(time.Microsecond))
	say("expiring a day of %d points (%s): dropped %v in %v", rowsBig, mb(bigBytes), droppedBig, big.Round(time.Microsecond))
	raw1, h1 := size("metrics"), size("metrics_1h")
	say("sizes after the sweep: metrics %s -> %s, metrics_1h %s -> %s", mb(raw0), mb(raw1), mb(h0), mb(h1))

	// Steady state at this scale and at 100,000 checks, from the bytes
	// per row measured here (5-minute rows have the hourly rows' shape).
	rawRow, rollRow := float64(bigBytes)/float64(rowsBig), float64(h0)/float64(rows1h)
	for _, c := range slices.Compact([]int{n, 100_000}) {
		perDay := float64(c) * 1440
		d := store.DefaultRetention
		say("steady state at %d checks, default retention: raw %d days %s, 5-minute %d days %s, hourly %d days %s",
			c, d.Raw, gb(perDay*float64(d.Raw)*rawRow), d.Rollup5m, gb(perDay/5*float64(d.Rollup5m)*rollRow), d.Rollup1h, gb(perDay/60*float64(d.Rollup1h)*rollRow))
	}

	// The 30-day chart of random checks, as the dashboard asks for it.
	var plan string
	in(func(ctx context.Context, tx pgx.Tx) error {
		res, p, err := store.ExplainChart(ctx, tx, ids[0].String(), "", now.Add(-30*24*time.Hour), now, 200)
		if err == nil && res != store.Resolution1h {
			err = fmt.Errorf("a 30-day chart reads %s, want hourly rollups", res)
		}
		plan = p
		return err
	})
	fmt.Println("retention-scale: plan of a 30-day chart (EXPLAIN ANALYZE, the relations it reads):")
	for _, l := range strings.Split(plan, "\n") {
		if strings.Contains(l, "Scan using") || strings.Contains(l, "Heap Fetches") || strings.Contains(l, "Execution Time") {
			fmt.Println("retention-scale:   " + l)
		}
	}
	if !strings.Contains(plan, "metrics_1h_p") || strings.Contains(plan, part("metrics_5m", today)) {
		b.Fatalf("a 30-day chart does not read the hourly rollups:\n%s", plan)
	}
	// The rollups' primary key covers the chart (migration 000063): the
	// series' rows come from a few index pages, not a heap page each.
	if !strings.Contains(plan, "Index Only Scan using metrics_1h_p") {
		b.Fatalf("a 30-day chart does not read the hourly rollups index-only:\n%s", plan)
	}
	// Each chart of its own random check, twice: first read since the
	// data was written, then again, cached. With BENCH_DROP_CACHES=1 (and
	// root) the machine's page cache is dropped first, so that the first
	// read finds nothing of it cached but what PostgreSQL's 128 MB of
	// buffers hold: the worst case.
	sample := make([]uuid.UUID, max(charts, b.N))
	for i := range sample {
		sample[i] = ids[rand.N(n)] //nolint:gosec // a sample, not a secret
	}
	cold := "the machine's page cache kept (BENCH_DROP_CACHES unset)"
	if os.Getenv("BENCH_DROP_CACHES") == "1" {
		cold = "the machine's page cache could not be dropped (not root?)"
		if err := exec.Command("sync").Run(); err == nil && os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0) == nil {
			cold = "the machine's page cache dropped first"
		}
	}
	chartsOf := func(pass string) (p50, p99 time.Duration) {
		took := make([]time.Duration, 0, len(sample))
		for _, id := range sample {
			t := time.Now()
			var got []*store.MetricSeries
			in(func(ctx context.Context, tx pgx.Tx) error {
				var err error
				got, _, err = store.MetricsAt(ctx, tx, id.String(), "", now.Add(-30*24*time.Hour), now, 200)
				return err
			})
			took = append(took, time.Since(t))
			if len(got) != 1 || len(got[0].Points) < 195 {
				b.Fatalf("30-day chart of %s: %d series, want 1 with about 200 points", id, len(got))
			}
		}
		slices.Sort(took)
		q := func(p float64) time.Duration {
			return took[min(len(took)-1, int(p*float64(len(took))))].Round(10 * time.Microsecond)
		}
		say("30-day chart (200 points, hourly rollups + this hour's raw points) of %d random checks of %d, %s, site transaction included: p50 %v, p99 %v, max %v (target < 100ms)",
			len(took), n, pass, q(0.5), q(0.99), took[len(took)-1].Round(10*time.Microsecond))
		return q(0.5), q(0.99)
	}
	b.ResetTimer()
	coldP50, coldP99 := chartsOf("first read (" + cold + ")")
	warmP50, warmP99 := chartsOf("read again (cached)")
	b.StopTimer()
	b.ReportMetric(float64(coldP50.Microseconds())/1000, "chart-cold-p50-ms")
	b.ReportMetric(float64(coldP99.Microseconds())/1000, "chart-cold-p99-ms")
	b.ReportMetric(float64(warmP50.Microseconds())/1000, "chart-warm-p50-ms")
	b.ReportMetric(float64(warmP99.Microseconds())/1000, "chart-warm-p99-ms")
	b.ReportMetric(float64(big.Microseconds())/1000, "drop-big-day-ms")
}

func mb(n int64) string { return fmt.Sprintf("%d MB", n>>20) }

func gb(n float64) string { return fmt.Sprintf("%.1f GB", n/(1<<30)) }

func loadavg() string {
	l, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(l))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
