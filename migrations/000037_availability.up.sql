-- Availability done right (docs/reporting.md; store/availability.go).
--
-- monitoring_gaps: spans in which a scheduled check produced no result for
-- longer than three of its intervals (no worker for its zone, Bergamot
-- itself down). The result writer (store.StateWrites) records one when a
-- result arrives after such a silence; a silence still going on is read
-- from check_state.last_check. Checks gated by a time period, paused and
-- passive checks are not counted (their silence is expected).
CREATE TABLE monitoring_gaps (
    site_id  uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    check_id uuid NOT NULL,
    from_at  timestamptz NOT NULL,
    to_at    timestamptz NOT NULL CHECK (to_at > from_at)
);
CREATE INDEX monitoring_gaps_check_idx ON monitoring_gaps (site_id, check_id, to_at);
CREATE INDEX monitoring_gaps_site_at_idx ON monitoring_gaps (site_id, to_at);

ALTER TABLE monitoring_gaps ENABLE ROW LEVEL SECURITY;
ALTER TABLE monitoring_gaps FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON monitoring_gaps TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON monitoring_gaps FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON monitoring_gaps TO bergamot_app;
GRANT SELECT ON monitoring_gaps TO bergamot_reporting;

-- bergamot_blind_after: how long a scheduled check may stay silent before
-- monitoring counts as blind (three intervals), NULL when its silence is
-- expected. check_schedule is a system table the reporting role cannot
-- read; this exposes one number of it, for a check id the caller already
-- sees through row-level security.
CREATE FUNCTION bergamot_blind_after(p_check uuid) RETURNS interval
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT make_interval(secs => 3 * interval_ms / 1000.0) FROM check_schedule
          WHERE check_id = p_check AND time_period IS NULL AND NOT paused $$;
GRANT EXECUTE ON FUNCTION bergamot_blind_after(uuid) TO bergamot_app, bergamot_reporting;

-- bergamot_seconds: the total length of a multirange, in seconds.
CREATE FUNCTION bergamot_seconds(m tstzmultirange) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT COALESCE(sum(extract(epoch FROM upper(r) - lower(r))), 0)::double precision FROM unnest(m) r $$;
GRANT EXECUTE ON FUNCTION bergamot_seconds(tstzmultirange) TO bergamot_app, bergamot_reporting;

-- reporting.check_availability: for one check and [p_from, p_to) (clipped
-- to now), the seconds spent in each category. Every instant counts once:
-- DOWNTIME (a scheduled or started flexible downtime) first, then BLIND
-- (monitoring_gaps, or a silence going on now), then the status the check
-- was in, with PENDING its own category. The status at p_from is the last
-- change at or before it, else the "previous" of the first change after
-- it, else the current status: a check that never changed is wholly in its
-- current status, never NULL. Recurring (time-period) downtimes are not
-- counted (docs/reporting.md).
CREATE FUNCTION reporting.check_availability(p_check uuid, p_from timestamptz, p_to timestamptz)
    RETURNS TABLE (category text, seconds double precision)
    LANGUAGE sql STABLE
    AS $$
