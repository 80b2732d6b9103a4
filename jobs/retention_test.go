package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
	"github.com/bergamot-monitoring/bergamot/internal/pgtest"
	"github.com/bergamot-monitoring/bergamot/store"
	"github.com/bergamot-monitoring/bergamot/tenants"
)

// retentionRig is a database with two sites and a sweep.
type retentionRig struct {
	t      *testing.T
	db     *pgtest.DB
	a, b   uuid.UUID
	sweep  *RetentionSweep
	checkA uuid.UUID
	checkB uuid.UUID
}

func newRetentionRig(t *testing.T, now time.Time) *retentionRig {
	t.Helper()
	db := pgtest.New(t)
	ctx := context.Background()
	r := &retentionRig{t: t, db: db, checkA: uuid.New(), checkB: uuid.New()}
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		for _, p := range []*uuid.UUID{&r.a, &r.b} {
			s, err := tenants.CreateSite(ctx, tx, "s"+strings.ReplaceAll(uuid.NewString()[:8], "-", ""), "")
			if err != nil {
				return err
			}
			*p = s.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.sweep = &RetentionSweep{Pool: db.Pool, Now: func() time.Time { return now }}
	return r
}

// in runs fn in site's transaction.
func (r *retentionRig) in(site uuid.UUID, fn func(ctx context.Context, tx pgx.Tx) error) {
	r.t.Helper()
	if err := tenants.InSite(tenants.WithSite(context.Background(), site), r.db.Pool, fn); err != nil {
		r.t.Fatal(err)
	}
}

// points stores one point per minute of [from, to) for check's series
// "load", value = minutes since from.
func (r *retentionRig) points(site, check uuid.UUID, from, to time.Time, every time.Duration) {
	r.t.Helper()
	r.in(site, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO metrics (site_id, check_id, label, at, value, uom)
			SELECT $1, $2, 'load', g, extract(epoch FROM g - $3) / 60, '' FROM generate_series($3::timestamptz, $4::timestamptz - interval '1 microsecond', $5::interval) g`,
			site, check, from, to, every.String())
		return err
	})
}

func (r *retentionRig) count(site uuid.UUID, q string, args ...any) int {
	r.t.Helper()
	var n int
	r.in(site, func(ctx context.Context, tx pgx.Tx) error { return tx.QueryRow(ctx, q, args...).Scan(&n) })
	return n
}

func (r *retentionRig) run() SweepReport {
	r.t.Helper()
	rep, err := r.sweep.RunOnce(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return rep
}

// TestExpiringADayDropsItsPartition: 20 days of points for two sites;
// with the default 14 days, the sweep drops the older days' partitions
// whole and deletes no row, and the newer days stay complete.
func TestExpiringADayDropsItsPartition(t *testing.T) {
	now := time.Now().UTC()
	r := newRetentionRig(t, now)
	ctx := context.Background()
	start := now.Add(-20 * 24 * time.Hour).Truncate(24 * time.Hour)
	if _, err := r.db.Pool.Exec(ctx, `SELECT bergamot_ensure_partitions('metrics', $1, $2)`, start, now); err != nil {
		t.Fatal(err)
	}
	r.points(r.a, r.checkA, start, now, 10*time.Minute)
	r.points(r.b, r.checkB, start, now, 10*time.Minute)
	before, err := store.Partitions(ctx, r.db.Pool, "metrics")
	if err != nil {
		t.Fatal(err)
	}

	rep := r.run()
	cut := now.Add(-14 * 24 * time.Hour).Truncate(24 * time.Hour)
	wantDropped := int(cut.Sub(start) / (24 * time.Hour))
	var metricDrops int
	for _, d := range rep.Dropped {
		if strings.HasPrefix(d, "metrics_p") {
			metricDrops++
		}
	}
	if metricDrops != wantDropped {
		t.Fatalf("dropped %d metrics partitions (%v), want %d (the days before %s)", metricDrops, rep.Dropped, wantDropped, cut)
	}
	if n := rep.Expired["metrics"]; n != 0 {
		t.Errorf("the sweep deleted %d metric rows one by one; expiring whole days must only drop partitions", n)
	}
	after, err := store.Partitions(ctx, r.db.Pool, "metrics")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) == 0 || after[0].From.Before(cut) {
		t.Fatalf("oldest partition after the sweep starts %v, want none before %v (before: %d partitions)", after, cut, len(before))
	}
	for _, site := range []uuid.UUID{r.a, r.b} {
		old := r.count(site, `SELECT count(*) FROM metrics WHERE at < $1`, cut)
		kept := r.count(site, `SELECT count(*) FROM metrics WHERE at >= $1`, cut)
		want := int(now.Sub(cut)/(10*time.Minute)) + 1
		if old != 0 || kept < want-1 || kept > want {
			t.Errorf("site %s: %d points before %v (want 0), %d after (want %d)", site, old, cut, kept, want)
		}
	}
	// A second pass changes nothing: idempotent.
	if rep := r.run(); len(rep.Dropped) != 0 || rep.Created != 0 {
		t.Errorf("second pass dropped %v and created %d partitions, want nothing", rep.Dropped, rep.Created)
	}
	// Partitions ahead exist, so today's and tomorrow's points never land
	// in the default partition.
	if after[len(after)-1].To.Before(now.Add(48 * time.Hour)) {
		t.Errorf("the newest partition ends %v: want partitions at least two days ahead of %v", after[len(after)-1].To, now)
	}
}

// TestRollupsSummariseBuckets: points every minute over two hours roll up
// into 5-minute and hourly buckets with the hand-computed min, max, avg,
// last and count; a second pass writes the same rows; site B's rollups
// hold only B's series.
func TestRollupsSummariseBuckets(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	r := newRetentionRig(t, now.Add(3*time.Minute))
	start := now.Add(-2 * time.Hour)
	r.points(r.a, r.checkA, start, now, time.Minute) // values 0..119
	r.points(r.b, r.checkB, start, now, time.Minute)
	r.run()

	type bucket struct {
		min, max, avg, last float64
		count               int
	}
	read := func(site uuid.UUID, table string, at time.Time) bucket {
		var b bucket
		r.in(site, func(ctx context.Context, tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT min, max, sum / count, last, count FROM `+table+` WHERE label = 'load' AND at = $1`, at).
				Scan(&b.min, &b.max, &b.avg, &b.last, &b.count)
		})
		return b
	}
	// The third 5-minute bucket holds minutes 10..14.
	if got, want := read(r.a, "metrics_5m", start.Add(10*time.Minute)), (bucket{10, 14, 12, 14, 5}); got != want {
		t.Errorf("5-minute bucket: %+v, want %+v", got, want)
	}
	// The second hour holds minutes 60..119.
	if got, want := read(r.a, "metrics_1h", start.Add(time.Hour)), (bucket{60, 119, 89.5, 119, 60}); got != want {
		t.Errorf("hourly bucket: %+v, want %+v", got, want)
	}
	n5 := r.count(r.a, `SELECT count(*) FROM metrics_5m`)
	if n5 != 24 {
		t.Errorf("%d 5-minute buckets for two hours, want 24", n5)
	}
	r.sweep.Now = func() time.Time { return now.Add(4 * time.Minute) }
	r.run()
	if n := r.count(r.a, `SELECT count(*) FROM metrics_5m`); n != n5 {
		t.Errorf("second pass: %d buckets, want %d", n, n5)
	}
	if got := read(r.a, "metrics_1h", start.Add(time.Hour)); got.count != 60 {
		t.Errorf("second pass counted the hour's points again: %+v", got)
	}
	if n := r.count(r.b, `SELECT count(*) FROM metrics_5m WHERE check_id = $1`, r.checkA); n != 0 {
		t.Errorf("site B sees %d of site A's rollups", n)
	}
	if n := r.count(r.b, `SELECT count(*) FROM metrics_1h WHERE check_id = $1`, r.checkB); n != 2 {
		t.Errorf("site B has %d hourly buckets of its own, want 2", n)
	}
}

