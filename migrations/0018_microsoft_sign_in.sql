-- Issue 19 point 5: sign in with Microsoft.

-- The Microsoft account a member signs in with: the tenant's immutable `tid` and the user's
-- immutable `oid` (id-token-claims-reference: key on these, never on email or UPN). Bound at
-- the first successful Microsoft sign-in; one Microsoft account opens one Traceless account.
ALTER TABLE users ADD COLUMN microsoft_tenant_id TEXT;
ALTER TABLE users ADD COLUMN microsoft_oid TEXT;
CREATE UNIQUE INDEX users_by_microsoft_account ON users(microsoft_tenant_id, microsoft_oid);

-- "Microsoft only": a row means password sign-in is refused for the organization's members.
-- It hangs off the integration, so removing the integration turns it off (nobody is locked
-- out of an organization whose tenant is gone), and it cannot exist without one. It holds
-- only for the tenant it was turned on for: connecting another tenant turns it off too.
CREATE TABLE microsoft_only_organizations (
    organization_id  TEXT PRIMARY KEY NOT NULL
                     REFERENCES microsoft_integrations(organization_id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    turned_on_by     TEXT REFERENCES users(id) ON DELETE SET NULL,
    turned_on_at     TEXT NOT NULL
);
