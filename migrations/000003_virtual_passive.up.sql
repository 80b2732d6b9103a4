-- Freshness of passive checks: when the freshness loop last reported a
-- silent passive check, and since when it has been silent. One row per
-- passive check that has gone stale at least once.
CREATE TABLE passive_freshness (
    check_id     uuid PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    silent_since timestamptz NOT NULL,
    fired_at     timestamptz NOT NULL
);

ALTER TABLE passive_freshness ENABLE ROW LEVEL SECURITY;
ALTER TABLE passive_freshness FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON passive_freshness TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON passive_freshness FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON passive_freshness TO bergamot_app;
GRANT SELECT ON passive_freshness TO bergamot_reporting;