// TestChartsReadTheResolutionForTheirRange: a 30-day chart reads hourly
// rollups (and the raw tail not yet rolled up), a 2-hour chart raw points.
func TestChartsReadTheResolutionForTheirRange(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour)
	r := newRetentionRig(t, now.Add(3*time.Minute))
	start := now.Add(-3 * time.Hour)
	r.points(r.a, r.checkA, start, now.Add(10*time.Minute), time.Minute)
	r.run()
	// Make the raw points before now disagree with the rollups: a chart
	// that reads rollups still shows the rolled-up values.
	r.in(r.a, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE metrics SET value = -1 WHERE at < $1`, now)
		return err
	})
	var long, short []*store.MetricSeries
	var res store.Resolution
	r.in(r.a, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		long, res, err = store.MetricsAt(ctx, tx, r.checkA.String(), "", now.Add(-30*24*time.Hour), now.Add(time.Hour), 200)
		if err != nil {
			return err
		}
		short, _, err = store.MetricsAt(ctx, tx, r.checkA.String(), "", now.Add(-2*time.Hour), now, 200)
		return err
	})
	if res != store.Resolution1h {
		t.Fatalf("a 30-day chart read %s, want 1h rollups", res)
	}
	if len(long) != 1 {
		t.Fatalf("series: %+v", long)
	}
	for _, p := range long[0].Points {
		if p.At.Before(now) && p.Min < 0 {
			t.Errorf("30-day chart point at %v has min %v: it read raw points instead of rollups", p.At, p.Min)
		}
	}
	// The raw points of the last ten minutes (values 180..189) are not
	// rolled up yet: the chart's last bucket must still show them.
	if last := long[0].Points[len(long[0].Points)-1]; last.Max != 189 {
		t.Errorf("30-day chart's last bucket (%v) has max %v, want 189: the raw tail after the last rolled-up hour (%v) is missing", last.At, last.Max, now)
	}
	if len(short) != 1 || short[0].Points[0].Min != -1 {
		t.Errorf("a 2-hour chart should read raw points: %+v", short)
	}
}

// TestShorterSiteRetentionDeletesOnlyThatSite: site A keeps raw points 3
// days and history 5; site B keeps the defaults. A's older rows go, B's
// stay; A's last state change before the cut survives.
func TestShorterSiteRetentionDeletesOnlyThatSite(t *testing.T) {
	now := time.Now().UTC()
	r := newRetentionRig(t, now)
	ctx := context.Background()
	start := now.Add(-10 * 24 * time.Hour).Truncate(24 * time.Hour)
	if _, err := r.db.Pool.Exec(ctx, `SELECT bergamot_ensure_partitions('metrics', $1, $2)`, start, now); err != nil {
		t.Fatal(err)
	}
	r.points(r.a, r.checkA, start, now, time.Hour)
	r.points(r.b, r.checkB, start, now, time.Hour)
	three, five, tooMany := 3, 5, 20
	r.in(r.a, func(ctx context.Context, tx pgx.Tx) error {
		err := store.SetSiteRetention(ctx, tx, r.a, store.RetentionInput{Raw: &tooMany}, store.DefaultRetention)
		if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "retention raw: 20 days is outside 1 to 14") {
			t.Errorf("raw 20 days above the maximum 14: want an error naming both, got %v", err)
		}
		return store.SetSiteRetention(ctx, tx, r.a, store.RetentionInput{Raw: &three, History: &five}, store.DefaultRetention)
	})
	for _, site := range []uuid.UUID{r.a, r.b} {
		check := r.checkA
		if site == r.b {
			check = r.checkB
		}
		r.in(site, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO state_history (site_id, check_id, at, status, previous, ok, hard, attempt)
				VALUES ($1, $2, $3, 'CRITICAL', 'OK', false, true, 1), ($1, $2, $4, 'OK', 'CRITICAL', true, true, 1), ($1, $2, $5, 'WARNING', 'OK', false, true, 1)`,
				site, check, now.Add(-9*24*time.Hour), now.Add(-8*24*time.Hour), now.Add(-time.Hour))
			return err
		})
	}
	r.sweep.Batch = 1000000
	r.run()
	cutA := now.Add(-3 * 24 * time.Hour).Truncate(24 * time.Hour)
	if n := r.count(r.a, `SELECT count(*) FROM metrics WHERE at < $1`, cutA); n != 0 {
		t.Errorf("site A keeps 3 days but has %d points before %v", n, cutA)
	}
	if n := r.count(r.b, `SELECT count(*) FROM metrics WHERE at < $1`, cutA); n != int(cutA.Sub(start)/time.Hour) {
		t.Errorf("site B keeps 14 days but has %d points before %v, want %d", n, cutA, int(cutA.Sub(start)/time.Hour))
	}
	// A: the change 9 days ago goes, the one 8 days ago stays (the state
	// at the cut), the recent one stays. B keeps all three.
	if n := r.count(r.a, `SELECT count(*) FROM state_history`); n != 2 {
		t.Errorf("site A keeps %d state changes, want 2 (the state at the cut and the recent change)", n)
	}
	if n := r.count(r.a, `SELECT count(*) FROM state_history WHERE status = 'OK'`); n != 1 {
		t.Errorf("site A lost the state it was in at the cut")
	}
	if n := r.count(r.b, `SELECT count(*) FROM state_history`); n != 3 {
		t.Errorf("site B keeps %d state changes, want 3", n)
	}
	var keep store.Retention
	r.in(r.a, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		keep, err = store.SiteRetention(ctx, tx, store.Retention{Raw: 2, Rollup5m: 90, Rollup1h: 730, History: 400, Alerts: 400, Notifications: 90})
		return err
	})
	if keep.Raw != 2 || keep.History != 5 || keep.Rollup5m != 90 {
		t.Errorf("site A's retention under a lower maximum: %+v, want raw clamped to 2, history 5, 5m default 90", keep)
	}
}

// TestOneNodeSweepsAtATime: while another session holds the sweep's lock,
// a pass is skipped and touches nothing.
func TestOneNodeSweepsAtATime(t *testing.T) {
	r := newRetentionRig(t, time.Now())
	ctx := context.Background()
	conn, err := r.db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(retentionLock)); err != nil {
		t.Fatal(err)
	}
	if rep := r.run(); !rep.Skipped {
		t.Errorf("a pass ran while another node held the lock: %+v", rep)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(retentionLock)); err != nil {
		t.Fatal(err)
	}
	if rep := r.run(); rep.Skipped {
		t.Error("a pass was skipped with the lock free")
	}
}
