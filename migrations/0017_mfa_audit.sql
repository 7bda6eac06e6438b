-- Issue 19 points 4 and 7: two-step verification (TOTP) with its recovery codes, the
-- organization's requirement of it, and the audit log's client address and filters.

-- One TOTP secret per account, sealed with TRACELESS_TOKEN_KEY (AES-256-GCM, tied to the user).
CREATE TABLE mfa_secrets (
    user_id        TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sealed_secret  TEXT NOT NULL,
    -- NULL while being set up: no code has been entered yet, sign-in does not ask for one
    enabled_at     TEXT,
    -- the TOTP time step of the last code accepted: a code of that step or before is a replay
    last_step      INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);

-- SHA-256 of each unused recovery code (80 random bits each); a used code's row is deleted.
CREATE TABLE mfa_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE organizations ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;

ALTER TABLE audit_log ADD COLUMN client_address TEXT;
CREATE INDEX audit_log_by_action ON audit_log(organization_id, action, id);
CREATE INDEX audit_log_by_actor ON audit_log(organization_id, actor_id, id);
