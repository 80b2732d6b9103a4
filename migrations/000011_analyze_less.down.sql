ALTER TABLE check_state RESET (autovacuum_analyze_scale_factor);
ALTER TABLE check_schedule RESET (autovacuum_analyze_scale_factor);
