-- One identity per person, done safely (issue 19, item 5): single-use
-- emailed links for invitations, sign-up verification and password reset.
--
-- users.email_verified_at: set when the person proves they read the address
-- (a verification, invitation or reset link). Existing accounts predate the
-- rule and count as verified.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

-- A site created by an API sign-up waits for its admin's emailed link
-- before anyone can sign in to it (tenants treat it as disabled).
ALTER TABLE sites ADD COLUMN pending_since timestamptz;

-- An invitation makes a pending membership; the invitee's link accepts it.
-- A pending member cannot sign in to the site.
ALTER TABLE memberships ADD COLUMN pending boolean NOT NULL DEFAULT false;

-- The links. Only the SHA-256 of a link's token is stored. Not tenant data:
-- a link is looked up by its hash before any site is known, and a password
-- reset belongs to the person, not to a site; site_id names the site an
-- invitation or sign-up is for. Only tenants/links.go reads or writes it.
CREATE TABLE user_links (
    token_hash bytea PRIMARY KEY,
    purpose    text NOT NULL CHECK (purpose IN ('invite', 'verify', 'reset')),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    site_id    uuid REFERENCES sites (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    -- a sign-up's chosen password (argon2id), set on the account only when
    -- the link is opened with that same password: never on the user row of
    -- an address nobody has proved.
    password_hash text NOT NULL DEFAULT ''
);
CREATE INDEX user_links_user_idx ON user_links (user_id, purpose);
CREATE INDEX user_links_expiry_idx ON user_links (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON user_links TO bergamot_app;
