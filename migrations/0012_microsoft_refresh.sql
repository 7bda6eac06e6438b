-- Issue 17 points 1 and 9: the linked domain is three-valued, and a connection is re-read
-- from Microsoft daily (and on demand), keeping when Microsoft last confirmed it.

-- 'verified' | 'not_verified' | 'unknown' (Microsoft's authority listing may omit
-- linkedDomainsVerified). The old flag only knew verified or not.
ALTER TABLE microsoft_integrations ADD COLUMN linked_domain TEXT NOT NULL DEFAULT 'verified'
    CHECK (linked_domain IN ('verified', 'not_verified', 'unknown'));
UPDATE microsoft_integrations SET linked_domain = 'not_verified' WHERE linked_domain_verified = 0;

-- When Microsoft last confirmed the domains (at connect, then each successful refresh).
ALTER TABLE microsoft_integrations ADD COLUMN confirmed_at TEXT;
-- When the next daily refresh is due. An instance claims a refresh by moving this forward
-- with a conditional UPDATE, so several instances never refresh one tenant at once.
ALTER TABLE microsoft_integrations ADD COLUMN next_refresh_at TEXT;
-- The last refresh attempt (manual refreshes are spaced by it), and, when it failed, why.
ALTER TABLE microsoft_integrations ADD COLUMN refresh_attempted_at TEXT;
ALTER TABLE microsoft_integrations ADD COLUMN refresh_problem TEXT;
-- Domains that left the tenant (JSON array), shown on the card until the next connect.
ALTER TABLE microsoft_integrations ADD COLUMN removed_domains TEXT NOT NULL DEFAULT '[]';
ALTER TABLE microsoft_integrations ADD COLUMN domains_removed_at TEXT;
UPDATE microsoft_integrations SET confirmed_at = connected_at, next_refresh_at = connected_at;
CREATE INDEX microsoft_integrations_refresh_due ON microsoft_integrations(next_refresh_at);

-- A new kind of mail: a notice to the organization's administrators (a domain left the
-- tenant). SQLite cannot change a CHECK in place, so the outbox table is rebuilt with the
-- same columns.
CREATE TABLE outbox_messages_0012 (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    verification_id  TEXT REFERENCES verifications(id) ON DELETE CASCADE,
    ticket_id        TEXT REFERENCES tickets(id) ON DELETE SET NULL,
    -- link (to the person) | result, expiry (to the agent) | notice (to the administrators)
    kind             TEXT NOT NULL CHECK (kind IN ('link', 'result', 'expiry', 'notice')),
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
INSERT INTO outbox_messages_0012 (id, organization_id, verification_id, ticket_id, kind, recipient,
    subject, body_text, body_html, state, attempts, next_attempt_at, last_error, transport,
    created_at, delivered_at)
SELECT id, organization_id, verification_id, ticket_id, kind, recipient, subject, body_text,
    body_html, state, attempts, next_attempt_at, last_error, transport, created_at, delivered_at
FROM outbox_messages;
DROP TABLE outbox_messages;
ALTER TABLE outbox_messages_0012 RENAME TO outbox_messages;
CREATE INDEX outbox_messages_due ON outbox_messages(state, next_attempt_at);
CREATE INDEX outbox_messages_by_organization ON outbox_messages(organization_id, created_at);
-- The rebuild dropped the retention indexes of 0009 with the old table: made again.
CREATE INDEX outbox_messages_by_created ON outbox_messages(created_at);
CREATE INDEX outbox_messages_by_verification ON outbox_messages(verification_id, kind);
