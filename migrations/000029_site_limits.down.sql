DROP TABLE IF EXISTS login_throttle;
DROP INDEX IF EXISTS check_schedule_in_flight_idx;
DROP TABLE IF EXISTS site_limits;
