DROP VIEW IF EXISTS reporting.metrics_5m, reporting.metrics_1h;
-- Raw points move back into the default partition, as before.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'metrics'::regclass AND c.relname <> 'metrics_default'
    LOOP
        EXECUTE format('ALTER TABLE metrics DETACH PARTITION %I', r.relname);
        EXECUTE format('INSERT INTO metrics_default SELECT * FROM %I', r.relname);
        EXECUTE format('DROP TABLE %I', r.relname);
    END LOOP;
END
$$;
DROP POLICY IF EXISTS partition_owner ON metrics_default;
DROP FUNCTION IF EXISTS bergamot_partitions(text);
DROP FUNCTION IF EXISTS bergamot_drop_partitions(text, timestamptz);
DROP FUNCTION IF EXISTS bergamot_ensure_partitions(text, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS bergamot_partition_period(text);
DROP INDEX IF EXISTS alerts_recovered_idx;
DROP INDEX IF EXISTS state_history_site_at_idx;
DROP TABLE IF EXISTS rollup_progress, retention_settings, metrics_1h, metrics_5m;
