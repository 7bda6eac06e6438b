-- Verifications of a person with Microsoft Verified ID: the durable link, Microsoft's
-- short-lived presentation requests, and the append-only event history. (Twin of
-- migrations/0003.)

ALTER TABLE organizations ADD COLUMN verification_link_hours bigint NOT NULL DEFAULT 24;
ALTER TABLE organizations ADD COLUMN face_check_threshold bigint;

CREATE TABLE verifications (
    id                uuid PRIMARY KEY,
    organization_id   uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    created_by        uuid REFERENCES users(id) ON DELETE SET NULL,
    created_by_name   text NOT NULL,
    recipient_email   text NOT NULL,
    ticket_reference  text,
    note              text,
    -- SHA-256 of the link token; the token itself is never stored
    link_hash         text NOT NULL UNIQUE,
    link_expires_at   timestamptz NOT NULL,
    status            text NOT NULL,
    failure_reason    text,
    failed_attempts   bigint NOT NULL DEFAULT 0,
    -- JSON: the alignment checks and the credential's claims, once presented
    evidence          text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    completed_at      timestamptz
);
CREATE INDEX verifications_by_organization ON verifications(organization_id, created_at);
CREATE INDEX verifications_open_by_expiry ON verifications(status, link_expires_at);

CREATE TABLE presentation_requests (
    -- also the `callback.state` Microsoft echoes
    id                    uuid PRIMARY KEY,
    verification_id       uuid NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    organization_id       uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    microsoft_request_id  text NOT NULL,
    -- SHA-256 of the per-request `api-key` Microsoft sends back with each callback
    api_key_hash          text NOT NULL,
    url                   text NOT NULL,
    expires_at            timestamptz NOT NULL,
    -- pending | retrieved | presented | failed
    state                 text NOT NULL DEFAULT 'pending',
    created_at            timestamptz NOT NULL,
    -- insertion order, for "the newest request" when two share a created_at
    seq                   bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX presentation_requests_by_verification ON presentation_requests(verification_id, created_at);

-- Every transition and every received callback (no-ops included). The id is the
-- server-sent event id, so a reconnecting page resumes exactly after what it saw.
CREATE TABLE verification_events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    verification_id  uuid NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind             text NOT NULL,
    status           text NOT NULL,
    message          text NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX verification_events_by_verification ON verification_events(verification_id, id);
