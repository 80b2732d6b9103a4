-- ssh_host_keys: the SSH host keys a site's ssh/sftp checks have trusted on
-- first use (store/hostkeys.go, checks/ssh). One key per site and
-- "host:port"; a server that later presents another key makes its checks
-- CRITICAL until the recorded key is forgotten.
CREATE TABLE ssh_host_keys (
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    host        text NOT NULL CHECK (host <> ''),
    key_type    text NOT NULL,
    key         bytea NOT NULL,
    fingerprint text NOT NULL,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, host)
);

ALTER TABLE ssh_host_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE ssh_host_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON ssh_host_keys TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON ssh_host_keys FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON ssh_host_keys TO bergamot_app;
GRANT SELECT ON ssh_host_keys TO bergamot_reporting;
