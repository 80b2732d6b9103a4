DROP INDEX IF EXISTS checks_depends_on_idx;
ALTER TABLE checks DROP COLUMN IF EXISTS depends_on;
