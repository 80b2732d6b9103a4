-- agent_enrolments: one-time tokens a site administrator creates (GraphQL
-- createAgentEnrolment) that an agent exchanges, with a certificate
-- request, for its certificate (POST /agent/enrol): the private key never
-- leaves the host. Only a SHA-256 hash of each token is kept.
-- agent_certificates: the certificates issued for a site's agents through
-- Bergamot (enrolment, renewal), for the dashboard's expiry and revoke.
CREATE TABLE agent_enrolments (
    id         uuid PRIMARY KEY,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    host       text NOT NULL CHECK (host <> '' AND length(host) <= 200),
    template   boolean NOT NULL DEFAULT false,
    token_hash bytea NOT NULL UNIQUE,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX agent_enrolments_site_idx ON agent_enrolments (site_id, created_at);

CREATE TABLE agent_certificates (
    serial     text NOT NULL,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    agent_id   text NOT NULL,
    template   boolean NOT NULL DEFAULT false,
    not_after  timestamptz NOT NULL,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    PRIMARY KEY (site_id, serial)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['agent_enrolments', 'agent_certificates'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY site_isolation ON %I TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site())', t);
        EXECUTE format('CREATE POLICY reporting_isolation ON %I FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()))', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bergamot_app', t);
        EXECUTE format('GRANT SELECT ON %I TO bergamot_reporting', t);
    END LOOP;
END
$$;
