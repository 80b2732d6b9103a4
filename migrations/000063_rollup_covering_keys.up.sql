-- A chart reads a series' rollups by (site_id, check_id, label, at) and
-- needs uom, min, max, sum and count of each. The rollup jobs write one
-- bucket of every check at a time, so one series' 720 hourly rows of a
-- 30-day chart sit on 720 different heap pages: a cold chart read 720
-- pages (about 6 MB) for 720 rows. The primary keys of the rollup tables
-- now carry those columns (INCLUDE), so the chart is an index-only scan:
-- the series' rows sit together in a few index leaf pages
-- (docs/data-retention.md, "Scale"). ON CONFLICT (site_id, check_id,
-- label, at) is unchanged. On a large installation this rebuilds the
-- rollup indexes once, during the upgrade.
ALTER TABLE metrics_5m DROP CONSTRAINT metrics_5m_pkey;
ALTER TABLE metrics_5m ADD CONSTRAINT metrics_5m_pkey PRIMARY KEY (site_id, check_id, label, at) INCLUDE (uom, min, max, sum, count);
ALTER TABLE metrics_1h DROP CONSTRAINT metrics_1h_pkey;
ALTER TABLE metrics_1h ADD CONSTRAINT metrics_1h_pkey PRIMARY KEY (site_id, check_id, label, at) INCLUDE (uom, min, max, sum, count);
