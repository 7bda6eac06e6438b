-- Organizations, their people, and one-time invite links.
-- (PostgreSQL twin of migrations/0001_accounts.sql: same tables, native types.)
CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- normalised (lower-case, ASCII domain); one account per address across Traceless
    email            text NOT NULL UNIQUE,
    display_name     text NOT NULL,
    role             text NOT NULL CHECK (role IN ('admin', 'agent')),
    -- NULL until an invited teammate sets a password
    password_hash    text,
    created_at       timestamptz NOT NULL
);
CREATE INDEX users_by_organization ON users(organization_id);

CREATE TABLE invites (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- SHA-256 of the link token; the token itself is never stored
    token_hash       text NOT NULL UNIQUE,
    created_by       uuid NOT NULL REFERENCES users(id),
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    accepted_at      timestamptz
);
CREATE INDEX invites_by_organization ON invites(organization_id);
