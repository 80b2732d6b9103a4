DROP POLICY IF EXISTS worker_isolation ON worker_connections;
DROP POLICY IF EXISTS worker_isolation ON ssh_host_keys;
DROP POLICY IF EXISTS worker_isolation ON credentials;
DROP POLICY IF EXISTS worker_isolation ON checks;
-- River's tables were granted by migrate.go; the role itself stays (roles
-- are cluster-wide and other databases may use it): revoke what this
-- database granted.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM bergamot_worker;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM bergamot_worker;
REVOKE EXECUTE ON FUNCTION bergamot_site() FROM bergamot_worker;
