-- The Microsoft Verified ID integration: connect attempts, the connected tenant and
-- its domains, and the organization's audit log.

-- One row per press of "Log in to your tenant": single use, short-lived, bound to the
-- admin and (through the session) the browser that pressed it.
CREATE TABLE microsoft_connect_attempts (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- SHA-256 of the OAuth `state`
    state_hash       TEXT NOT NULL UNIQUE,
    pkce_verifier    TEXT NOT NULL,
    nonce            TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    used_at          TEXT
);
CREATE INDEX microsoft_connect_attempts_by_organization ON microsoft_connect_attempts(organization_id);

-- At most one per organization, and a Microsoft tenant belongs to one organization.
CREATE TABLE microsoft_integrations (
    organization_id     TEXT PRIMARY KEY NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    tenant_id           TEXT NOT NULL UNIQUE,
    tenant_name         TEXT NOT NULL,
    authority_id        TEXT NOT NULL,
    authority_did       TEXT NOT NULL,
    credential_type     TEXT NOT NULL,
    microsoft_account   TEXT NOT NULL,
    connected_by        TEXT REFERENCES users(id) ON DELETE SET NULL,
    connected_by_name   TEXT NOT NULL,
    connected_at        TEXT NOT NULL
);

CREATE TABLE microsoft_domains (
    organization_id  TEXT NOT NULL REFERENCES microsoft_integrations(organization_id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    is_default       INTEGER NOT NULL,
    is_initial       INTEGER NOT NULL,
    PRIMARY KEY (organization_id, name)
);

-- Append-only: who did what, when.
CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    actor_id         TEXT,
    actor_name       TEXT NOT NULL,
    action           TEXT NOT NULL,
    detail           TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX audit_log_by_organization ON audit_log(organization_id, id);
