-- Bergamot foundation schema.
--
-- Tenancy: every site-owned table has site_id, row-level security ENABLED and
-- FORCED, and one policy comparing site_id with the per-transaction setting
-- bergamot.site_id. The application role bergamot_app owns nothing and cannot
-- bypass RLS. A handful of system tables (sites, users, the scheduling
-- and result queues, workers) are not tenant data; see
-- tenants/rls_test.go for the list and the reason for each.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bergamot_app') THEN
        CREATE ROLE bergamot_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bergamot_reporting') THEN
        CREATE ROLE bergamot_reporting NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS reporting;

-- The current site of the transaction, or NULL when none was set.
CREATE FUNCTION bergamot_site() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('bergamot.site_id', true), '')::uuid $$;

------------------------------------------------------------------------------
-- System tables (not tenant data)
------------------------------------------------------------------------------

CREATE TABLE sites (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    aliases     text[] NOT NULL DEFAULT '{}',
    summary     text NOT NULL DEFAULT '',
    settings    jsonb NOT NULL DEFAULT '{}',
    disabled    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sites_aliases_idx ON sites USING gin (aliases);

-- Read-only SQL login roles for reporting, one site each (bergamot site sql-role).
CREATE TABLE sql_roles (
    role_name  text PRIMARY KEY,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The site a reporting login may read: fixed by its role, never by a setting it controls.
CREATE FUNCTION reporting_site() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT site_id FROM sql_roles WHERE role_name = session_user $$;

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

-- Scheduling: one row per active check. The scheduler claims due rows across
-- all sites with FOR UPDATE SKIP LOCKED, then reads each check's definition
-- inside a transaction scoped to its site.
CREATE TABLE check_schedule (
    check_id    uuid PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    next_run    timestamptz NOT NULL,
    interval_ms integer NOT NULL CHECK (interval_ms > 0),
    zone        text NOT NULL DEFAULT 'default',
    time_period text,
    paused      boolean NOT NULL DEFAULT false
);
CREATE INDEX check_schedule_due_idx ON check_schedule (next_run) WHERE NOT paused;

-- Results written by workers, processed in batches by serve nodes.
CREATE TABLE result_inbox (
    id          bigserial PRIMARY KEY,
    site_id     uuid NOT NULL,
    check_id    uuid NOT NULL,
    result      jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workers (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    zone        text NOT NULL,
    engines     text[] NOT NULL DEFAULT '{}',
    version     text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    stopped_at  timestamptz
);
CREATE INDEX workers_zone_idx ON workers (zone, last_seen);

------------------------------------------------------------------------------
-- Tenant tables
------------------------------------------------------------------------------

CREATE TABLE memberships (
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE api_tokens (
    id          uuid PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_used   timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX api_tokens_site_idx ON api_tokens (site_id, user_id);

CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_site_idx ON sessions (site_id, expires_at);

-- The configuration as written: one row per source object (templates
-- included), in canonical XML. Resolution builds the tables below from these.
CREATE TABLE config_objects (
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    name       text NOT NULL,
    template   boolean NOT NULL DEFAULT false,
    source     text NOT NULL,
    file       text NOT NULL DEFAULT '',
    line       integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, kind, name)
);

CREATE TABLE config_revisions (
    id         bigserial PRIMARY KEY,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    author     text NOT NULL,
    source     text NOT NULL DEFAULT '',
    summary    text NOT NULL DEFAULT '',
    added      integer NOT NULL DEFAULT 0,
    changed    integer NOT NULL DEFAULT 0,
    removed    integer NOT NULL DEFAULT 0,
    diff       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX config_revisions_site_idx ON config_revisions (site_id, id DESC);

-- Resolved, non-check objects of the monitoring model.
CREATE TABLE commands (
    id         uuid PRIMARY KEY,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name       text NOT NULL,
    summary    text NOT NULL DEFAULT '',
    engine     text NOT NULL,
    executor   text NOT NULL DEFAULT '',
    parameters jsonb NOT NULL DEFAULT '{}',
    script     text NOT NULL DEFAULT '',
    UNIQUE (site_id, name)
);

CREATE TABLE time_periods (
    id        uuid PRIMARY KEY,
    site_id   uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name      text NOT NULL,
    summary   text NOT NULL DEFAULT '',
    ranges    text[] NOT NULL DEFAULT '{}',
    excludes  text[] NOT NULL DEFAULT '{}',
    time_zone text NOT NULL DEFAULT 'UTC',
    UNIQUE (site_id, name)
);

CREATE TABLE teams (
    id       uuid PRIMARY KEY,
    site_id  uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name     text NOT NULL,
    summary  text NOT NULL DEFAULT '',
    parents  text[] NOT NULL DEFAULT '{}',
    spec     jsonb NOT NULL DEFAULT '{}',
    UNIQUE (site_id, name)
);

CREATE TABLE contacts (
    id       uuid PRIMARY KEY,
    site_id  uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name     text NOT NULL,
    summary  text NOT NULL DEFAULT '',
    email    text NOT NULL DEFAULT '',
    phone    text NOT NULL DEFAULT '',
    teams    text[] NOT NULL DEFAULT '{}',
    spec     jsonb NOT NULL DEFAULT '{}',
    UNIQUE (site_id, name)
);

CREATE TABLE groups (
    id       uuid PRIMARY KEY,
    site_id  uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name     text NOT NULL,
    summary  text NOT NULL DEFAULT '',
    parents  text[] NOT NULL DEFAULT '{}',
    UNIQUE (site_id, name)
);

CREATE TABLE locations (
    id       uuid PRIMARY KEY,
    site_id  uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name     text NOT NULL,
    summary  text NOT NULL DEFAULT '',
    parent   text,
    spec     jsonb NOT NULL DEFAULT '{}',
    UNIQUE (site_id, name)
);

-- Secrets are encrypted by the application (AES-GCM) before they reach here.
CREATE TABLE credentials (
    id        uuid PRIMARY KEY,
    site_id   uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name      text NOT NULL,
    summary   text NOT NULL DEFAULT '',
    sealed    bytea NOT NULL,
    UNIQUE (site_id, name)
);

-- Every monitored thing: hosts, services, traps, clusters, resources.
CREATE TABLE checks (
    id            uuid PRIMARY KEY,
    site_id       uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('host', 'service', 'trap', 'cluster', 'resource')),
    name          text NOT NULL,
    parent_id     uuid REFERENCES checks (id) ON DELETE CASCADE,
    summary       text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    enabled       boolean NOT NULL DEFAULT true,
    suppressed    boolean NOT NULL DEFAULT false,
    address       text NOT NULL DEFAULT '',
    groups        text[] NOT NULL DEFAULT '{}',
    location      text NOT NULL DEFAULT '',
    worker_pool   text NOT NULL DEFAULT '',
    resource_pool text NOT NULL DEFAULT '',
    agent_id      text NOT NULL DEFAULT '',
    external_ref  text NOT NULL DEFAULT '',
    engine        text NOT NULL DEFAULT '',
    executor      text NOT NULL DEFAULT '',
    command       text NOT NULL DEFAULT '',
    parameters    jsonb NOT NULL DEFAULT '{}',
    script        text NOT NULL DEFAULT '',
    condition     text NOT NULL DEFAULT '',
    settings      jsonb NOT NULL DEFAULT '{}',
    depends       text[] NOT NULL DEFAULT '{}',
    spec_hash     text NOT NULL DEFAULT '',
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX checks_name_idx ON checks (site_id, kind, COALESCE(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), name);
CREATE INDEX checks_parent_idx ON checks (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX checks_groups_idx ON checks USING gin (groups);
CREATE INDEX checks_site_kind_idx ON checks (site_id, kind, name);

CREATE TABLE check_state (
    check_id          uuid PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    site_id           uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    status            text NOT NULL DEFAULT 'PENDING',
    ok                boolean NOT NULL DEFAULT true,
    hard              boolean NOT NULL DEFAULT true,
    attempt           integer NOT NULL DEFAULT 0,
    output            text NOT NULL DEFAULT '',
    long_output       text NOT NULL DEFAULT '',
    perfdata          jsonb NOT NULL DEFAULT '[]',
    last_check        timestamptz,
    last_state_change timestamptz,
    last_hard_change  timestamptz,
    flapping          boolean NOT NULL DEFAULT false,
    flap_percent      real NOT NULL DEFAULT 0,
    acknowledged      boolean NOT NULL DEFAULT false,
    in_downtime       boolean NOT NULL DEFAULT false,
    suppressed        boolean NOT NULL DEFAULT false,
    encompassed       boolean NOT NULL DEFAULT false,
    machine           jsonb NOT NULL DEFAULT '{}',
    worker            text NOT NULL DEFAULT '',
    runtime_ms        real NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX check_state_problems_idx ON check_state (site_id, status) WHERE NOT ok;

CREATE TABLE state_history (
    id          bigserial PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    check_id    uuid NOT NULL,
    at          timestamptz NOT NULL,
    status      text NOT NULL,
    previous    text NOT NULL,
    ok          boolean NOT NULL,
    hard        boolean NOT NULL,
    attempt     integer NOT NULL,
    output      text NOT NULL DEFAULT ''
);
CREATE INDEX state_history_check_idx ON state_history (site_id, check_id, at DESC);

CREATE TABLE alerts (
    id               uuid PRIMARY KEY,
    site_id          uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    check_id         uuid NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    status           text NOT NULL,
    output           text NOT NULL DEFAULT '',
    opened_at        timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    recovered_at     timestamptz,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    escalation_level integer NOT NULL DEFAULT 0,
    last_notified    timestamptz
);
CREATE INDEX alerts_open_idx ON alerts (site_id, opened_at DESC) WHERE recovered_at IS NULL;
CREATE UNIQUE INDEX alerts_one_open_idx ON alerts (check_id) WHERE recovered_at IS NULL;
CREATE INDEX alerts_check_idx ON alerts (site_id, check_id, opened_at DESC);

CREATE TABLE comments (
    id         uuid PRIMARY KEY,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    check_id   uuid NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    alert_id   uuid REFERENCES alerts (id) ON DELETE CASCADE,
    author     text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_check_idx ON comments (site_id, check_id, created_at DESC);

CREATE TABLE downtimes (
    id           uuid PRIMARY KEY,
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    check_id     uuid NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at),
    flexible     boolean NOT NULL DEFAULT false,
    duration_s   integer,
    comment      text NOT NULL,
    author       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz
);
CREATE INDEX downtimes_active_idx ON downtimes (site_id, check_id, ends_at) WHERE cancelled_at IS NULL;

-- Performance data series, partitioned by day.
CREATE TABLE metrics (
    site_id  uuid NOT NULL,
    check_id uuid NOT NULL,
    label    text NOT NULL,
    at       timestamptz NOT NULL,
    value    double precision NOT NULL,
    uom      text NOT NULL DEFAULT ''
) PARTITION BY RANGE (at);
CREATE INDEX metrics_series_idx ON metrics (site_id, check_id, label, at);
CREATE TABLE metrics_default PARTITION OF metrics DEFAULT;

CREATE TABLE notification_log (
    id          bigserial PRIMARY KEY,
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    check_id    uuid,
    alert_id    uuid,
    kind        text NOT NULL,
    recipient   text NOT NULL,
    channel     text NOT NULL,
    idempotency text NOT NULL,
    attempt     integer NOT NULL DEFAULT 1,
    result      text NOT NULL,
    error       text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_log_site_idx ON notification_log (site_id, at DESC);

------------------------------------------------------------------------------
-- Row-level security for every tenant table, and grants.
------------------------------------------------------------------------------
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'site_id' AND NOT a.attisdropped
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND c.relname NOT IN ('check_schedule', 'result_inbox')
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY site_isolation ON %I TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site())', t);
        EXECUTE format('CREATE POLICY reporting_isolation ON %I FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()))', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bergamot_app', t);
        EXECUTE format('GRANT SELECT ON %I TO bergamot_reporting', t);
    END LOOP;
END
$$;
-- The default metrics partition is reached only through its parent.
ALTER TABLE metrics_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics_default FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON metrics_default TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());

GRANT SELECT, INSERT, UPDATE, DELETE ON sites, users, check_schedule, result_inbox, workers TO bergamot_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO bergamot_app;
GRANT USAGE ON SCHEMA reporting TO bergamot_reporting, bergamot_app;
GRANT EXECUTE ON FUNCTION bergamot_site() TO bergamot_app, bergamot_reporting;
GRANT EXECUTE ON FUNCTION reporting_site() TO bergamot_reporting;
