-- Metrics export (docs/metrics-export.md): a site's <metrics-export>
-- targets and the outbox that feeds them.
--
-- metric_exports: one row per <metrics-export> of a site's configuration,
-- kept by name across applies (store/export.go ApplyExports) so that its
-- queue and its delivery status survive a re-apply. The credential is a
-- name: the secret stays sealed in credentials and is opened only by the
-- shipper, for the request.
--
-- metric_export_queue: the outbox. The result processor (store/results.go)
-- adds one row per perfdata point per enabled target of the point's site,
-- in the transaction that writes the point itself; the shipper
-- (jobs/export.go) sends rows in id order and deletes what the receiver
-- accepted. It holds at most buffer_points rows per target: the shipper
-- deletes the oldest beyond that and counts them in dropped.
CREATE TABLE metric_exports (
    id              uuid PRIMARY KEY,
    site_id         uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name            text NOT NULL,
    protocol        text NOT NULL CHECK (protocol IN ('prometheus-remote-write', 'otlp')),
    url             text NOT NULL,
    auth            text NOT NULL DEFAULT 'none' CHECK (auth IN ('none', 'bearer', 'basic')),
    credential      text NOT NULL DEFAULT '',
    batch_points    integer NOT NULL CHECK (batch_points > 0),
    buffer_points   integer NOT NULL CHECK (buffer_points > 0),
    enabled         boolean NOT NULL DEFAULT true,
    -- delivery status, written by the shipper only
    sent            bigint NOT NULL DEFAULT 0,
    dropped         bigint NOT NULL DEFAULT 0,
    failures        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_success_at timestamptz,
    last_error      text NOT NULL DEFAULT '',
    last_error_at   timestamptz,
    UNIQUE (site_id, name)
);

CREATE TABLE metric_export_queue (
    id        bigserial PRIMARY KEY,
    site_id   uuid NOT NULL,
    export_id uuid NOT NULL REFERENCES metric_exports (id) ON DELETE CASCADE,
    check_id  uuid NOT NULL,
    label     text NOT NULL,
    at        timestamptz NOT NULL,
    value     double precision NOT NULL,
    uom       text NOT NULL DEFAULT ''
);
CREATE INDEX metric_export_queue_export_idx ON metric_export_queue (export_id, id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['metric_exports', 'metric_export_queue'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY site_isolation ON %I TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO bergamot_app', t);
    END LOOP;
END
$$;
GRANT USAGE ON SEQUENCE metric_export_queue_id_seq TO bergamot_app;

-- bergamot_metric_export_sites lists the sites with an enabled export
-- target, so that the shipper need not open every site's transaction to
-- find work. It reveals site ids only, which the shipper already may list.
CREATE FUNCTION bergamot_metric_export_sites() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT DISTINCT e.site_id FROM metric_exports e JOIN sites s ON s.id = e.site_id
          WHERE e.enabled AND NOT s.disabled $$;
REVOKE ALL ON FUNCTION bergamot_metric_export_sites() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bergamot_metric_export_sites() TO bergamot_app;
