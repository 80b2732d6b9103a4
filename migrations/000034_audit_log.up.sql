-- The audit log (tenants/audit.go): who did what, when and from where.
-- Append-only for the application: bergamot_app may SELECT and INSERT,
-- never UPDATE or DELETE. Old entries go only through audit_prune(), which
-- keeps each site's retention (sites.settings->>'audit_retention_days',
-- default 400 days) and runs as the schema owner.
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    site_id  uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now(),
    -- actor_id has no foreign key: removing a user keeps what they did.
    actor_id uuid,
    actor    text NOT NULL DEFAULT '',
    via      text NOT NULL DEFAULT '',
    address  text NOT NULL DEFAULT '',
    action   text NOT NULL CHECK (action <> ''),
    target   text NOT NULL DEFAULT '',
    outcome  text NOT NULL CHECK (outcome IN ('ok', 'failed', 'denied')),
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_site_idx ON audit_log (site_id, id DESC);
CREATE INDEX audit_log_at_idx ON audit_log (site_id, at);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON audit_log TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON audit_log FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT ON audit_log TO bergamot_app;
GRANT SELECT ON audit_log TO bergamot_reporting;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO bergamot_app;

-- Retention runs as the owner, which FORCE ROW LEVEL SECURITY also
-- confines: this policy lets the owner (the role that ran this migration)
-- reach every site's entries, for audit_prune() alone.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY retention ON audit_log TO %I USING (true)', current_user);
END
$$;

CREATE FUNCTION audit_prune() RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
    WITH gone AS (
        DELETE FROM audit_log a USING sites s
        WHERE a.site_id = s.id
          AND a.at < now() - make_interval(days => GREATEST(1, COALESCE((s.settings->>'audit_retention_days')::int, 400)))
        RETURNING 1)
    SELECT count(*) FROM gone $$;
REVOKE ALL ON FUNCTION audit_prune() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_prune() TO bergamot_app;
