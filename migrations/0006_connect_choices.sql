-- Connecting in two legs (admin consent, then sign-in), authorities read leniently, the
-- credential type and email claim chosen by the admin when the tenant offers several.

-- 'consent' (waiting for the admin consent endpoint) or 'sign_in' (waiting for the code).
ALTER TABLE microsoft_connect_attempts ADD COLUMN phase TEXT NOT NULL DEFAULT 'sign_in'
    CHECK (phase IN ('consent', 'sign_in'));
-- The tenant path the sign-in's code must be redeemed at (Microsoft: AADSTS700005).
ALTER TABLE microsoft_connect_attempts ADD COLUMN token_tenant TEXT NOT NULL DEFAULT 'organizations';

-- Whether the chosen authority's linked domain is verified: with validateLinkedDomain
-- Microsoft refuses every presentation otherwise, so the integration is not active.
ALTER TABLE microsoft_integrations ADD COLUMN linked_domain_verified INTEGER NOT NULL DEFAULT 1;
-- The claims the chosen contract carries (JSON array), for changing the email claim later.
ALTER TABLE microsoft_integrations ADD COLUMN available_claims TEXT NOT NULL DEFAULT '[]';

-- A connect that proved every grant but found several authorities or credential types:
-- the admin picks on the card. Nothing secret is kept; it expires.
CREATE TABLE microsoft_pending_connections (
    organization_id    TEXT PRIMARY KEY NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id            TEXT REFERENCES users(id) ON DELETE SET NULL,
    tenant_id          TEXT NOT NULL,
    tenant_name        TEXT NOT NULL,
    microsoft_account  TEXT NOT NULL,
    -- JSON: [{"name","is_default","is_initial"}]
    domains            TEXT NOT NULL,
    -- JSON: [{"authority_id","authority_name","authority_did","linked_domain_verified",
    --         "credential_type","claims":[...]}]
    options            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    expires_at         TEXT NOT NULL
);
