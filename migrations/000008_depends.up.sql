-- <depends> resolved to check ids at apply time (store/config.go). An array
-- on the check, not a join table: the result processor reads a check's
-- dependencies with the check's own row (one indexed lookup per batch, no
-- extra RLS table), and apply rewrites only the rows whose list changed.
-- The text[] column `depends` keeps the entries as written.
ALTER TABLE checks ADD COLUMN depends_on uuid[] NOT NULL DEFAULT '{}';
-- "Which checks depend on X" (dashboard, impact views) without a scan.
CREATE INDEX checks_depends_on_idx ON checks USING gin (depends_on) WHERE depends_on <> '{}';
