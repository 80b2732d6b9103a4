DROP TABLE result_counts;
ALTER TABLE metric_exports DROP COLUMN own_series;
