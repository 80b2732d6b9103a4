-- The hot tables of the check pipeline are rewritten thousands of times a
-- second: every queued check inserts, updates and deletes a river_job row,
-- updates its check_schedule and check_state rows and passes through
-- result_inbox. With the default autovacuum settings (a fifth of the table
-- dead before a pass, throttled to a crawl) dead rows pile up faster than
-- they are cleaned and every fetch of River's queue wades through them, so
-- throughput sinks the longer the system runs. Vacuum these tables after a
-- fixed number of dead rows, unthrottled.
-- (River's own river_job gets the same settings in migrate.go, after River's
-- migrations have created it.)
ALTER TABLE check_schedule SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0);
ALTER TABLE check_state SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0);
ALTER TABLE result_inbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0, autovacuum_vacuum_insert_threshold = 5000);
