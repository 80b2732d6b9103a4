DROP POLICY IF EXISTS domain_read ON downtime_occurrences;
DROP POLICY IF EXISTS domain_read ON metric_export_queue;
DROP POLICY IF EXISTS domain_read ON status_components;
