package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bergamot-monitoring/bergamot/config"
)

// This file owns the metrics export family (migration 000046,
// docs/metrics-export.md): metric_exports, a site's <metrics-export>
// targets with their delivery status, and metric_export_queue, the
// outbox the result processor fills (ResultWrites.Queue) and the shipper
// (jobs.Exporter) drains.

// queueExportPoints is the processor's outbox write: every point of the
// batch, once per enabled target of its site. RLS confines the join to
// the site of the transaction, so a point can only ever meet its own
// site's targets.
const queueExportPoints = `INSERT INTO metric_export_queue (site_id, export_id, check_id, label, at, value, uom)
	SELECT m.site_id, e.id, m.check_id, m.label, m.at, m.value, m.uom
	FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::float8[], $6::text[]) AS m(site_id, check_id, label, at, value, uom)
	JOIN metric_exports e ON e.site_id = m.site_id AND e.enabled`

// QueueHasExports queues on b whether the transaction's site has an
// enabled export target, into has. The processor reads it with its
// checks, so a site without one (most) costs no outbox statement per
// batch (ResultWrites.NoExports).
func QueueHasExports(b *pgx.Batch, has *bool) {
	b.Queue(`SELECT EXISTS (SELECT 1 FROM metric_exports WHERE enabled)`).QueryRow(func(r pgx.Row) error {
		return r.Scan(has)
	})
}

// queueExports queues the writes that make the site's metric_exports the
// model's: targets are kept by name (their queue and status survive),
// changed in place, and the ones no longer configured removed with their
// queue. A changed target is tried at once.
func queueExports(b *pgx.Batch, site uuid.UUID, m *config.Model) {
	names := make([]string, 0, len(m.MetricsExports))
	for name, e := range m.MetricsExports {
		names = append(names, name)
		b.Queue(`INSERT INTO metric_exports (id, site_id, name, protocol, url, auth, credential, batch_points, buffer_points, enabled, own_series)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
			ON CONFLICT (site_id, name) DO UPDATE SET protocol = EXCLUDED.protocol, url = EXCLUDED.url, auth = EXCLUDED.auth,
				credential = EXCLUDED.credential, batch_points = EXCLUDED.batch_points, buffer_points = EXCLUDED.buffer_points,
				enabled = EXCLUDED.enabled, own_series = EXCLUDED.own_series, failures = 0, next_attempt_at = now()
			WHERE (metric_exports.protocol, metric_exports.url, metric_exports.auth, metric_exports.credential,
				metric_exports.batch_points, metric_exports.buffer_points, metric_exports.enabled, metric_exports.own_series)
				IS DISTINCT FROM (EXCLUDED.protocol, EXCLUDED.url, EXCLUDED.auth, EXCLUDED.credential,
				EXCLUDED.batch_points, EXCLUDED.buffer_points, EXCLUDED.enabled, EXCLUDED.own_series)`,
			uuid.New(), site, name, e.Protocol, e.URL, e.Auth, e.Credential, e.Batch, e.Buffer, e.Enabled, e.OwnSeries)
	}
	b.Queue(`DELETE FROM metric_exports WHERE NOT (name = ANY($1))`, names)
}

// ExportSites lists the sites that have an enabled export target.
func ExportSites(ctx context.Context, pool *pgxpool.Pool) ([]uuid.UUID, error) {
	rows, err := pool.Query(ctx, `SELECT * FROM bergamot_metric_export_sites()`)
	if err != nil {
		return nil, fmt.Errorf("listing sites with metrics export: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("listing sites with metrics export: %w", err)
	}
	return ids, nil
}

// ExportTarget is one metric_exports row as the shipper needs it.
type ExportTarget struct {
	ID                        uuid.UUID
	Name, Protocol, URL, Auth string
	Credential                string
	Batch, Buffer, Failures   int
}

// ExportTargets lists the enabled targets of the transaction's site.
func ExportTargets(ctx context.Context, tx pgx.Tx) ([]ExportTarget, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, protocol, url, auth, credential, batch_points, buffer_points, failures
		FROM metric_exports WHERE enabled ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing export targets: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExportTarget, error) {
		var t ExportTarget
		err := r.Scan(&t.ID, &t.Name, &t.Protocol, &t.URL, &t.Auth, &t.Credential, &t.Batch, &t.Buffer, &t.Failures)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing export targets: %w", err)
	}
	return out, nil
}

