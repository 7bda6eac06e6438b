-- Issue 19 point 1, twin of migrations/0019: email ownership.

ALTER TABLE users ADD COLUMN email_confirmed_at timestamptz;
UPDATE users SET email_confirmed_at = created_at WHERE password_hash IS NOT NULL;
CREATE INDEX users_unconfirmed ON users(created_at) WHERE email_confirmed_at IS NULL;

CREATE TABLE email_confirmations (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX email_confirmations_by_user ON email_confirmations(user_id);

-- A kind of mail for a person's own account (confirmation, sign-up notice, password reset).
ALTER TABLE outbox_messages DROP CONSTRAINT outbox_messages_kind_check;
ALTER TABLE outbox_messages ADD CONSTRAINT outbox_messages_kind_check
    CHECK (kind IN ('link', 'result', 'expiry', 'notice', 'account'));
UPDATE outbox_messages SET kind = 'account'
WHERE kind = 'notice' AND subject = 'Set a new password for Traceless';
