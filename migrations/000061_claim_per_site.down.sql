CREATE INDEX check_schedule_due_idx ON check_schedule (next_run) WHERE NOT paused;
DROP INDEX check_schedule_site_due_idx;
