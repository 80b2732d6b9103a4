-- Fair limits per site (issue 19, items 4 and 9).
--
-- site_limits: the operator's per-site overrides of the installation's
-- defaults (tenants.SiteLimitDefs; `bergamot site limits`). Not tenant
-- data: the operator sets it, the scheduler and the API read it across
-- sites, and no site can write it (so no row-level security: the
-- application only reads it, the operator command writes it).
CREATE TABLE site_limits (
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name       text NOT NULL,
    value      bigint NOT NULL CHECK (value >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, name)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON site_limits TO bergamot_app;

-- The scheduler counts each site's checks in flight (queued or running)
-- every pass, to hold a site at its checks-in-flight limit.
CREATE INDEX check_schedule_in_flight_idx ON check_schedule (site_id) WHERE in_flight_until IS NOT NULL;

-- Failed sign-in (and sign-up, reset request) counters shared by every API
-- node: one row per throttling key and window, counted atomically, so N
-- nodes do not give N times the budget and a restart does not clear it.
-- Keys hold an address or a site and email (not secrets); rows past their
-- window are deleted by the next attempt and by the sweeper.
CREATE TABLE login_throttle (
    key        text PRIMARY KEY,
    n          integer NOT NULL,
    window_end timestamptz NOT NULL
);
CREATE INDEX login_throttle_end_idx ON login_throttle (window_end);
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO bergamot_app;
