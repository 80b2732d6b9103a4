-- Check lists are ordered problems first, by severity, then by how long the
-- state has lasted. A stored severity rank and a matching index let a page of
-- checks come straight off the index (with keyset cursors) instead of
-- sorting every check of the site.
ALTER TABLE check_state ADD COLUMN severity smallint GENERATED ALWAYS AS (
    CASE status
        WHEN 'CRITICAL' THEN 0 WHEN 'ERROR' THEN 0 WHEN 'DISCONNECTED' THEN 0
        WHEN 'TIMEOUT' THEN 1 WHEN 'UNKNOWN' THEN 2 WHEN 'WARNING' THEN 3
        ELSE 4 END) STORED;
CREATE INDEX check_state_order_idx ON check_state
    (site_id, ok, severity, (COALESCE(last_state_change, '9999-12-31 00:00:00+00'::timestamptz)), check_id);
