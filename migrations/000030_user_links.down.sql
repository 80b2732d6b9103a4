DROP TABLE IF EXISTS user_links;
ALTER TABLE memberships DROP COLUMN IF EXISTS pending;
ALTER TABLE sites DROP COLUMN IF EXISTS pending_since;
ALTER TABLE users DROP COLUMN IF EXISTS email_verified_at;
