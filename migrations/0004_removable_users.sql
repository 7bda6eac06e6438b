-- Removing a user must work whatever they did. `invites.created_by` referenced the
-- user with no ON DELETE action, so removing an administrator who ever sent an invite
-- failed. Invites now keep who sent them by name, and lose only the link to the
-- removed account (SQLite cannot alter a foreign key: the table is rebuilt, its rows kept).
-- Nothing references `invites`, so it can be dropped with foreign keys on.

CREATE TABLE invites_new (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- SHA-256 of the link token; the token itself is never stored
    token_hash       TEXT NOT NULL UNIQUE,
    -- NULL once the sender's account is removed; their name stays
    created_by       TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_by_name  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    accepted_at      TEXT
);

INSERT INTO invites_new (id, organization_id, user_id, token_hash, created_by, created_by_name,
                         created_at, expires_at, accepted_at)
SELECT i.id, i.organization_id, i.user_id, i.token_hash, i.created_by,
       COALESCE(u.display_name, ''), i.created_at, i.expires_at, i.accepted_at
FROM invites i LEFT JOIN users u ON u.id = i.created_by;

DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;
CREATE INDEX invites_by_organization ON invites(organization_id);
