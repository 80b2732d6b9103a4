-- Bergamot's LISTEN/NOTIFY channels carry a secret suffix, so that a
-- login that may connect to the database but not read this table (a
-- site's reporting login) can neither listen to the channels (every site's
-- check ids and their timing) nor notify on them (reloads on demand).
-- PostgreSQL has no privilege for LISTEN or NOTIFY: a name nobody else
-- knows is the only bound. The secret is made here, once per database,
-- from gen_random_uuid (122 random bits from pg_strong_random; the whole
-- name must stay within PostgreSQL's 63 bytes).
CREATE TABLE channel_secret (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '')
);
INSERT INTO channel_secret DEFAULT VALUES;
REVOKE ALL ON channel_secret FROM PUBLIC;

-- bergamot_channel names the real channel of one of Bergamot's channels.
CREATE FUNCTION bergamot_channel(name text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT name || '_' || secret FROM channel_secret $$;
REVOKE ALL ON FUNCTION bergamot_channel(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bergamot_channel(text) TO bergamot_app, bergamot_worker;
