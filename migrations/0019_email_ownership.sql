-- Issue 19 point 1: email ownership. A sign-up's address is confirmed by a mailed link before
-- the account touches any organization data; an invitation (or a password reset link) proves
-- the address by itself.

-- NULL while the address is not proven. Everyone who could sign in before this release keeps
-- working: their address counts as confirmed. A pending invitee gets it on accepting.
ALTER TABLE users ADD COLUMN email_confirmed_at TEXT;
UPDATE users SET email_confirmed_at = created_at WHERE password_hash IS NOT NULL;
-- The housekeeping looks for sign-ups that never confirmed.
CREATE INDEX users_unconfirmed ON users(created_at) WHERE email_confirmed_at IS NULL;

-- Confirmation links: single use, 24 hours; only the token's SHA-256 is stored.
CREATE TABLE email_confirmations (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX email_confirmations_by_user ON email_confirmations(user_id);

-- A kind of mail of its own for a person's own account (confirmation, sign-up notice,
-- password reset). SQLite cannot change a CHECK in place: the outbox table is rebuilt with the
-- same columns, rows and indexes. Nothing references it, so it can be dropped with foreign
-- keys on.
CREATE TABLE outbox_messages_0019 (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    verification_id  TEXT REFERENCES verifications(id) ON DELETE CASCADE,
    ticket_id        TEXT REFERENCES tickets(id) ON DELETE SET NULL,
    -- link (to the person) | result, expiry (to the agent) | notice (to the administrators)
    -- | account (to a person about their own account)
    kind             TEXT NOT NULL CHECK (kind IN ('link', 'result', 'expiry', 'notice', 'account')),
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    transport        TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
INSERT INTO outbox_messages_0019 (id, organization_id, verification_id, ticket_id, kind, recipient,
    subject, body_text, body_html, state, attempts, next_attempt_at, last_error, transport,
    created_at, delivered_at)
SELECT id, organization_id, verification_id, ticket_id, kind, recipient, subject, body_text,
    body_html, state, attempts, next_attempt_at, last_error, transport, created_at, delivered_at
FROM outbox_messages;
DROP TABLE outbox_messages;
ALTER TABLE outbox_messages_0019 RENAME TO outbox_messages;
-- Every index the table had (0007, 0009; made again in 0012).
CREATE INDEX outbox_messages_due ON outbox_messages(state, next_attempt_at);
CREATE INDEX outbox_messages_by_organization ON outbox_messages(organization_id, created_at);
CREATE INDEX outbox_messages_by_created ON outbox_messages(created_at);
CREATE INDEX outbox_messages_by_verification ON outbox_messages(verification_id, kind);

-- "Forgot password" mails were filed as notices for lack of this kind: they move to it.
UPDATE outbox_messages SET kind = 'account'
WHERE kind = 'notice' AND subject = 'Set a new password for Traceless';
