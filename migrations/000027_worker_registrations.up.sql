-- Live worker registrations carry where a worker is and how busy it is, for
-- the Workers & zones page and the zones query: the address it connects
-- from and the checks it was running at its last heartbeat.
ALTER TABLE workers ADD COLUMN address text NOT NULL DEFAULT '',
    ADD COLUMN in_flight integer NOT NULL DEFAULT 0;
ALTER TABLE worker_connections ADD COLUMN address text NOT NULL DEFAULT '',
    ADD COLUMN in_flight integer NOT NULL DEFAULT 0;
