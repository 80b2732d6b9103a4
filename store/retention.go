package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bergamot-monitoring/bergamot/errs"
)

// Retention is how many days each family of data is kept
// (docs/data-retention.md).
type Retention struct {
	Raw           int // raw metric points
	Rollup5m      int // 5-minute rollups
	Rollup1h      int // 1-hour rollups
	History       int // state changes and monitoring gaps
	Alerts        int // recovered alerts (open alerts are never expired)
	Notifications int // the notification log
}

// DefaultRetention is a site's retention when it sets none, and the
// operator's maximum when the operator sets none.
var DefaultRetention = Retention{Raw: 14, Rollup5m: 90, Rollup1h: 730, History: 400, Alerts: 400, Notifications: 90}

// retentionFields names Retention's fields as BERGAMOT_RETENTION_MAX and
// the GraphQL input spell them.
var retentionFields = []struct {
	name string
	get  func(*Retention) *int
}{
	{"raw", func(r *Retention) *int { return &r.Raw }},
	{"5m", func(r *Retention) *int { return &r.Rollup5m }},
	{"1h", func(r *Retention) *int { return &r.Rollup1h }},
	{"history", func(r *Retention) *int { return &r.History }},
	{"alerts", func(r *Retention) *int { return &r.Alerts }},
	{"notifications", func(r *Retention) *int { return &r.Notifications }},
}

// maxRetentionDays bounds every setting: ten years.
const maxRetentionDays = 3650

// ParseRetention reads "raw=30,5m=180,history=800" (days; any subset of
// raw, 5m, 1h, history, alerts, notifications, comma separated) over
// base, as BERGAMOT_RETENTION_MAX is written. The error names the item
// that is wrong.
func ParseRetention(s string, base Retention) (Retention, error) {
	out := base
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for i, item := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return base, errs.E(errs.Invalid, "retention item %d %q: want name=days", i+1, item)
		}
		val = strings.TrimSuffix(strings.TrimSpace(val), "d")
		days, err := strconv.Atoi(val)
		if err != nil || days <= 0 || days > maxRetentionDays {
			return base, errs.E(errs.Invalid, "retention item %d %q: days must be a whole number from 1 to %d", i+1, item, maxRetentionDays)
		}
		found := false
		for _, f := range retentionFields {
			if f.name == strings.TrimSpace(name) {
				*f.get(&out) = days
				found = true
			}
		}
		if !found {
			return base, errs.E(errs.Invalid, "retention item %d %q: unknown name %q (want raw, 5m, 1h, history, alerts or notifications)", i+1, item, name)
		}
	}
	return out, nil
}

// String writes r as ParseRetention reads it.
func (r Retention) String() string {
	parts := make([]string, 0, len(retentionFields))
	for _, f := range retentionFields {
		parts = append(parts, fmt.Sprintf("%s=%d", f.name, *f.get(&r)))
	}
	return strings.Join(parts, ",")
}

// clamp returns r with every value no greater than max's.
func (r Retention) clamp(maxR Retention) Retention {
	for _, f := range retentionFields {
		if v, m := f.get(&r), *f.get(&maxR); *v > m {
			*v = m
		}
	}
	return r
}

// RetentionInput is a site's change to its retention: nil leaves a value
// as it is, 0 returns it to the default.
type RetentionInput struct {
	Raw, Rollup5m, Rollup1h, History, Alerts, Notifications *int
}

// SiteRetention returns the retention in effect for the transaction's
// site: its own settings, else the defaults, never above maxR.
func SiteRetention(ctx context.Context, tx pgx.Tx, maxR Retention) (Retention, error) {
	r := DefaultRetention
	var v [6]*int
	err := tx.QueryRow(ctx, `SELECT raw_days, rollup_5m_days, rollup_1h_days, history_days, alerts_days, notification_days
		FROM retention_settings`).Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5])
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("reading retention settings: %w", err)
	}
	for i, f := range retentionFields {
		if v[i] != nil {
			*f.get(&r) = *v[i]
		}
	}
	return r.clamp(maxR), nil
}

