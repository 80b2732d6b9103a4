-- Bergamot's own series of each site go out through the site's metrics
-- export targets too (docs/metrics-export.md, "Bergamot's own series").
--
-- metric_export_queue: a row with a series name is one of them (checks
-- by status, schedule lateness, notifications by result, ...): no check,
-- its labels in attrs. Perfdata rows keep series = ''.
-- metric_exports.own_queued_at: when the exporter last queued the site's
-- own series for the target, so that several notifier nodes queue them
-- once per interval between them.
ALTER TABLE metric_export_queue
    ALTER COLUMN check_id DROP NOT NULL,
    ADD COLUMN series text NOT NULL DEFAULT '',
    ADD COLUMN attrs jsonb NOT NULL DEFAULT '{}',
    ADD CONSTRAINT metric_export_queue_point CHECK ((series = '') = (check_id IS NOT NULL));
ALTER TABLE metric_exports ADD COLUMN own_queued_at timestamptz;
