DROP TABLE IF EXISTS downtime_outbox;
DROP FUNCTION IF EXISTS downtime_flex_pending(downtimes, timestamptz);
DROP FUNCTION IF EXISTS downtime_in_effect(downtimes, timestamptz);
DROP INDEX IF EXISTS downtimes_open_idx;
ALTER TABLE downtimes DROP CONSTRAINT IF EXISTS downtimes_flexible_duration;
ALTER TABLE downtimes DROP COLUMN IF EXISTS started_at;
ALTER TABLE downtimes DROP COLUMN IF EXISTS time_period;