// SetSiteRetention changes the site's retention. A value above the
// operator's maximum is refused (naming the setting and the maximum) and
// nothing is changed.
func SetSiteRetention(ctx context.Context, tx pgx.Tx, site uuid.UUID, in RetentionInput, maxR Retention) error {
	vals := []*int{in.Raw, in.Rollup5m, in.Rollup1h, in.History, in.Alerts, in.Notifications}
	for i, f := range retentionFields {
		if vals[i] == nil {
			continue
		}
		if d := *vals[i]; d < 0 || d > *f.get(&maxR) {
			return errs.E(errs.Invalid, "retention %s: %d days is outside 1 to %d (the operator's maximum; 0 returns to the default)", f.name, d, *f.get(&maxR))
		}
	}
	// 0 stores NULL (the default); nil keeps the stored value.
	arg := func(p *int) any {
		if p == nil || *p == 0 {
			return nil
		}
		return *p
	}
	keep := func(p *int) bool { return p == nil }
	_, err := tx.Exec(ctx, `INSERT INTO retention_settings AS r (site_id, raw_days, rollup_5m_days, rollup_1h_days, history_days, alerts_days, notification_days)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (site_id) DO UPDATE SET
			raw_days = CASE WHEN $8 THEN r.raw_days ELSE excluded.raw_days END,
			rollup_5m_days = CASE WHEN $9 THEN r.rollup_5m_days ELSE excluded.rollup_5m_days END,
			rollup_1h_days = CASE WHEN $10 THEN r.rollup_1h_days ELSE excluded.rollup_1h_days END,
			history_days = CASE WHEN $11 THEN r.history_days ELSE excluded.history_days END,
			alerts_days = CASE WHEN $12 THEN r.alerts_days ELSE excluded.alerts_days END,
			notification_days = CASE WHEN $13 THEN r.notification_days ELSE excluded.notification_days END,
			updated_at = now()`,
		site, arg(in.Raw), arg(in.Rollup5m), arg(in.Rollup1h), arg(in.History), arg(in.Alerts), arg(in.Notifications),
		keep(in.Raw), keep(in.Rollup5m), keep(in.Rollup1h), keep(in.History), keep(in.Alerts), keep(in.Notifications))
	if err != nil {
		return fmt.Errorf("saving retention settings: %w", err)
	}
	return nil
}

// Resolution is a stored resolution of metric series.
type Resolution string

// The resolutions, finest first.
const (
	ResolutionRaw Resolution = "raw"
	Resolution5m  Resolution = "5m"
	Resolution1h  Resolution = "1h"
)

// Step is the width of one rollup bucket (0 for raw points).
func (r Resolution) Step() time.Duration {
	switch r {
	case Resolution5m:
		return 5 * time.Minute
	case Resolution1h:
		return time.Hour
	}
	return 0
}

// partitioned are the time-partitioned tables and the retention that
// expires each.
var partitioned = []struct {
	table string
	days  func(Retention) int
	month bool // partitions of a month (else a day)
	ahead time.Duration
}{
	{"metrics", func(r Retention) int { return r.Raw }, false, 72 * time.Hour},
	{"metrics_5m", func(r Retention) int { return r.Rollup5m }, false, 72 * time.Hour},
	{"metrics_1h", func(r Retention) int { return r.Rollup1h }, true, 62 * 24 * time.Hour},
}

