-- Security domains enforced (issue 22, item 5; docs/security-domains.md).
--
-- A check belongs to the security domains its configuration names
-- (checks.settings -> SecurityDomains, kept here as a column). A signed-in
-- member who is not an administrator reads only the checks in no domain
-- and those in a domain their contact (matched by email) may read; the
-- same holds for every table of a check's rows (state, history, alerts,
-- comments, downtimes, metrics, notifications, ...). The rule is row-level
-- security, one policy per table, restrictive (so it narrows the site
-- isolation, never widens it), reading one per-transaction setting:
--
--   bergamot.domains = '*'        every check of the site (system paths,
--                                 administrators, configuration apply)
--                    = '{a,b}'    checks in no domain or in a or b
--                    unset or ''  checks in no domain only
--
-- tenants.InSite sets it with the site (tenants/domains.go); nothing else
-- does. An unset setting thus fails closed.

-- A JSON array of strings as text[] ('{}' for null or not an array).
CREATE FUNCTION bergamot_text_array(j jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN jsonb_typeof(j) = 'array'
                      THEN ARRAY(SELECT jsonb_array_elements_text(j)) ELSE '{}'::text[] END $$;

ALTER TABLE checks ADD COLUMN security_domains text[] GENERATED ALWAYS AS
    (bergamot_text_array(settings -> 'SecurityDomains')) STORED;

-- May the transaction read a check in these domains?
CREATE FUNCTION bergamot_domains_readable(domains text[]) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT CASE COALESCE(current_setting('bergamot.domains', true), '')
                      WHEN '*' THEN true
                      WHEN '' THEN cardinality(domains) = 0
                      ELSE cardinality(domains) = 0 OR domains && current_setting('bergamot.domains', true)::text[] END $$;

-- May the transaction read the check with this id (NULL: a row of no
-- check)? The lookup goes through checks' own policies.
CREATE FUNCTION bergamot_check_readable(id uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT COALESCE(current_setting('bergamot.domains', true), '') = '*' OR id IS NULL
                 OR EXISTS (SELECT 1 FROM checks c WHERE c.id = $1) $$;
GRANT EXECUTE ON FUNCTION bergamot_text_array(jsonb), bergamot_domains_readable(text[]), bergamot_check_readable(uuid)
    TO bergamot_app, bergamot_reporting;

-- What each contact may do per domain, computed at every configuration
-- apply from the teams and contacts (config.Model.ContactPermissions;
-- written by store/domains.go, the only writer). email is lower-cased: a
-- member is their site's contact(s) with their email address.
CREATE TABLE domain_grants (
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    contact     text NOT NULL,
    email       text NOT NULL,
    domain      text NOT NULL,
    permissions text[] NOT NULL,
    PRIMARY KEY (site_id, contact, domain)
);
CREATE INDEX domain_grants_email_idx ON domain_grants (site_id, email);
ALTER TABLE domain_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE domain_grants FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON domain_grants TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON domain_grants FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON domain_grants TO bergamot_app;
GRANT SELECT ON domain_grants TO bergamot_reporting;

-- The checks themselves, and every table of a check's rows (a site_id and
-- a check_id, under row-level security). tenants/domains_test.go
-- TestEveryCheckTableHasDomainPolicy fails for a table added later
-- without this policy. Partitions are left out: the application reaches
-- them only through their parent, whose policies apply.
CREATE POLICY domain_read ON checks AS RESTRICTIVE TO bergamot_app
    USING (bergamot_domains_readable(security_domains)) WITH CHECK (bergamot_domains_readable(security_domains));
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relispartition
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'site_id' AND NOT a.attisdropped)
               AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'check_id' AND NOT a.attisdropped)
    LOOP
        EXECUTE format('CREATE POLICY domain_read ON %I AS RESTRICTIVE TO bergamot_app USING (bergamot_check_readable(check_id)) WITH CHECK (bergamot_check_readable(check_id))', t);
    END LOOP;
END
$$;
