-- Substring search on check names and summaries (the dashboard's search box)
-- without scanning every check: trigram indexes (pg_trgm is a trusted
-- extension, so the database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX checks_name_trgm_idx ON checks USING gin (name gin_trgm_ops);
CREATE INDEX checks_summary_trgm_idx ON checks USING gin (summary gin_trgm_ops);
