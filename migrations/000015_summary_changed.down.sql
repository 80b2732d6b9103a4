DROP TRIGGER IF EXISTS check_state_summary_changed ON check_state;
DROP FUNCTION IF EXISTS check_state_summary_changed();
ALTER TABLE check_state DROP COLUMN IF EXISTS summary_changed_at;
