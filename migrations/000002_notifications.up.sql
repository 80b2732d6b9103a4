-- Notification pipeline (notifiers/dispatch).
--
-- notification_deliveries: one row per notification per recipient per
-- channel, keyed by its idempotency key; the primary key makes a second
-- enqueue of the same delivery a no-op. notification_log (000001) keeps
-- every attempt; its partial unique index below guarantees at most one
-- 'sent' row per key. ack_tokens_used makes acknowledgement links single-use.

ALTER TABLE alerts ADD COLUMN ack_notified_at timestamptz;
CREATE INDEX alerts_ack_pending_idx ON alerts (site_id) WHERE recovered_at IS NULL AND acknowledged_at IS NOT NULL AND ack_notified_at IS NULL;

CREATE UNIQUE INDEX notification_log_sent_idx ON notification_log (site_id, idempotency) WHERE result = 'sent';
CREATE INDEX notification_log_alert_idx ON notification_log (site_id, alert_id, at DESC);

CREATE TABLE notification_deliveries (
    site_id     uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    idempotency text NOT NULL,
    check_id    uuid,
    alert_id    uuid,
    kind        text NOT NULL,
    recipient   text NOT NULL,
    channel     text NOT NULL,
    payload     jsonb NOT NULL,
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'batched', 'digesting', 'digested')),
    digest_job  bigint,
    decided_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz,
    PRIMARY KEY (site_id, idempotency)
);
CREATE INDEX notification_deliveries_rate_idx ON notification_deliveries (site_id, recipient, channel, decided_at)
    WHERE state IN ('sending', 'sent');
CREATE INDEX notification_deliveries_batched_idx ON notification_deliveries (site_id, recipient, channel, created_at)
    WHERE state IN ('batched', 'digesting');

-- Rate limit: deliveries decided per recipient, channel and fixed window.
CREATE TABLE notification_rates (
    site_id   uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    recipient text NOT NULL,
    channel   text NOT NULL,
    bucket    bigint NOT NULL,
    decided   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, recipient, channel, bucket)
);

CREATE TABLE ack_tokens_used (
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL,
    alert_id   uuid NOT NULL,
    used_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, token_hash)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['notification_deliveries', 'notification_rates', 'ack_tokens_used']
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
