-- Connecting in two legs, authorities read leniently, the credential type and email
-- claim chosen by the admin. (Twin of migrations/0006.)

ALTER TABLE microsoft_connect_attempts ADD COLUMN phase text NOT NULL DEFAULT 'sign_in'
    CHECK (phase IN ('consent', 'sign_in'));
ALTER TABLE microsoft_connect_attempts ADD COLUMN token_tenant text NOT NULL DEFAULT 'organizations';

ALTER TABLE microsoft_integrations ADD COLUMN linked_domain_verified boolean NOT NULL DEFAULT true;
ALTER TABLE microsoft_integrations ADD COLUMN available_claims text NOT NULL DEFAULT '[]';

CREATE TABLE microsoft_pending_connections (
    organization_id    uuid PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    user_id            uuid REFERENCES users(id) ON DELETE SET NULL,
    tenant_id          text NOT NULL,
    tenant_name        text NOT NULL,
    microsoft_account  text NOT NULL,
    -- JSON: [{"name","is_default","is_initial"}]
    domains            text NOT NULL,
    -- JSON: [{"authority_id","authority_name","authority_did","linked_domain_verified",
    --         "credential_type","claims":[...]}]
    options            text NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL
);
