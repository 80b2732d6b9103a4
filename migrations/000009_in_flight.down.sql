ALTER TABLE check_schedule DROP COLUMN IF EXISTS in_flight_until;
