-- Verifications of a person with Microsoft Verified ID: the durable link, Microsoft's
-- short-lived presentation requests, and the append-only event history.

-- Per-organization settings for verification links and Face Check.
ALTER TABLE organizations ADD COLUMN verification_link_hours INTEGER NOT NULL DEFAULT 24;
ALTER TABLE organizations ADD COLUMN face_check_threshold INTEGER;

CREATE TABLE verifications (
    id                TEXT PRIMARY KEY NOT NULL,
    organization_id   TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    created_by        TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_by_name   TEXT NOT NULL,
    recipient_email   TEXT NOT NULL,
    ticket_reference  TEXT,
    note              TEXT,
    -- SHA-256 of the link token; the token itself is never stored
    link_hash         TEXT NOT NULL UNIQUE,
    link_expires_at   TEXT NOT NULL,
    status            TEXT NOT NULL,
    failure_reason    TEXT,
    -- failed tries the person may retry (declined, Authenticator error)
    failed_attempts   INTEGER NOT NULL DEFAULT 0,
    -- JSON: the alignment checks and the credential's claims, once presented
    evidence          TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    completed_at      TEXT
);
CREATE INDEX verifications_by_organization ON verifications(organization_id, created_at);
CREATE INDEX verifications_open_by_expiry ON verifications(status, link_expires_at);

CREATE TABLE presentation_requests (
    -- also the `callback.state` Microsoft echoes
    id                    TEXT PRIMARY KEY NOT NULL,
    verification_id       TEXT NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    organization_id       TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    microsoft_request_id  TEXT NOT NULL,
    -- SHA-256 of the per-request `api-key` Microsoft sends back with each callback
    api_key_hash          TEXT NOT NULL,
    url                   TEXT NOT NULL,
    expires_at            TEXT NOT NULL,
    -- pending | retrieved | presented | failed
    state                 TEXT NOT NULL DEFAULT 'pending',
    created_at            TEXT NOT NULL
);
CREATE INDEX presentation_requests_by_verification ON presentation_requests(verification_id, created_at);

-- Every transition and every received callback (no-ops included). The id is the
-- server-sent event id, so a reconnecting page resumes exactly after what it saw.
CREATE TABLE verification_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    verification_id  TEXT NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    message          TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX verification_events_by_verification ON verification_events(verification_id, id);
