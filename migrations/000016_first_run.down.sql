ALTER TABLE check_schedule DROP COLUMN IF EXISTS realign_to;
