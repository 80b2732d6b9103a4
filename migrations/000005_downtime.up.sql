-- Downtimes: flexible and recurring (store/downtime.go, jobs/downtime.go).
--
-- downtimes.time_period: a recurring downtime is in effect whenever this
--   time period (time_periods.name) contains now, between starts_at and
--   ends_at (its validity; 'until further notice' is year 9999).
-- downtimes.started_at: when the downtime actually began. Flexible: the
--   first problem of the check inside [starts_at, ends_at]; it then lasts
--   duration_s, even past ends_at. Recurring: the start of the current
--   occurrence, set and cleared by the downtime sweep. NULL: not begun.
-- downtime_outbox: downtime starts/ends made by API calls (store), whose
--   events the sweep hands to the event sinks (notifications) exactly once.
ALTER TABLE downtimes ADD COLUMN time_period text;
ALTER TABLE downtimes ADD COLUMN started_at timestamptz;
ALTER TABLE downtimes ADD CONSTRAINT downtimes_flexible_duration CHECK (NOT flexible OR duration_s > 0);
CREATE INDEX downtimes_open_idx ON downtimes (site_id) WHERE cancelled_at IS NULL AND (flexible OR time_period IS NOT NULL);

-- downtime_in_effect: whether downtime d covers its check (and, for a
-- host, the host's services) at instant at.
CREATE FUNCTION downtime_in_effect(d downtimes, at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT d.cancelled_at IS NULL AND CASE
        WHEN d.time_period IS NOT NULL THEN d.started_at IS NOT NULL AND at >= d.starts_at AND at < d.ends_at
        WHEN d.flexible THEN d.started_at IS NOT NULL AND at >= d.started_at
            AND at < d.started_at + make_interval(secs => d.duration_s)
        ELSE at >= d.starts_at AND at < d.ends_at
    END
$$;

-- downtime_flex_pending: a flexible downtime waiting for a problem of its
-- check at instant at.
CREATE FUNCTION downtime_flex_pending(d downtimes, at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT d.flexible AND d.cancelled_at IS NULL AND d.started_at IS NULL AND at >= d.starts_at AND at <= d.ends_at
$$;

CREATE TABLE downtime_outbox (
    id       bigserial PRIMARY KEY,
    site_id  uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    check_id uuid NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    started  boolean NOT NULL,
    at       timestamptz NOT NULL,
    previous jsonb NOT NULL,
    state    jsonb NOT NULL
);

ALTER TABLE downtime_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE downtime_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON downtime_outbox TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
CREATE POLICY reporting_isolation ON downtime_outbox FOR SELECT TO bergamot_reporting USING (site_id = (SELECT reporting_site()));
GRANT SELECT, INSERT, UPDATE, DELETE ON downtime_outbox TO bergamot_app;
GRANT SELECT ON downtime_outbox TO bergamot_reporting;
GRANT USAGE ON SEQUENCE downtime_outbox_id_seq TO bergamot_app;
