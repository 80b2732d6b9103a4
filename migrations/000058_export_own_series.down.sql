DELETE FROM metric_export_queue WHERE series <> '';
ALTER TABLE metric_export_queue
    DROP CONSTRAINT metric_export_queue_point,
    DROP COLUMN series,
    DROP COLUMN attrs,
    ALTER COLUMN check_id SET NOT NULL;
ALTER TABLE metric_exports DROP COLUMN own_queued_at;
