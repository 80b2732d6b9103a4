package store_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// BenchmarkRetention: BENCH_RETENTION_SERIES series (default 30) with a
// point a minute for 30 days, generated straight into the tables. It
// measures rolling up every bucket, a 30-day chart of one series (which
// reads hourly rollups: its cost depends on the series' own rows, not on
// how many series there are), and expiring one day (one partition drop,
// whose cost does not depend on the rows it held). Run by make bench.
func BenchmarkRetention(b *testing.B) {
	series := 30
	if v, err := strconv.Atoi(os.Getenv("BENCH_RETENTION_SERIES")); err == nil && v > 0 {
		series = v
	}
	s := newSite(b)
	ctx := context.Background()
	now := time.Now().UTC()
	start := now.Add(-30 * 24 * time.Hour).Truncate(24 * time.Hour)
	if _, err := s.db.Pool.Exec(ctx, `SELECT bergamot_ensure_partitions('metrics', $1, $2), bergamot_ensure_partitions('metrics_5m', $1, $2),
		bergamot_ensure_partitions('metrics_1h', $1, $2)`, start, now.Add(72*time.Hour)); err != nil {
		b.Fatal(err)
	}
	ids := make([]uuid.UUID, series)
	for i := range ids {
		ids[i] = uuid.New()
	}
	in := func(fn func(ctx context.Context, tx pgx.Tx) error) {
		b.Helper()
		if err := tenants.InSite(s.ctx(), s.db.Pool, fn); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	for day := start; day.Before(now); day = day.Add(24 * time.Hour) {
		in(func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO metrics (site_id, check_id, label, at, value)
				SELECT $1, c, 'load', g, random() FROM unnest($2::uuid[]) c,
					generate_series($3::timestamptz, LEAST($4::timestamptz, $3::timestamptz + interval '1 day') - interval '1 minute', interval '1 minute') g`,
				s.id, ids, day, now)
			return err
		})
	}
	var raw int64
	in(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM metrics`).Scan(&raw)
	})
	load := func() string {
		l, _ := os.ReadFile("/proc/loadavg")
		return strings.Join(strings.Fields(string(l))[:3], " ")
	}
	fmt.Printf("retention: %d series, %d raw points over 30 days generated in %v (load %s)\n", series, raw, time.Since(t0).Round(time.Second), load())

	// Roll every bucket up, a day at a time, as the sweep would.
	t0 = time.Now()
	for day := start; day.Before(now); day = day.Add(24 * time.Hour) {
		in(func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO rollup_progress (site_id, resolution, done_until) VALUES ($1, '5m', $2), ($1, '1h', $2)
				ON CONFLICT (site_id, resolution) DO UPDATE SET done_until = excluded.done_until`, s.id, day); err != nil {
				return err
			}
			for _, res := range []store.Resolution{store.Resolution5m, store.Resolution1h} {
				for {
					_, done, err := store.Rollup(ctx, tx, s.id, res, minTime(day.Add(24*time.Hour+2*time.Minute), now))
					if err != nil {
						return err
					}
					if done {
						break
					}
				}
			}
			return nil
		})
	}
	rollup := time.Since(t0)
	fmt.Printf("retention: rolled %d raw points into 5-minute and hourly buckets in %v: %.0f points/s (load %s)\n",
		raw, rollup.Round(time.Millisecond), float64(raw)/rollup.Seconds(), load())

	// A 30-day chart of one series.
	var took []time.Duration
	var res store.Resolution
	b.ResetTimer()
	for i := 0; i < max(b.N, 20); i++ {
		in(func(ctx context.Context, tx pgx.Tx) error {
			t := time.Now()
			out, r, err := store.MetricsAt(ctx, tx, ids[i%series].String(), "", now.Add(-30*24*time.Hour), now, 200)
			took = append(took, time.Since(t))
			res = r
			if err == nil && (len(out) != 1 || len(out[0].Points) < 150) {
				err = fmt.Errorf("30-day chart: %d series", len(out))
			}
			return err
		})
	}
	b.StopTimer()
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	fmt.Printf("retention: 30-day chart of one series (200 points) read %s: p50 %v, max %v over %d queries (target < 100ms; load %s)\n",
		res, took[len(took)/2].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond), len(took), load())
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "chart-p50-ms")

	// Expire one day: keep 29 days of raw points.
	size := func() (n int64) {
		if err := s.db.Pool.QueryRow(ctx, `SELECT COALESCE(sum(pg_total_relation_size(i.inhrelid)), 0)::bigint FROM pg_inherits i WHERE i.inhparent = 'metrics'::regclass`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	before := size()
	maxR := store.DefaultRetention
	maxR.Raw = 29
	t0 = time.Now()
	rep, err := store.MaintainPartitions(ctx, s.db.Pool, now, maxR)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("retention: expiring a day of %d series dropped %v in %v; raw metrics %d MB -> %d MB (load %s)\n",
		series, rep.Dropped, time.Since(t0).Round(time.Millisecond), before>>20, size()>>20, load())
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
