DROP FUNCTION IF EXISTS bergamot_metric_export_sites();
DROP TABLE IF EXISTS metric_export_queue;
DROP TABLE IF EXISTS metric_exports;
