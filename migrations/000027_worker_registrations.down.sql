ALTER TABLE worker_connections DROP COLUMN in_flight, DROP COLUMN address;
ALTER TABLE workers DROP COLUMN in_flight, DROP COLUMN address;
