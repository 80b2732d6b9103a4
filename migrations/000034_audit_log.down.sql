DROP FUNCTION audit_prune();
DROP TABLE audit_log;
