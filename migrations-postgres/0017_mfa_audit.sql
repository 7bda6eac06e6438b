-- Issue 19 points 4 and 7, twin of migrations/0017: two-step verification (TOTP) with its
-- recovery codes, the organization's requirement of it, and the audit log's client address
-- and filters.

CREATE TABLE mfa_secrets (
    user_id        uuid PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    sealed_secret  text NOT NULL,
    enabled_at     timestamptz,
    last_step      bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL
);

CREATE TABLE mfa_recovery_codes (
    user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE organizations ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;

ALTER TABLE audit_log ADD COLUMN client_address text;
CREATE INDEX audit_log_by_action ON audit_log(organization_id, action, id);
CREATE INDEX audit_log_by_actor ON audit_log(organization_id, actor_id, id);
