-- Results the processor could not store. When a batch of results fails
-- (PostgreSQL refuses something in it), the processor splits the batch
-- until it finds the row that fails on its own, moves that row here with
-- the database's reason, gives its check an ERROR result saying so, and
-- goes on with everything else: one bad result no longer holds every
-- site's results hostage (issue 19). The intake normaliser
-- (checks.Limits) should leave nothing for this table; a row here is a
-- bug to report.
CREATE TABLE result_quarantine (
    id             bigserial PRIMARY KEY,
    site_id        uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    check_id       uuid NOT NULL,
    result         text NOT NULL,          -- the inbox row's JSON (its first 64 KiB)
    error          text NOT NULL,          -- why PostgreSQL refused it
    received_at    timestamptz NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX result_quarantine_site_idx ON result_quarantine (site_id, quarantined_at);
ALTER TABLE result_quarantine ENABLE ROW LEVEL SECURITY;
ALTER TABLE result_quarantine FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON result_quarantine TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON result_quarantine FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON result_quarantine TO bergamot_app;
GRANT SELECT ON result_quarantine TO bergamot_reporting;
GRANT USAGE ON SEQUENCE result_quarantine_id_seq TO bergamot_app;
