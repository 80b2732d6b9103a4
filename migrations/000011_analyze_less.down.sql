ALTER TABLE check_state RESET (autovacuum_analyze_scale_factor);
ALTER TABLE check_schedule RESET (autovacuum_analyze_scale_factor);
ALTER TABLE alerts RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold);
ALTER TABLE result_inbox RESET (autovacuum_analyze_threshold);
