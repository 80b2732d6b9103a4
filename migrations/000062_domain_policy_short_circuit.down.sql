DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND p.polname = 'domain_read'
               AND pg_get_expr(p.polqual, p.polrelid) LIKE '%OR bergamot_check_readable(check_id)%'
    LOOP
        EXECUTE format('ALTER POLICY domain_read ON %I USING (bergamot_check_readable(check_id)) WITH CHECK (bergamot_check_readable(check_id))', t);
    END LOOP;
END
$$;
