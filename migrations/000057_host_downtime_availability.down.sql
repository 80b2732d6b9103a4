-- reporting.check_availability as 000045 made it (only the check's own downtimes count).
CREATE OR REPLACE FUNCTION reporting.check_availability(p_check uuid, p_from timestamptz, p_to timestamptz)
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
        UNION ALL
        -- Recurring: the occurrences that ended, and the one going on.
        SELECT from_at, to_at FROM downtime_occurrences WHERE check_id = p_check AND to_at > p_from AND from_at < p_to
        UNION ALL
        SELECT started_at, LEAST(ends_at, COALESCE(cancelled_at, 'infinity'))
            FROM downtimes WHERE check_id = p_check AND time_period IS NOT NULL AND started_at IS NOT NULL
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
