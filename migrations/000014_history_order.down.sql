DROP INDEX IF EXISTS state_history_page_idx;
