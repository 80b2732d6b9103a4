-- slas: the <sla> elements of a site's configuration (config/sla.go),
-- replaced whole on every apply (store/config.go writeSupport). One row
-- per agreement on a check (check_id) or on a group (group_name).
-- Evaluated by store/sla.go over reporting.check_availability.
CREATE TABLE slas (
    id         uuid PRIMARY KEY,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name       text NOT NULL,
    check_id   uuid REFERENCES checks (id) ON DELETE CASCADE,
    group_name text,
    target     double precision NOT NULL CHECK (target > 0 AND target <= 100),
    period     text NOT NULL CHECK (period IN ('7d', '30d', '90d', 'month', 'quarter')),
    downtime   text NOT NULL CHECK (downtime IN ('excluded', 'up', 'down')),
    blind      text NOT NULL CHECK (blind IN ('excluded', 'down')),
    time_zone  text NOT NULL DEFAULT 'UTC',
    CHECK ((check_id IS NULL) <> (group_name IS NULL))
);
CREATE INDEX slas_site_idx ON slas (site_id, name);

ALTER TABLE slas ENABLE ROW LEVEL SECURITY;
ALTER TABLE slas FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON slas TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON slas FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON slas TO bergamot_app;
GRANT SELECT ON slas TO bergamot_reporting;

-- reporting.slas: each agreement with what it covers.
CREATE VIEW reporting.slas WITH (security_invoker = true) AS
    SELECT s.id, s.name, s.target, s.period, s.downtime, s.blind, s.time_zone,
           CASE WHEN s.check_id IS NULL THEN 'group' ELSE c.kind END AS subject_kind,
           COALESCE(s.group_name, CASE WHEN p.name IS NULL THEN c.name ELSE p.name || '/' || c.name END) AS subject
    FROM slas s LEFT JOIN checks c ON c.id = s.check_id LEFT JOIN checks p ON p.id = c.parent_id;
GRANT SELECT ON reporting.slas TO bergamot_reporting, bergamot_app;
