DROP VIEW IF EXISTS reporting.metrics, reporting.mttr, reporting.alert_history, reporting.availability_30d, reporting.checks;
