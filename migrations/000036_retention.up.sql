-- Retention and rollups (docs/data-retention.md; store/retention.go,
-- jobs/retention.go).
--
-- metrics, metrics_5m and metrics_1h are partitioned by time range: one
-- partition per UTC day for raw points and 5-minute rollups, one per UTC
-- month for 1-hour rollups. The retention sweep creates partitions ahead
-- and drops whole partitions once they are older than the operator's
-- maximum retention: expiring a day of points is one DROP TABLE, never
-- a row-by-row DELETE. The DDL runs through the SECURITY DEFINER functions
-- below, so the application role still owns nothing.
--
-- A rollup row summarises the raw points of one series in one bucket:
-- min, max, sum and count (avg = sum / count, exact when 5-minute rows are
-- rolled into hours), and the last value (last_at tells which).
--
-- retention_settings: a site's own retention, in days, per data family;
-- NULL takes the default. The sweep clamps each to the operator's maximum.
-- rollup_progress: per site and resolution, the end of the last bucket
-- rolled up; the sweep resumes from it (idempotent: a bucket is recomputed
-- whole from its source, so running it twice, or on two nodes, is harmless).

CREATE TABLE metrics_5m (
    site_id  uuid NOT NULL,
    check_id uuid NOT NULL,
    label    text NOT NULL,
    at       timestamptz NOT NULL,
    uom      text NOT NULL DEFAULT '',
    min      double precision NOT NULL,
    max      double precision NOT NULL,
    sum      double precision NOT NULL,
    count    bigint NOT NULL,
    last     double precision NOT NULL,
    last_at  timestamptz NOT NULL,
    PRIMARY KEY (site_id, check_id, label, at)
) PARTITION BY RANGE (at);

CREATE TABLE metrics_1h (LIKE metrics_5m INCLUDING DEFAULTS, PRIMARY KEY (site_id, check_id, label, at)) PARTITION BY RANGE (at);

