-- A connect waiting for its admin consent to reach Microsoft's token endpoint.
-- (Twin of migrations/0011.)
CREATE TABLE microsoft_consent_waits (
    organization_id  uuid PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          uuid REFERENCES users(id) ON DELETE SET NULL,
    app_tenant_id    text NOT NULL,
    started_at       timestamptz NOT NULL,
    wait_until       timestamptz NOT NULL,
    tries            bigint NOT NULL
);
