-- Public status pages (docs/status-pages.md; store/statuspages.go owns these
-- tables, statuspage/ serves them without sign-in).
--
-- status_pages: one public page of a site, at /status/<site>/<slug> and,
--   when domain is set, at the root of that host name (matched on Host).
-- status_components: what the page shows, in position order: the name the
--   editor chose for one check or one group (never the check's own name or
--   output). A component goes with its check (ON DELETE CASCADE).
-- status_incidents: incidents and maintenance notices written by editors;
--   state is the state of the latest update.
-- status_incident_updates: the timestamped updates of an incident.
CREATE TABLE status_pages (
    id          uuid PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    slug        text NOT NULL CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    title       text NOT NULL CHECK (title <> ''),
    description text NOT NULL DEFAULT '',
    domain      text CHECK (domain = lower(domain) AND domain <> ''),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, slug)
);
-- A host name serves one page of one site.
CREATE UNIQUE INDEX status_pages_domain_idx ON status_pages (domain) WHERE domain IS NOT NULL;

CREATE TABLE status_components (
    id          uuid PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    page_id     uuid NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    position    integer NOT NULL DEFAULT 0,
    check_id    uuid REFERENCES checks (id) ON DELETE CASCADE,
    group_name  text,
    CHECK ((check_id IS NULL) <> (group_name IS NULL))
);
CREATE INDEX status_components_page_idx ON status_components (site_id, page_id, position);

CREATE TABLE status_incidents (
    id             uuid PRIMARY KEY,
    site_id        uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    page_id        uuid NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    title          text NOT NULL CHECK (title <> ''),
    impact         text NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical')),
    state          text NOT NULL CHECK (state IN ('investigating', 'identified', 'monitoring', 'resolved', 'scheduled', 'in_progress', 'completed')),
    components     uuid[] NOT NULL DEFAULT '{}',
    scheduled_from timestamptz,
    scheduled_to   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    CHECK (scheduled_to IS NULL OR scheduled_from IS NULL OR scheduled_to > scheduled_from)
);
CREATE INDEX status_incidents_page_idx ON status_incidents (site_id, page_id, created_at DESC);

CREATE TABLE status_incident_updates (
    id          uuid PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    incident_id uuid NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    state       text NOT NULL,
    body        text NOT NULL,
    author      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX status_incident_updates_idx ON status_incident_updates (site_id, incident_id, at);

ALTER TABLE status_pages ENABLE ROW LEVEL SECURITY;
ALTER TABLE status_pages FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON status_pages TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON status_pages FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
ALTER TABLE status_components ENABLE ROW LEVEL SECURITY;
ALTER TABLE status_components FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON status_components TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON status_components FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
ALTER TABLE status_incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE status_incidents FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON status_incidents TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON status_incidents FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
ALTER TABLE status_incident_updates ENABLE ROW LEVEL SECURITY;
ALTER TABLE status_incident_updates FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON status_incident_updates TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON status_incident_updates FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON status_pages, status_components, status_incidents, status_incident_updates TO bergamot_app;
GRANT SELECT ON status_pages, status_components, status_incidents, status_incident_updates TO bergamot_reporting;

-- status_page_by_domain runs as the owner, which FORCE ROW LEVEL SECURITY
-- also confines: this policy lets the owner (the role that ran this
-- migration) read every site's pages, for that function alone.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY domain_lookup ON status_pages FOR SELECT TO %I USING (true)', current_user);
END
$$;

-- status_page_by_domain: which site and page a host name serves. The
-- public handler reads it before it knows the site, so it looks across
-- sites and answers only these two values.
CREATE FUNCTION status_page_by_domain(p_domain text) RETURNS TABLE (site_id uuid, slug text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT p.site_id, p.slug FROM status_pages p JOIN sites s ON s.id = p.site_id
          WHERE p.domain = lower(p_domain) AND NOT s.disabled $$;
REVOKE ALL ON FUNCTION status_page_by_domain(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION status_page_by_domain(text) TO bergamot_app;
