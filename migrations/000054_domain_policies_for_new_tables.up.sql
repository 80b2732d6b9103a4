-- Tables of a check's rows added beside migration 000042 (recurring
-- downtime occurrences, the metrics export outbox, status page
-- components) get the same restrictive security-domain policy as every
-- other such table: a member reads and writes them only for the checks
-- they may read. TestEveryCheckTableHasDomainPolicy enforces it.
CREATE POLICY domain_read ON downtime_occurrences AS RESTRICTIVE TO bergamot_app
    USING (bergamot_check_readable(check_id)) WITH CHECK (bergamot_check_readable(check_id));
CREATE POLICY domain_read ON metric_export_queue AS RESTRICTIVE TO bergamot_app
    USING (bergamot_check_readable(check_id)) WITH CHECK (bergamot_check_readable(check_id));
CREATE POLICY domain_read ON status_components AS RESTRICTIVE TO bergamot_app
    USING (bergamot_check_readable(check_id)) WITH CHECK (bergamot_check_readable(check_id));
