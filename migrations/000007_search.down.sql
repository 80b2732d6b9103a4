DROP INDEX IF EXISTS checks_summary_trgm_idx;
DROP INDEX IF EXISTS checks_name_trgm_idx;
