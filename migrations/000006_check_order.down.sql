DROP INDEX IF EXISTS check_state_order_idx;
ALTER TABLE check_state DROP COLUMN IF EXISTS severity;
