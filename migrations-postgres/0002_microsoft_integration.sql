-- The Microsoft Verified ID integration: connect attempts, the connected tenant and
-- its domains, and the organization's audit log. (Twin of migrations/0002.)

CREATE TABLE microsoft_connect_attempts (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- SHA-256 of the OAuth `state`
    state_hash       text NOT NULL UNIQUE,
    pkce_verifier    text NOT NULL,
    nonce            text NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz
);
CREATE INDEX microsoft_connect_attempts_by_organization ON microsoft_connect_attempts(organization_id);

-- At most one per organization, and a Microsoft tenant belongs to one organization.
CREATE TABLE microsoft_integrations (
    organization_id     uuid PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    tenant_id           text NOT NULL UNIQUE,
    tenant_name         text NOT NULL,
    authority_id        text NOT NULL,
    authority_did       text NOT NULL,
    credential_type     text NOT NULL,
    microsoft_account   text NOT NULL,
    connected_by        uuid REFERENCES users(id) ON DELETE SET NULL,
    connected_by_name   text NOT NULL,
    connected_at        timestamptz NOT NULL
);

CREATE TABLE microsoft_domains (
    organization_id  uuid NOT NULL REFERENCES microsoft_integrations(organization_id) ON DELETE CASCADE,
    name             text NOT NULL,
    is_default       boolean NOT NULL,
    is_initial       boolean NOT NULL,
    PRIMARY KEY (organization_id, name)
);

-- Append-only: who did what, when.
CREATE TABLE audit_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    actor_id         uuid,
    actor_name       text NOT NULL,
    action           text NOT NULL,
    detail           text NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX audit_log_by_organization ON audit_log(organization_id, id);