// ClaimExport locks target id for this transaction if it is enabled, due
// (its backoff has passed) and no other node holds it, and returns it.
// ok is false otherwise. The lock (FOR NO KEY UPDATE) does not hold up the
// processor's outbox inserts, which only take a key-share lock through
// the foreign key.
func ClaimExport(ctx context.Context, tx pgx.Tx, id uuid.UUID) (t ExportTarget, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT id, name, protocol, url, auth, credential, batch_points, buffer_points, failures
		FROM metric_exports WHERE id = $1 AND enabled AND next_attempt_at <= now() FOR NO KEY UPDATE SKIP LOCKED`, id).
		Scan(&t.ID, &t.Name, &t.Protocol, &t.URL, &t.Auth, &t.Credential, &t.Batch, &t.Buffer, &t.Failures)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("claiming export %s: %w", id, err)
	}
	return t, true, nil
}

// TrimExport deletes the oldest queued points of target id beyond keep,
// adds them to its dropped count and returns how many it deleted.
func TrimExport(ctx context.Context, tx pgx.Tx, id uuid.UUID, keep int) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `WITH cut AS (
			SELECT id FROM metric_export_queue WHERE export_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1),
		gone AS (
			DELETE FROM metric_export_queue WHERE export_id = $1 AND id <= (SELECT id FROM cut) RETURNING 1),
		counted AS (SELECT count(*) AS n FROM gone),
		upd AS (UPDATE metric_exports SET dropped = dropped + (SELECT n FROM counted) WHERE id = $1 AND (SELECT n FROM counted) > 0)
		SELECT n FROM counted`, id, keep).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("trimming export queue: %w", err)
	}
	return n, nil
}

// ExportPoint is a queued point with the names of its check, or one of
// the site's own series (Series and Attrs set, no check).
type ExportPoint struct {
	ID            int64
	Host, Service string
	Label, Unit   string
	At            time.Time
	Value         float64
	Series        string
	Attrs         map[string]string
}

// ExportBatch reads up to limit of target id's oldest queued points, with
// the host and service names of their checks (a cluster's name for its
// resources). Points of checks deleted since are left out (and deleted
// with the batch).
func ExportBatch(ctx context.Context, tx pgx.Tx, id uuid.UUID, limit int) ([]ExportPoint, error) {
	rows, err := tx.Query(ctx, `SELECT q.id, COALESCE(p.name, c.name, ''), CASE WHEN p.id IS NULL THEN '' ELSE c.name END,
			q.label, q.uom, q.at, q.value, c.id IS NOT NULL, q.series, q.attrs
		FROM metric_export_queue q LEFT JOIN checks c ON c.id = q.check_id LEFT JOIN checks p ON p.id = c.parent_id
		WHERE q.export_id = $1 ORDER BY q.id LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("reading export queue: %w", err)
	}
	var out []ExportPoint
	for rows.Next() {
		var p ExportPoint
		var exists bool
		if err := rows.Scan(&p.ID, &p.Host, &p.Service, &p.Label, &p.Unit, &p.At, &p.Value, &exists, &p.Series, &p.Attrs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading export queue: %w", err)
		}
		if p.Series == "" && !exists {
			p.Host = "" // marks it for deletion without sending
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading export queue: %w", err)
	}
	return out, nil
}

// ExportDelivered deletes target id's queued points up to and including
// upTo and records a success of sent points.
func ExportDelivered(ctx context.Context, tx pgx.Tx, id uuid.UUID, upTo int64, sent int) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM metric_export_queue WHERE export_id = $1 AND id <= $2`, id, upTo)
	b.Queue(`UPDATE metric_exports SET sent = sent + $2, failures = 0, next_attempt_at = now(), last_success_at = now() WHERE id = $1`, id, sent)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("recording export delivery: %w", err)
	}
	return nil
}

// ExportRejected deletes target id's queued points up to and including
// upTo, which the receiver refused for good, counts them as dropped and
// records why.
func ExportRejected(ctx context.Context, tx pgx.Tx, id uuid.UUID, upTo int64, n int, reason string) error {
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM metric_export_queue WHERE export_id = $1 AND id <= $2`, id, upTo)
	b.Queue(`UPDATE metric_exports SET dropped = dropped + $2, last_error = $3, last_error_at = now() WHERE id = $1`, id, n, reason)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("recording export rejection: %w", err)
	}
	return nil
}

// ExportFailed records a failed attempt of target id: the points stay
// queued, and the target is not tried again before retryAt.
func ExportFailed(ctx context.Context, tx pgx.Tx, id uuid.UUID, retryAt time.Time, reason string) error {
	if _, err := tx.Exec(ctx, `UPDATE metric_exports SET failures = failures + 1, next_attempt_at = $2, last_error = $3, last_error_at = now()
		WHERE id = $1`, id, retryAt, reason); err != nil {
		return fmt.Errorf("recording export failure: %w", err)
	}
	return nil
}

// ExportStatus is a target's configuration and delivery status as the
// site sees it (GraphQL metricsExports).
type ExportStatus struct {
	Name, Protocol, URL, Auth string
	Enabled, OwnSeries        bool
	Sent, Dropped, Queued     int64
	Failures                  int
	LastSuccessAt             *time.Time
	LastError                 string
	LastErrorAt               *time.Time
	NextAttemptAt             time.Time
}