WITH b AS (
    SELECT tstzrange(p_from, GREATEST(p_from, LEAST(p_to, now()))) AS win, s.status AS current, s.last_check,
           bergamot_blind_after(p_check) AS blind_after
    FROM check_state s WHERE s.check_id = p_check
),
initial AS (
    SELECT COALESCE(
        (SELECT h.status FROM state_history h WHERE h.check_id = p_check AND h.at <= p_from ORDER BY h.at DESC, h.id DESC LIMIT 1),
        (SELECT h.previous FROM state_history h WHERE h.check_id = p_check AND h.at > p_from ORDER BY h.at, h.id LIMIT 1),
        (SELECT current FROM b)) AS status
),
changes AS (
    SELECT p_from AS at, 0::bigint AS id, (SELECT status FROM initial) AS status
    UNION ALL
    SELECT h.at, h.id, h.status FROM state_history h WHERE h.check_id = p_check AND h.at > p_from AND h.at < p_to
),
segs AS (
    SELECT status, tstzrange(at, LEAD(at, 1, p_to) OVER (ORDER BY at, id)) * (SELECT win FROM b) AS r FROM changes
),
dt AS (
    SELECT COALESCE(range_agg(tstzrange(d.s, d.e)), '{}'::tstzmultirange) * multirange((SELECT win FROM b)) AS m FROM (
        SELECT starts_at AS s, LEAST(ends_at, COALESCE(cancelled_at, 'infinity')) AS e
            FROM downtimes WHERE check_id = p_check AND NOT flexible AND time_period IS NULL
        UNION ALL
        SELECT started_at, LEAST(started_at + make_interval(secs => duration_s), COALESCE(cancelled_at, 'infinity'))
            FROM downtimes WHERE check_id = p_check AND flexible AND started_at IS NOT NULL
    ) d WHERE d.e > d.s
),
blind AS (
    SELECT (COALESCE(range_agg(x.r), '{}'::tstzmultirange) * multirange((SELECT win FROM b))) - (SELECT m FROM dt) AS m FROM (
        SELECT tstzrange(g.from_at, g.to_at) AS r FROM monitoring_gaps g WHERE g.check_id = p_check AND g.to_at > p_from AND g.from_at < p_to
        UNION ALL
        SELECT tstzrange(b.last_check, 'infinity') FROM b WHERE b.blind_after IS NOT NULL AND b.last_check + b.blind_after < now()
    ) x
),
cats AS (
    SELECT s.status AS category, bergamot_seconds(multirange(s.r) - (SELECT m FROM dt) - (SELECT m FROM blind)) AS seconds
        FROM segs s WHERE NOT isempty(s.r)
    UNION ALL SELECT 'DOWNTIME', bergamot_seconds(m) FROM dt
    UNION ALL SELECT 'BLIND', bergamot_seconds(m) FROM blind
)
SELECT category, sum(seconds) FROM cats WHERE EXISTS (SELECT 1 FROM b) GROUP BY category HAVING sum(seconds) > 0
$$;

-- reporting.group_availability: the same over every check of a group,
-- adding up check-seconds (a group of ten checks observed for an hour has
-- ten check-hours).
CREATE FUNCTION reporting.group_availability(p_group text, p_from timestamptz, p_to timestamptz)
    RETURNS TABLE (category text, seconds double precision)
    LANGUAGE sql STABLE
    AS $$
    SELECT a.category, sum(a.seconds) FROM checks c, reporting.check_availability(c.id, p_from, p_to) a
    WHERE p_group = ANY (c.groups) GROUP BY a.category
$$;

GRANT EXECUTE ON FUNCTION reporting.check_availability(uuid, timestamptz, timestamptz),
    reporting.group_availability(text, timestamptz, timestamptz) TO bergamot_app, bergamot_reporting;

-- The 30-day view now reads the function: a check that has not changed
-- for 30 days has its current status for the whole window (it was NULL),
-- and the state before the first change counts. ok_percent is the share of
-- all time; the new columns say where the rest went.
CREATE OR REPLACE VIEW reporting.availability_30d WITH (security_invoker = true) AS
    WITH a AS (
        SELECT c.id, av.category, av.seconds
        FROM checks c, reporting.check_availability(c.id, now() - interval '30 days', now()) av
    )
    SELECT c.id AS check_id, c.kind, c.name, COALESCE(p.name, '') AS host,
           round((100.0 * COALESCE(sum(a.seconds) FILTER (WHERE a.category = 'OK'), 0) / NULLIF(sum(a.seconds), 0))::numeric, 3) AS ok_percent,
           round((100.0 * COALESCE(sum(a.seconds) FILTER (WHERE a.category = 'DOWNTIME'), 0) / NULLIF(sum(a.seconds), 0))::numeric, 3) AS downtime_percent,
           round((100.0 * COALESCE(sum(a.seconds) FILTER (WHERE a.category = 'BLIND'), 0) / NULLIF(sum(a.seconds), 0))::numeric, 3) AS blind_percent,
           round((100.0 * COALESCE(sum(a.seconds) FILTER (WHERE a.category = 'PENDING'), 0) / NULLIF(sum(a.seconds), 0))::numeric, 3) AS pending_percent
    FROM checks c LEFT JOIN checks p ON p.id = c.parent_id LEFT JOIN a ON a.id = c.id
    GROUP BY c.id, c.kind, c.name, p.name;
