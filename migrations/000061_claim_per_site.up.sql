-- The scheduler's claim takes each site's first due checks (store.ClaimDue,
-- issue 17): it walks each site's due rows in next_run order and stops at
-- the site's room, instead of numbering every due row of every site before
-- its limit (with 10,000 checks due: 38-130 ms a claim). This index serves
-- that walk; it replaces the next_run index, which only the claim used.
CREATE INDEX check_schedule_site_due_idx ON check_schedule (site_id, next_run, check_id) WHERE NOT paused;
DROP INDEX check_schedule_due_idx;

