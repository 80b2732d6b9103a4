-- Second factors (issue 22 item 4; docs/second-factors.md). A factor
-- belongs to a membership: an account in two sites enrols in each, and
-- one site's administrators can neither see nor reset another site's
-- factors. Only tenants/secondfactor.go reads or writes these tables.
--
-- second_factors: TOTP authenticators (the secret sealed with the node's
-- key, bound to site, user and factor; last_step is the newest time step
-- accepted, so a code is never accepted twice) and WebAuthn credentials
-- (credential: go-webauthn's Credential as JSON: public key, sign count,
-- flags). A TOTP factor is unconfirmed until its first code is entered.
CREATE TABLE second_factors (
    id            uuid PRIMARY KEY,
    site_id       uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('totp', 'webauthn')),
    name          text NOT NULL CHECK (name <> '' AND length(name) <= 100),
    confirmed     boolean NOT NULL DEFAULT false,
    sealed_secret bytea,
    last_step     bigint NOT NULL DEFAULT 0,
    credential_id bytea,
    credential    jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used     timestamptz,
    FOREIGN KEY (site_id, user_id) REFERENCES memberships (site_id, user_id) ON DELETE CASCADE,
    CHECK ((kind = 'totp' AND sealed_secret IS NOT NULL) OR (kind = 'webauthn' AND credential_id IS NOT NULL AND credential IS NOT NULL))
);
CREATE INDEX second_factors_user_idx ON second_factors (site_id, user_id);
CREATE UNIQUE INDEX second_factors_credential_idx ON second_factors (site_id, credential_id) WHERE credential_id IS NOT NULL;

-- recovery_codes: ten single-use codes per member, only their SHA-256
-- (salted with the user id) kept.
CREATE TABLE recovery_codes (
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    PRIMARY KEY (site_id, user_id, code_hash),
    FOREIGN KEY (site_id, user_id) REFERENCES memberships (site_id, user_id) ON DELETE CASCADE
);

-- second_factor_challenges: a sign-in that passed its password and waits
-- for the second factor (purpose 'signin': the "half session", which
-- authenticates nothing), and a passkey registration in progress
-- ('register'). Short-lived; only the SHA-256 of the token is kept;
-- webauthn holds go-webauthn's SessionData (the challenge).
CREATE TABLE second_factor_challenges (
    id         uuid PRIMARY KEY,
    site_id    uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('signin', 'register')),
    token_hash bytea NOT NULL UNIQUE,
    webauthn   jsonb,
    failures   int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    FOREIGN KEY (site_id, user_id) REFERENCES memberships (site_id, user_id) ON DELETE CASCADE
);
CREATE INDEX second_factor_challenges_expiry_idx ON second_factor_challenges (expires_at);

ALTER TABLE second_factors ENABLE ROW LEVEL SECURITY;
ALTER TABLE second_factors FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON second_factors TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
GRANT SELECT, INSERT, UPDATE, DELETE ON second_factors TO bergamot_app;

ALTER TABLE recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON recovery_codes TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes TO bergamot_app;

ALTER TABLE second_factor_challenges ENABLE ROW LEVEL SECURITY;
ALTER TABLE second_factor_challenges FORCE ROW LEVEL SECURITY;
CREATE POLICY site_isolation ON second_factor_challenges TO bergamot_app USING (site_id = bergamot_site()) WITH CHECK (site_id = bergamot_site());
GRANT SELECT, INSERT, UPDATE, DELETE ON second_factor_challenges TO bergamot_app;

-- The site setting "every member needs a second factor" lives in
-- sites.settings as require_second_factor (like audit_retention_days).
