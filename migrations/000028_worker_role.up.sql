-- bergamot_worker: what a direct worker (bergamot worker with DATABASE_URL,
-- the operator's fleet) needs and nothing else. Its connections switch to
-- it (tenants.WorkerRole), so the operator can give workers a login of
-- their own that holds only this role:
--
--   CREATE ROLE dc2_worker LOGIN PASSWORD '...' IN ROLE bergamot_worker;
--
-- It may use River's tables (granted after River's own migrations, in
-- migrations/migrate.go), record its presence, claim its zone as a shared
-- one, hand results back (insert into result_inbox, never read it), and,
-- under row-level security for the site its job names, read the definitions
-- of checks, the sealed credentials they use and the SSH host keys they
-- trust, and count the live workers of a zone (the internal engine). It
-- cannot read users, sessions, API tokens, worker keys, check
-- state, history, notifications or anything else of any site.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bergamot_worker') THEN
        CREATE ROLE bergamot_worker NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

GRANT EXECUTE ON FUNCTION bergamot_site() TO bergamot_worker;
GRANT SELECT ON schema_migrations TO bergamot_worker;
GRANT SELECT, INSERT, UPDATE ON workers TO bergamot_worker;
GRANT SELECT, INSERT ON shared_zones TO bergamot_worker;
GRANT INSERT ON result_inbox TO bergamot_worker;
GRANT USAGE ON SEQUENCE result_inbox_id_seq TO bergamot_worker;
-- SNMP trap ingest (bergamot worker --traps) lists the live sites.
GRANT SELECT (id, disabled) ON sites TO bergamot_worker;

GRANT SELECT ON checks, credentials TO bergamot_worker;
GRANT SELECT, INSERT, DELETE ON ssh_host_keys TO bergamot_worker;
CREATE POLICY worker_isolation ON checks FOR SELECT TO bergamot_worker USING (site_id = bergamot_site());
CREATE POLICY worker_isolation ON credentials FOR SELECT TO bergamot_worker USING (site_id = bergamot_site());
CREATE POLICY worker_isolation ON ssh_host_keys TO bergamot_worker USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());

-- The internal engine (checks/self, stock bergamot-internal-workers) counts
-- the live workers of its check's zone: the site's remote ones here, the
-- operator's in workers. (Its count of serve and notifier nodes reads the
-- nodes table, granted after migrations in migrate.go, as that table comes
-- later.)
GRANT SELECT ON worker_connections TO bergamot_worker;
CREATE POLICY worker_isolation ON worker_connections FOR SELECT TO bergamot_worker USING (site_id = bergamot_site());
