-- Remote workers (bergamot worker --hub) and zones that belong to someone.
--
-- Operator (shared) zones are named by the operator (bergamot zone create
-- --shared); 'default' is one. Any other worker-pool a site names is that
-- site's private zone, with its own River queue, served only by remote
-- workers holding one of the site's keys.
CREATE TABLE shared_zones (
    name       text PRIMARY KEY CHECK (name <> '' AND length(name) <= 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO shared_zones (name) VALUES ('default');

-- Keys for remote workers of shared zones: the operator's, created only on
-- the command line. Only a SHA-256 hash of each key is kept.
CREATE TABLE shared_zone_keys (
    id         uuid PRIMARY KEY,
    zone       text NOT NULL REFERENCES shared_zones (name) ON DELETE CASCADE,
    name       text NOT NULL,
    key_hash   bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz,
    revoked_at timestamptz
);

-- A site's keys for its private zones (tenant data).
CREATE TABLE worker_keys (
    id         uuid PRIMARY KEY,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    zone       text NOT NULL CHECK (zone <> '' AND length(zone) <= 100),
    name       text NOT NULL CHECK (name <> '' AND length(name) <= 100),
    key_hash   bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz,
    revoked_at timestamptz
);
CREATE INDEX worker_keys_site_idx ON worker_keys (site_id, zone);

-- Remote workers connected to a serve node's gateway for a site's private
-- zone (tenant data); those of shared zones are listed in workers, like
-- direct workers. A row is kept fresh while the connection lives.
CREATE TABLE worker_connections (
    id           uuid PRIMARY KEY,
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    key_id       uuid NOT NULL REFERENCES worker_keys (id) ON DELETE CASCADE,
    zone         text NOT NULL,
    name         text NOT NULL,
    version      text NOT NULL DEFAULT '',
    engines      text[] NOT NULL DEFAULT '{}',
    node         text NOT NULL DEFAULT '',
    connected_at timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    closed_at    timestamptz
);
CREATE INDEX worker_connections_zone_idx ON worker_connections (site_id, zone, last_seen);

ALTER TABLE workers ADD COLUMN remote boolean NOT NULL DEFAULT false;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['worker_keys', 'worker_connections'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY site_isolation ON %I TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site())', t);
        EXECUTE format('CREATE POLICY reporting_isolation ON %I FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()))', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bergamot_app', t);
        EXECUTE format('GRANT SELECT ON %I TO bergamot_reporting', t);
    END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON shared_zones, shared_zone_keys TO bergamot_app;
