-- Issue 17 point 9 (rest), twin of migrations/0013: the connecting administrator's refresh
-- token, sealed, for re-reading authority readiness and credential types.

CREATE TABLE microsoft_admin_tokens (
    organization_id  uuid PRIMARY KEY NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    tenant_id        text NOT NULL,
    sealed_token     text NOT NULL,
    stored_at        timestamptz NOT NULL
);

ALTER TABLE microsoft_integrations ADD COLUMN credential_types text NOT NULL DEFAULT '[]';
UPDATE microsoft_integrations SET credential_types = json_build_array(credential_type)::text;
ALTER TABLE microsoft_integrations ADD COLUMN authority_confirmed_at timestamptz;
UPDATE microsoft_integrations SET authority_confirmed_at = connected_at;
ALTER TABLE microsoft_integrations ADD COLUMN authority_sign_in_needed boolean NOT NULL DEFAULT false;
