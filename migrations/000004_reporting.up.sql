-- SQL reporting: views in the reporting schema answer the common questions
-- with one SELECT. They are security_invoker, so row-level security of the
-- querying role applies: a site's reporting login (bergamot site sql-role)
-- sees its own site only.

CREATE VIEW reporting.checks WITH (security_invoker = true) AS
    SELECT c.id, c.kind, c.name, COALESCE(p.name, '') AS host, c.summary, c.groups, c.location,
           s.status, s.hard, s.output, s.last_check, s.last_state_change, s.acknowledged, s.in_downtime
    FROM checks c JOIN check_state s ON s.check_id = c.id LEFT JOIN checks p ON p.id = c.parent_id;

-- Availability over the last 30 days: the share of time each check spent OK,
-- from its state-change history.
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

CREATE VIEW reporting.alert_history WITH (security_invoker = true) AS
    SELECT a.id, a.check_id, c.kind, c.name, COALESCE(p.name, '') AS host, a.status, a.output,
           a.opened_at, a.recovered_at, a.acknowledged_at, a.acknowledged_by,
           COALESCE(a.recovered_at, now()) - a.opened_at AS duration
    FROM alerts a JOIN checks c ON c.id = a.check_id LEFT JOIN checks p ON p.id = c.parent_id;

-- Mean time to acknowledge and to recover, per check, over recovered alerts.
CREATE VIEW reporting.mttr WITH (security_invoker = true) AS
    SELECT a.check_id, c.name, COALESCE(p.name, '') AS host, count(*) AS alerts,
           avg(a.recovered_at - a.opened_at) AS mean_time_to_recover,
           avg(a.acknowledged_at - a.opened_at) FILTER (WHERE a.acknowledged_at IS NOT NULL) AS mean_time_to_acknowledge
    FROM alerts a JOIN checks c ON c.id = a.check_id LEFT JOIN checks p ON p.id = c.parent_id
    WHERE a.recovered_at IS NOT NULL GROUP BY a.check_id, c.name, p.name;

CREATE VIEW reporting.metrics WITH (security_invoker = true) AS
    SELECT m.check_id, c.name, COALESCE(p.name, '') AS host, m.label, m.at, m.value, m.uom
    FROM metrics m JOIN checks c ON c.id = m.check_id LEFT JOIN checks p ON p.id = c.parent_id;

GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO bergamot_reporting, bergamot_app;
