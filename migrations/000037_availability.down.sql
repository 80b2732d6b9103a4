DROP VIEW IF EXISTS reporting.availability_30d;
CREATE VIEW reporting.availability_30d WITH (security_invoker = true) AS
    WITH changes AS (
        SELECT h.check_id, h.at, h.ok,
               LEAD(h.at, 1, now()) OVER (PARTITION BY h.check_id ORDER BY h.at) AS until
        FROM state_history h WHERE h.at > now() - interval '30 days'
    )
    SELECT c.id AS check_id, c.kind, c.name, COALESCE(p.name, '') AS host,
           round(100.0 * COALESCE(sum(extract(epoch FROM ch.until - ch.at)) FILTER (WHERE ch.ok), 0)
                 / NULLIF(sum(extract(epoch FROM ch.until - ch.at)), 0), 3) AS ok_percent
    FROM checks c LEFT JOIN checks p ON p.id = c.parent_id LEFT JOIN changes ch ON ch.check_id = c.id
    GROUP BY c.id, c.kind, c.name, p.name;
GRANT SELECT ON reporting.availability_30d TO bergamot_reporting, bergamot_app;
DROP FUNCTION IF EXISTS reporting.group_availability(text, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS reporting.check_availability(uuid, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS bergamot_seconds(tstzmultirange);
DROP FUNCTION IF EXISTS bergamot_blind_after(uuid);
DROP TABLE IF EXISTS monitoring_gaps;
