-- Sites as an operator sees them (issue 22 item 7): signup invitations for
-- an installation whose signup is invite-only (serve --signup invite).
-- System table: not tenant data (no site exists yet); only SHA-256 hashes
-- of the codes are kept.
CREATE TABLE signup_invites (
    id         uuid PRIMARY KEY,
    code_hash  bytea NOT NULL UNIQUE,
    email      text NOT NULL DEFAULT '',
    note       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_site uuid REFERENCES sites (id) ON DELETE SET NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON signup_invites TO bergamot_app;