// partitionFloor is the start of t's partition (UTC day or month).
func partitionFloor(t time.Time, month bool) time.Time {
	t = t.UTC()
	if month {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// expiry is the time before which a family kept days is expired at now:
// the start of the partition holding now - days, so whole partitions go
// and a site keeping as long as the maximum never costs a row delete.
func expiry(now time.Time, days int, month bool) time.Time {
	return partitionFloor(now.Add(-time.Duration(days)*24*time.Hour), month)
}

// PartitionReport says what MaintainPartitions did.
type PartitionReport struct {
	Created int
	Dropped []string
}

// MaintainPartitions creates the partitions of metrics and its rollups
// from a day (a month for hourly rollups) before now until well ahead, and
// drops those wholly older than the operator's maximum retention maxR.
// It runs outside any site (partitions are shared) through the schema's
// SECURITY DEFINER functions.
func MaintainPartitions(ctx context.Context, db Querier, now time.Time, maxR Retention) (PartitionReport, error) {
	var rep PartitionReport
	for _, p := range partitioned {
		var n int
		back := 24 * time.Hour
		if p.month {
			back = 31 * 24 * time.Hour
		}
		if err := db.QueryRow(ctx, `SELECT bergamot_ensure_partitions($1, $2, $3)`, p.table, now.Add(-back), now.Add(p.ahead)).Scan(&n); err != nil {
			return rep, fmt.Errorf("creating %s partitions: %w", p.table, err)
		}
		rep.Created += n
		rows, err := db.Query(ctx, `SELECT bergamot_drop_partitions($1, $2)`, p.table, expiry(now, p.days(maxR), p.month))
		if err != nil {
			return rep, fmt.Errorf("dropping %s partitions: %w", p.table, err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return rep, fmt.Errorf("dropping %s partitions: %w", p.table, err)
		}
		rep.Dropped = append(rep.Dropped, names...)
	}
	return rep, nil
}

// Partition is one time-range partition.
type Partition struct {
	Name     string
	From, To time.Time
	EstRows  int64
}

// Partitions lists table's (metrics, metrics_5m or metrics_1h) range
// partitions, oldest first.
func Partitions(ctx context.Context, db Querier, table string) ([]Partition, error) {
	rows, err := db.Query(ctx, `SELECT name, from_at, to_at, est_rows FROM bergamot_partitions($1)`, table)
	if err != nil {
		return nil, fmt.Errorf("listing %s partitions: %w", table, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Partition])
	if err != nil {
		return nil, fmt.Errorf("listing %s partitions: %w", table, err)
	}
	return out, nil
}

// Querier is what the partition functions need: a pool, a connection or
// a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// rollupLag is how long after a bucket ends it is rolled up, so results
// still in flight arrive first.
const rollupLag = 2 * time.Minute

// rollupMaxSpan bounds how much source one pass rolls up per site, so a
// site catching up (after an outage, or at first start) does it over
// several cheap passes.
var rollupMaxSpan = map[Resolution]time.Duration{Resolution5m: time.Hour, Resolution1h: 6 * time.Hour}

// rollupFirstSpan is how far back a site never rolled up starts: points
// older than that (stored before rollups existed) stay raw only.
const rollupFirstSpan = 24 * time.Hour

// rollupSQL computes each resolution's buckets from its source over
// [$2, $3) for site $1, replacing buckets already there: running it twice
// gives the same rows.
var rollupSQL = map[Resolution]string{
	Resolution5m: `INSERT INTO metrics_5m AS r (site_id, check_id, label, at, uom, min, max, sum, count, last, last_at)
		SELECT site_id, check_id, label, date_bin('5 minutes', at, timestamptz '2000-01-01 00:00:00+00') AS b, max(uom),
			min(value), max(value), sum(value), count(*), (array_agg(value ORDER BY at DESC))[1], max(at)
		FROM metrics WHERE site_id = $1 AND at >= $2 AND at < $3
		GROUP BY site_id, check_id, label, b
		ON CONFLICT (site_id, check_id, label, at) DO UPDATE SET uom = excluded.uom, min = excluded.min, max = excluded.max,
			sum = excluded.sum, count = excluded.count, last = excluded.last, last_at = excluded.last_at`,
	Resolution1h: `INSERT INTO metrics_1h AS r (site_id, check_id, label, at, uom, min, max, sum, count, last, last_at)
		SELECT site_id, check_id, label, date_bin('1 hour', at, timestamptz '2000-01-01 00:00:00+00') AS b, max(uom),
			min(min), max(max), sum(sum), sum(count), (array_agg(last ORDER BY last_at DESC))[1], max(last_at)
		FROM metrics_5m WHERE site_id = $1 AND at >= $2 AND at < $3
		GROUP BY site_id, check_id, label, b
		ON CONFLICT (site_id, check_id, label, at) DO UPDATE SET uom = excluded.uom, min = excluded.min, max = excluded.max,
			sum = excluded.sum, count = excluded.count, last = excluded.last, last_at = excluded.last_at`,
}

// RolledUntil returns, for the transaction's site, the end of the last
// bucket of res rolled up (zero when none is).
func RolledUntil(ctx context.Context, tx pgx.Tx, res Resolution) (time.Time, error) {
	var t time.Time
	err := tx.QueryRow(ctx, `SELECT done_until FROM rollup_progress WHERE resolution = $1`, string(res)).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return t, fmt.Errorf("reading rollup progress: %w", err)
	}
	return t, nil
}

// Rollup rolls up the site's closed buckets of res since the last pass
// (5-minute buckets from raw points, hours from 5-minute buckets), at
// most rollupMaxSpan of source per call, and returns how many buckets
// it wrote and whether it has caught up. A site never rolled up starts a
// day before now.
func Rollup(ctx context.Context, tx pgx.Tx, site uuid.UUID, res Resolution, now time.Time) (written int64, caughtUp bool, err error) {
	step := res.Step()
	if step == 0 {
		return 0, true, errs.E(errs.Invalid, "rollup: resolution %q has no buckets", res)
	}
	from, err := RolledUntil(ctx, tx, res)
	if err != nil {
		return 0, false, err
	}
	// Hours are rolled from 5-minute buckets, so they wait for those.
	limit := now.Add(-rollupLag)
	if res == Resolution1h {
		if limit, err = RolledUntil(ctx, tx, Resolution5m); err != nil {
			return 0, false, err
		}
	}
	to := limit.Truncate(step)
	if from.IsZero() {
		from = now.Add(-rollupFirstSpan).Truncate(step)
	}
	caughtUp = true
	if to.Sub(from) > rollupMaxSpan[res] {
		to, caughtUp = from.Add(rollupMaxSpan[res]), false
	}
	if !to.After(from) {
		return 0, true, nil
	}
	tag, err := tx.Exec(ctx, rollupSQL[res], site, from, to)
	if err != nil {
		return 0, false, fmt.Errorf("rolling up %s metrics: %w", res, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO rollup_progress (site_id, resolution, done_until) VALUES ($1, $2, $3)
		ON CONFLICT (site_id, resolution) DO UPDATE SET done_until = GREATEST(rollup_progress.done_until, excluded.done_until)`,
		site, string(res), to); err != nil {
		return 0, false, fmt.Errorf("saving rollup progress: %w", err)
	}
	return tag.RowsAffected(), caughtUp, nil
}

// expireSQL deletes at most $3 of the site's ($1) rows of one family
// older than $2. State history keeps each check's last change before $2:
// availability needs the state a check was in when an interval starts.
// Alerts still open are never expired.
var expireSQL = []struct {
	what string
	days func(Retention) int
	// month: the family is partitioned by month (expiry rounds to it).
	month bool
	sql   string
}{
	{"metrics", func(r Retention) int { return r.Raw }, false,
		`DELETE FROM metrics WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM metrics WHERE site_id = $1 AND at < $2 LIMIT $3)`},
	{"metrics_5m", func(r Retention) int { return r.Rollup5m }, false,
		`DELETE FROM metrics_5m WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM metrics_5m WHERE site_id = $1 AND at < $2 LIMIT $3)`},
	{"metrics_1h", func(r Retention) int { return r.Rollup1h }, true,
		`DELETE FROM metrics_1h WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM metrics_1h WHERE site_id = $1 AND at < $2 LIMIT $3)`},
	{"state_history", func(r Retention) int { return r.History }, false,
		`DELETE FROM state_history WHERE id IN (SELECT h.id FROM state_history h WHERE h.site_id = $1 AND h.at < $2
			AND EXISTS (SELECT 1 FROM state_history n WHERE n.site_id = h.site_id AND n.check_id = h.check_id AND n.at > h.at AND n.at <= $2)
			LIMIT $3)`},
	{"monitoring_gaps", func(r Retention) int { return r.History }, false,
		`DELETE FROM monitoring_gaps WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM monitoring_gaps WHERE site_id = $1 AND to_at < $2 LIMIT $3)`},
	{"alerts", func(r Retention) int { return r.Alerts }, false,
		`DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE site_id = $1 AND recovered_at < $2 LIMIT $3)`},
	{"notification_log", func(r Retention) int { return r.Notifications }, false,
		`DELETE FROM notification_log WHERE id IN (SELECT id FROM notification_log WHERE site_id = $1 AND at < $2 LIMIT $3)`},
}

// ExpireRows deletes, for one site, at most batch rows per data family
// older than keep allows, and returns how many it deleted per family.
// Metric expiry rounds to the partition boundary, so when keep equals
// the operator's maximum the partition drop has already removed them and
// the delete finds nothing (only strays in the default partition).
func ExpireRows(ctx context.Context, tx pgx.Tx, site uuid.UUID, now time.Time, keep Retention, batch int) (map[string]int64, error) {
	out := map[string]int64{}
	for _, e := range expireSQL {
		before := now.Add(-time.Duration(e.days(keep)) * 24 * time.Hour)
		if e.what == "metrics" || e.what == "metrics_5m" || e.what == "metrics_1h" {
			before = expiry(now, e.days(keep), e.month)
		}
		tag, err := tx.Exec(ctx, e.sql, site, before, batch)
		if err != nil {
			return out, fmt.Errorf("expiring %s: %w", e.what, err)
		}
		if n := tag.RowsAffected(); n > 0 {
			out[e.what] = n
		}
	}
	return out, nil
}
