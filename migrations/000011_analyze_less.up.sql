-- Tables the check pipeline churns were re-analyzed by autovacuum every
-- few seconds under load (default: after 50 rows plus a tenth of the table
-- changed). Each ANALYZE invalidates the cached plans of every statement
-- reading the table, on every connection, and re-planning the processor's
-- and the live hub's joins took 20-50 ms each on 2 cores: that showed as
-- 50-120 ms stalls in result-to-subscriber latency. Their statistics barely
-- move, so analyze much less often:
-- - check_state, check_schedule: one row per check, rewritten on every run;
--   analyze after twice the table's size in changes (new checks still count);
-- - alerts: opened and closed constantly while problems come and go;
-- - result_inbox: a queue, empty or nearly so whenever it is analyzed; its
--   statistics say nothing useful, and its statements use its primary key.
ALTER TABLE check_state SET (autovacuum_analyze_scale_factor = 2);
ALTER TABLE check_schedule SET (autovacuum_analyze_scale_factor = 2);
ALTER TABLE alerts SET (autovacuum_analyze_scale_factor = 2, autovacuum_analyze_threshold = 1000);
ALTER TABLE result_inbox SET (autovacuum_analyze_threshold = 1000000);
