-- Issue 19 point 5, twin of migrations/0018: sign in with Microsoft.

ALTER TABLE users ADD COLUMN microsoft_tenant_id text;
ALTER TABLE users ADD COLUMN microsoft_oid text;
CREATE UNIQUE INDEX users_by_microsoft_account ON users(microsoft_tenant_id, microsoft_oid);

CREATE TABLE microsoft_only_organizations (
    organization_id  uuid PRIMARY KEY NOT NULL
                     REFERENCES microsoft_integrations(organization_id) ON DELETE CASCADE,
    tenant_id        text NOT NULL,
    turned_on_by     uuid REFERENCES users(id) ON DELETE SET NULL,
    turned_on_at     timestamptz NOT NULL
);
