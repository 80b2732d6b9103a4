-- Accounts fit for a hosted service (issue 22): the user lifecycle and
-- session lifetimes. tenants/lifecycle.go and tenants/sessions.go own these
-- columns.

-- A password change ends every session opened before it, in every site
-- (tenants.Store.Authenticate compares sessions.created_at with it);
-- must_change_password makes the next sign-in change it before anything else.
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

-- A disabled member keeps their row, role and history but cannot sign in
-- to the site; their sessions and tokens stop working at once.
ALTER TABLE memberships ADD COLUMN disabled_at timestamptz;

-- Idle lifetime: a session unused for longer than the idle limit ends
-- (last_seen is moved on at most once a minute). expires_at stays the
-- absolute lifetime. Address and user agent are shown in the session list.
ALTER TABLE sessions ADD COLUMN last_seen timestamptz NOT NULL DEFAULT now();
ALTER TABLE sessions ADD COLUMN address text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent text NOT NULL DEFAULT '';
CREATE INDEX sessions_user_idx ON sessions (site_id, user_id);

-- API tokens may expire.
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
