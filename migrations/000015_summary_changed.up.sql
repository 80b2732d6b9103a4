-- When a check's state last changed in what a status view shows (status,
-- ok, hard/soft, the attempt of a soft problem, acknowledged, in downtime,
-- flapping, suppressed, encompassed), whoever wrote it: the processor, an
-- acknowledgement, a downtime, suppression by a config apply. The live
-- hub compares it with when it began following a site, to tell whether
-- the update of a check it has no previous state of changed anything
-- (checkUpdated(filter: {changed: true})). clock_timestamp, not now(): a
-- long transaction's start would predate a subscription it commits after.
ALTER TABLE check_state ADD COLUMN summary_changed_at timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION check_state_summary_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.summary_changed_at := clock_timestamp();
    RETURN NEW;
END $$;

-- The WHEN clause is evaluated without calling the function, so a result
-- that changes nothing of the summary costs no function call.
CREATE TRIGGER check_state_summary_changed BEFORE UPDATE ON check_state FOR EACH ROW
    WHEN ((OLD.status, OLD.ok, OLD.hard, OLD.acknowledged, OLD.in_downtime, OLD.flapping, OLD.suppressed, OLD.encompassed)
            IS DISTINCT FROM (NEW.status, NEW.ok, NEW.hard, NEW.acknowledged, NEW.in_downtime, NEW.flapping, NEW.suppressed, NEW.encompassed)
        OR (NOT NEW.hard AND NOT NEW.ok AND OLD.attempt IS DISTINCT FROM NEW.attempt))
    EXECUTE FUNCTION check_state_summary_changed();
