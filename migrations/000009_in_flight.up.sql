-- One job in flight per check: while a check's job is queued or running,
-- its later slots are skipped instead of piling up more jobs behind it (as
-- Nagios does not start a check that is still running). The scheduler sets
-- in_flight_until when it queues a job; the result processor clears it when
-- the result arrives; the time bounds a lost job.
ALTER TABLE check_schedule ADD COLUMN in_flight_until timestamptz;
