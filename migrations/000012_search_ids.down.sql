DROP FUNCTION IF EXISTS check_search_ids(text, integer);
