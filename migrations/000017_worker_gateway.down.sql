ALTER TABLE workers DROP COLUMN IF EXISTS remote;
DROP TABLE IF EXISTS worker_connections;
DROP TABLE IF EXISTS worker_keys;
DROP TABLE IF EXISTS shared_zone_keys;
DROP TABLE IF EXISTS shared_zones;
