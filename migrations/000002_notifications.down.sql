DROP TABLE IF EXISTS ack_tokens_used;
DROP TABLE IF EXISTS notification_rates;
DROP TABLE IF EXISTS notification_deliveries;
DROP INDEX IF EXISTS notification_log_alert_idx;
DROP INDEX IF EXISTS notification_log_sent_idx;
DROP INDEX IF EXISTS alerts_ack_pending_idx;
ALTER TABLE alerts DROP COLUMN IF EXISTS ack_notified_at;