// ExportStatuses lists the transaction's site's export targets by name.
func ExportStatuses(ctx context.Context, tx pgx.Tx) ([]ExportStatus, error) {
	rows, err := tx.Query(ctx, `SELECT e.name, e.protocol, e.url, e.auth, e.enabled, e.own_series, e.sent, e.dropped,
			(SELECT count(*) FROM metric_export_queue q WHERE q.export_id = e.id), e.failures,
			e.last_success_at, e.last_error, e.last_error_at, e.next_attempt_at
		FROM metric_exports e ORDER BY e.name`)
	if err != nil {
		return nil, fmt.Errorf("listing metrics exports: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExportStatus, error) {
		var s ExportStatus
		err := r.Scan(&s.Name, &s.Protocol, &s.URL, &s.Auth, &s.Enabled, &s.OwnSeries, &s.Sent, &s.Dropped, &s.Queued, &s.Failures,
			&s.LastSuccessAt, &s.LastError, &s.LastErrorAt, &s.NextAttemptAt)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing metrics exports: %w", err)
	}
	return out, nil
}

// OwnSeries are the names of Bergamot's own series of a site, queued for
// its export targets by QueueOwnSeries (docs/metrics-export.md).
var OwnSeries = []string{"bergamot_site_checks", "bergamot_site_checks_acknowledged", "bergamot_site_checks_in_downtime",
	"bergamot_site_checks_checked_last_minute", "bergamot_site_checks_late", "bergamot_site_schedule_lateness_seconds",
	"bergamot_site_notifications_last_hour", "bergamot_site_results_processed_total"}

// queueOwnSeries computes the site's own series (under its row-level
// security: never another site's checks or notifications; check_schedule
// has no row-level security, the scheduler claims across sites, so it is
// filtered by the transaction's site explicitly) and queues them,
// stamped now, for every enabled target of the site that takes them
// (own-series) and whose last own series are at least $1 old. A target a
// shipper holds is skipped (SKIP LOCKED) and gets them on a later pass;
// the stamp makes several nodes queue them once per interval between
// them.
const queueOwnSeries = `WITH due AS (
		SELECT id, site_id FROM metric_exports
		WHERE enabled AND own_series AND (own_queued_at IS NULL OR own_queued_at <= now() - $1::interval)
		FOR NO KEY UPDATE SKIP LOCKED),
	stamped AS (UPDATE metric_exports e SET own_queued_at = now() FROM due WHERE e.id = due.id),
	statuses AS (SELECT status, count(*) AS n FROM check_state GROUP BY status),
	results AS (SELECT result, count(*) AS n FROM notification_log WHERE at > now() - interval '1 hour' GROUP BY result),
	series (name, attrs, value) AS (
		SELECT 'bergamot_site_checks', jsonb_build_object('status', st.status), COALESCE(s.n, 0)::float8
			FROM (SELECT unnest(ARRAY['OK', 'WARNING', 'CRITICAL', 'UNKNOWN', 'PENDING']) AS status UNION SELECT status FROM statuses) st
			LEFT JOIN statuses s ON s.status = st.status
		UNION ALL
		SELECT 'bergamot_site_checks_acknowledged', '{}'::jsonb, count(*) FILTER (WHERE acknowledged)::float8 FROM check_state
		UNION ALL
		SELECT 'bergamot_site_checks_in_downtime', '{}', count(*) FILTER (WHERE in_downtime)::float8 FROM check_state
		UNION ALL
		SELECT 'bergamot_site_checks_checked_last_minute', '{}', count(*) FILTER (WHERE last_check > now() - interval '1 minute')::float8 FROM check_state
		UNION ALL
		SELECT 'bergamot_site_checks_late', '{}', count(*) FILTER (WHERE next_run < now() - interval '1 minute')::float8
			FROM check_schedule WHERE site_id = bergamot_site() AND NOT paused
		UNION ALL
		SELECT 'bergamot_site_schedule_lateness_seconds', '{}', COALESCE(extract(epoch FROM now() - min(next_run)), 0)::float8
			FROM check_schedule WHERE site_id = bergamot_site() AND NOT paused AND next_run < now()
		UNION ALL
		SELECT 'bergamot_site_notifications_last_hour', jsonb_build_object('result', r.result), COALESCE(x.n, 0)::float8
			FROM (SELECT unnest(ARRAY['sent', 'failed']) AS result UNION SELECT result FROM results) r LEFT JOIN results x ON x.result = r.result
		UNION ALL
		SELECT 'bergamot_site_results_processed_total', '{}', COALESCE(sum(processed), 0)::float8 FROM result_counts)
	INSERT INTO metric_export_queue (site_id, export_id, check_id, label, at, value, series, attrs)
		SELECT d.site_id, d.id, NULL, '', now(), s.value, s.name, s.attrs FROM due d, series s`

// QueueOwnSeries queues the transaction's site's own series (OwnSeries)
// for each of its enabled targets that has not had them for every, and
// returns how many points it queued. Run by the exporter before it ships.
func QueueOwnSeries(ctx context.Context, tx pgx.Tx, every time.Duration) (int64, error) {
	tag, err := tx.Exec(ctx, queueOwnSeries, every.String())
	if err != nil {
		return 0, fmt.Errorf("queueing the site's own series: %w", err)
	}
	return tag.RowsAffected(), nil
}
