-- A connect whose admin consent has not reached Microsoft's token endpoint yet: the app
-- token has no role (or the app is unknown, AADSTS700016) for a while after consent. What the
-- sign-in leg read waits in microsoft_pending_connections; this row says it is waiting, until
-- when, and for which tenant's app token. One per organization, like the pending connection.
CREATE TABLE microsoft_consent_waits (
    organization_id  TEXT PRIMARY KEY NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          TEXT REFERENCES users(id) ON DELETE SET NULL,
    app_tenant_id    TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    wait_until       TEXT NOT NULL,
    tries            INTEGER NOT NULL
);
