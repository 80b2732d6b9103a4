-- nodes: the serve and notifier processes of the installation, kept fresh
-- by a heartbeat like workers (jobs.NodePresence), so that Bergamot's
-- internal checks (engine "internal", executors "notifiers" and
-- "proxies") can count them. Operator data, not tenant data: no site_id.
-- capabilities lists what the node offers (a notifier's channels).
CREATE TABLE nodes (
    id           uuid PRIMARY KEY,
    role         text NOT NULL CHECK (role IN ('serve', 'notifier')),
    name         text NOT NULL,
    version      text NOT NULL DEFAULT '',
    capabilities text[] NOT NULL DEFAULT '{}',
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz
);
CREATE INDEX nodes_role_idx ON nodes (role, last_seen);
GRANT SELECT, INSERT, UPDATE, DELETE ON nodes TO bergamot_app;
