-- A check's history pages in id order (newest first, keyset on id: see
-- store.History). The index on (site_id, check_id, at DESC) found the
-- check's rows but every page read and sorted all of them: a check that
-- has flapped for months has tens of thousands.
CREATE INDEX state_history_page_idx ON state_history (site_id, check_id, id DESC);
