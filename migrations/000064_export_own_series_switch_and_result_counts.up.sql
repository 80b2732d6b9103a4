-- Bergamot's own series (migration 000058), two additions
-- (docs/metrics-export.md, "Bergamot's own series"):
--
-- metric_exports.own_series: <metrics-export own-series="no"> sends the
-- target perfdata only.
--
-- result_counts: how many results the processor has applied for each
-- site, the counter bergamot_site_results_processed_total. It is split by
-- the processor's inbox lanes (jobs/results.go): a processor transaction
-- holds the lanes it counts in, so transactions of one site working in
-- parallel never wait on one row. The series is the sum over lanes.
ALTER TABLE metric_exports ADD COLUMN own_series boolean NOT NULL DEFAULT true;

CREATE TABLE result_counts (
    site_id   uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    lane      smallint NOT NULL,
    processed bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, lane)
);
ALTER TABLE result_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE result_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON result_counts TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
GRANT SELECT, INSERT, UPDATE, DELETE ON result_counts TO bergamot_app;
