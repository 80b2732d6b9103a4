ALTER TABLE api_tokens DROP COLUMN expires_at;
DROP INDEX sessions_user_idx;
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions DROP COLUMN address;
ALTER TABLE sessions DROP COLUMN last_seen;
ALTER TABLE memberships DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN must_change_password;
ALTER TABLE users DROP COLUMN password_changed_at;
