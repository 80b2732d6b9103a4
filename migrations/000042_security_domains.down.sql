DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'domain_read'
    LOOP
        EXECUTE format('DROP POLICY domain_read ON %I', t);
    END LOOP;
END
$$;
DROP TABLE domain_grants;
ALTER TABLE checks DROP COLUMN security_domains;
DROP FUNCTION bergamot_check_readable(uuid);
DROP FUNCTION bergamot_domains_readable(text[]);
DROP FUNCTION bergamot_text_array(jsonb);
