-- Organizations, their people, and one-time invite links.
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- normalised (lower-case, ASCII domain); one account per address across Traceless
    email            TEXT NOT NULL UNIQUE,
    display_name     TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    -- NULL until an invited teammate sets a password
    password_hash    TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX users_by_organization ON users(organization_id);

CREATE TABLE invites (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- SHA-256 of the link token; the token itself is never stored
    token_hash       TEXT NOT NULL UNIQUE,
    created_by       TEXT NOT NULL REFERENCES users(id),
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    accepted_at      TEXT
);
CREATE INDEX invites_by_organization ON invites(organization_id);