CREATE TABLE retention_settings (
    site_id           uuid PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    raw_days          integer CHECK (raw_days > 0),
    rollup_5m_days    integer CHECK (rollup_5m_days > 0),
    rollup_1h_days    integer CHECK (rollup_1h_days > 0),
    history_days      integer CHECK (history_days > 0),
    alerts_days       integer CHECK (alerts_days > 0),
    notification_days integer CHECK (notification_days > 0),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rollup_progress (
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    resolution text NOT NULL CHECK (resolution IN ('5m', '1h')),
    done_until timestamptz NOT NULL,
    PRIMARY KEY (site_id, resolution)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['metrics_5m', 'metrics_1h', 'retention_settings', 'rollup_progress'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY site_isolation ON %I TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site())', t);
        EXECUTE format('CREATE POLICY reporting_isolation ON %I FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()))', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bergamot_app', t);
        EXECUTE format('GRANT SELECT ON %I TO bergamot_reporting', t);
    END LOOP;
END
$$;

-- Expiry by time across a site: these back the sweep's batched deletes.
CREATE INDEX state_history_site_at_idx ON state_history (site_id, at);
CREATE INDEX alerts_recovered_idx ON alerts (site_id, recovered_at) WHERE recovered_at IS NOT NULL;

-- The partition period of each time-partitioned table.
CREATE FUNCTION bergamot_partition_period(tbl text) RETURNS interval
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE tbl WHEN 'metrics' THEN interval '1 day' WHEN 'metrics_5m' THEN interval '1 day'
                          WHEN 'metrics_1h' THEN interval '1 month' END $$;

-- bergamot_ensure_partitions creates the partitions of tbl (metrics,
-- metrics_5m or metrics_1h) that cover [from, to), and returns how many it
-- created. Rows already in the default partition for a new range move
-- into it. Safe to call concurrently (an advisory lock per table) and
-- again (existing partitions are skipped).
CREATE FUNCTION bergamot_ensure_partitions(tbl text, from_at timestamptz, to_at timestamptz) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET timezone = 'UTC'
    AS $$
DECLARE
    period interval := bergamot_partition_period(tbl);
    lo timestamptz;
    hi timestamptz;
    part text;
    made integer := 0;
BEGIN
    IF period IS NULL THEN
        RAISE EXCEPTION 'bergamot_ensure_partitions: % is not a time-partitioned table', tbl;
    END IF;
    IF to_at - from_at > interval '3 years' THEN
        RAISE EXCEPTION 'bergamot_ensure_partitions: range % to % is too long', from_at, to_at;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('bergamot_partitions:' || tbl));
    lo := date_trunc(CASE WHEN period = interval '1 month' THEN 'month' ELSE 'day' END, from_at);
    WHILE lo < to_at LOOP
        hi := lo + period;
        part := tbl || '_p' || to_char(lo, CASE WHEN period = interval '1 month' THEN 'YYYYMM' ELSE 'YYYYMMDD' END);
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', part, tbl);
            IF to_regclass(tbl || '_default') IS NOT NULL THEN
                EXECUTE format('WITH moved AS (DELETE FROM %I WHERE at >= $1 AND at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved',
                               tbl || '_default', part) USING lo, hi;
            END IF;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', tbl, part, lo, hi);
            -- Reached only through the parent, but confined like it.
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
            EXECUTE format('CREATE POLICY site_isolation ON %I TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site())', part);
            made := made + 1;
        END IF;
        lo := hi;
    END LOOP;
    RETURN made;
END
$$;

-- bergamot_drop_partitions drops the partitions of tbl that hold only
-- rows older than before, and returns their names.
CREATE FUNCTION bergamot_drop_partitions(tbl text, before timestamptz) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET timezone = 'UTC'
    AS $$
DECLARE
    r record;
BEGIN
    IF bergamot_partition_period(tbl) IS NULL THEN
        RAISE EXCEPTION 'bergamot_drop_partitions: % is not a time-partitioned table', tbl;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('bergamot_partitions:' || tbl));
    FOR r IN SELECT c.relname,
                    (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = tbl::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
    LOOP
        IF r.upper <= before THEN
            EXECUTE format('DROP TABLE %I', r.relname);
            RETURN NEXT r.relname;
        END IF;
    END LOOP;
END
$$;

-- bergamot_partitions lists tbl's range partitions with their bounds and
-- estimated rows, oldest first (the sweep's and the operator's view).
CREATE FUNCTION bergamot_partitions(tbl text) RETURNS TABLE (name text, from_at timestamptz, to_at timestamptz, est_rows bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public SET timezone = 'UTC'
    AS $$
    SELECT c.relname::text,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz,
           GREATEST(c.reltuples, 0)::bigint
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = tbl::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
    ORDER BY 2
$$;

REVOKE ALL ON FUNCTION bergamot_ensure_partitions(text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION bergamot_drop_partitions(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION bergamot_partitions(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bergamot_ensure_partitions(text, timestamptz, timestamptz), bergamot_drop_partitions(text, timestamptz),
    bergamot_partitions(text) TO bergamot_app;

-- Default partitions catch points outside every range (a passive result
-- stamped far in the past or future); the sweep trims them. The moving of
-- rows out of them above runs as the owner, so the owner may see them.
CREATE TABLE metrics_5m_default PARTITION OF metrics_5m DEFAULT;
CREATE TABLE metrics_1h_default PARTITION OF metrics_1h DEFAULT;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['metrics_5m_default', 'metrics_1h_default'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY site_isolation ON %I TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site())', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['metrics_default', 'metrics_5m_default', 'metrics_1h_default'] LOOP
        EXECUTE format('CREATE POLICY partition_owner ON %I TO %I USING (true) WITH CHECK (true)', t, current_user);
    END LOOP;
END
$$;

-- Today's points and the days ahead get their partitions now, and the days
-- the default partition already holds (up to the longest retention an
-- operator is likely to allow) move into partitions of their own.
DO $$
DECLARE
    oldest timestamptz;
BEGIN
    SELECT min(at) INTO oldest FROM metrics_default WHERE at > now() - interval '400 days';
    PERFORM bergamot_ensure_partitions('metrics', LEAST(COALESCE(oldest, now()), now()), now() + interval '3 days');
    PERFORM bergamot_ensure_partitions('metrics_5m', now() - interval '1 day', now() + interval '3 days');
    PERFORM bergamot_ensure_partitions('metrics_1h', now() - interval '1 day', now() + interval '2 months');
END
$$;

-- Charts over long ranges read rollups; the reporting schema offers them.
CREATE VIEW reporting.metrics_5m WITH (security_invoker = true) AS
    SELECT m.check_id, c.name, COALESCE(p.name, '') AS host, m.label, m.at, m.uom, m.min, m.max,
           m.sum / NULLIF(m.count, 0) AS avg, m.last, m.count
    FROM metrics_5m m JOIN checks c ON c.id = m.check_id LEFT JOIN checks p ON p.id = c.parent_id;
CREATE VIEW reporting.metrics_1h WITH (security_invoker = true) AS
    SELECT m.check_id, c.name, COALESCE(p.name, '') AS host, m.label, m.at, m.uom, m.min, m.max,
           m.sum / NULLIF(m.count, 0) AS avg, m.last, m.count
    FROM metrics_1h m JOIN checks c ON c.id = m.check_id LEFT JOIN checks p ON p.id = c.parent_id;
GRANT SELECT ON reporting.metrics_5m, reporting.metrics_1h TO bergamot_reporting, bergamot_app;
