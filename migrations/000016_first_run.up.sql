-- A new check runs within seconds of being configured instead of at its
-- stable slot, up to an interval later (a newcomer saw PENDING for
-- minutes). Its first run is an early, off-phase slot; realign_to holds
-- the stable slot the scheduler moves it back to after that run, so
-- checks added together do not keep running together.
ALTER TABLE check_schedule ADD COLUMN realign_to timestamptz;
