-- Issue 17 point 9 (rest): authority readiness and credential types are re-read daily and on
-- "Refresh from Microsoft", with a delegated token minted from the connecting administrator's
-- refresh token (the Verified ID admin API has no read-only application permission).

-- The refresh token, sealed with TRACELESS_TOKEN_KEY (AES-256-GCM; the associated data names
-- the organization and the tenant, so a row copied elsewhere does not open). One per
-- organization, written when a sign-in read the tenant, replaced by the token Microsoft
-- returns at each use, and gone with the organization. The integration's removal deletes it.
CREATE TABLE microsoft_admin_tokens (
    organization_id  TEXT PRIMARY KEY NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    sealed_token     TEXT NOT NULL,
    stored_at        TEXT NOT NULL
);

-- The credential types the connected authority offers (JSON array), as last read.
ALTER TABLE microsoft_integrations ADD COLUMN credential_types TEXT NOT NULL DEFAULT '[]';
UPDATE microsoft_integrations SET credential_types = json_array(credential_type);
-- When Microsoft last confirmed the authority and its credential types (connect or re-read).
ALTER TABLE microsoft_integrations ADD COLUMN authority_confirmed_at TEXT;
UPDATE microsoft_integrations SET authority_confirmed_at = connected_at;
-- The kept refresh token stopped working (expired, revoked): an administrator must sign in
-- again before the authority can be re-read.
ALTER TABLE microsoft_integrations ADD COLUMN authority_sign_in_needed INTEGER NOT NULL DEFAULT 0;
