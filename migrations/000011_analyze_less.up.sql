-- check_state and check_schedule are rewritten on every check run, so with
-- the default autoanalyze setting (after a tenth of the rows changed)
-- PostgreSQL re-analyzed them every few seconds under load: each ANALYZE
-- samples the table and invalidates every cached plan that reads it, which
-- showed as 50-120 ms stalls in result-to-subscriber latency on 2 cores.
-- Their statistics barely move (one row per check; statuses shift), so
-- analyze after twice the table's size in changes; new checks still count.
ALTER TABLE check_state SET (autovacuum_analyze_scale_factor = 2);
ALTER TABLE check_schedule SET (autovacuum_analyze_scale_factor = 2);
