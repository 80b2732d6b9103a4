-- The trigram indexes of 000007 are of no use to bergamot_app: under
-- row-level security PostgreSQL evaluates a query's own conditions after
-- the policy's, unless they are LEAKPROOF, and ILIKE is not (only
-- superusers may mark a function so). A search therefore read and tested
-- every check of the site (70-100 ms for 100,000 checks) whatever its
-- selectivity.
--
-- check_search_ids returns the ids of the current site's checks whose name
-- or summary matches pattern (an ILIKE pattern), at most max_rows of them.
-- When the database owner bypasses row-level security (a superuser, as with
-- the private cluster), it runs as the owner, so the trigram indexes serve
-- it; it reads only the site the transaction is confined to
-- (bergamot_site(), exactly what the policy compares), so it shows the
-- caller nothing RLS would not. Otherwise it runs as the caller, under RLS:
-- same results, without the index.
DO $do$
DECLARE
    definer boolean := (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user);
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION check_search_ids(pattern text, max_rows integer) RETURNS SETOF uuid
            LANGUAGE plpgsql STABLE %s SET search_path = public, pg_temp
            AS $body$
            BEGIN
                -- EXECUTE plans with the pattern's value, so the planner
                -- can judge its selectivity (a generic plan cannot).
                RETURN QUERY EXECUTE 'SELECT id FROM checks WHERE site_id = bergamot_site()
                    AND (name ILIKE $1 OR summary ILIKE $1) LIMIT $2' USING pattern, max_rows;
            END
            $body$
        $f$, CASE WHEN definer THEN 'SECURITY DEFINER' ELSE 'SECURITY INVOKER' END);
END
$do$;
REVOKE ALL ON FUNCTION check_search_ids(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION check_search_ids(text, integer) TO bergamot_app;
