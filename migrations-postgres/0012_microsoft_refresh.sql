-- Issue 17 points 1 and 9 (twin of migrations/0012): the linked domain is three-valued,
-- and a connection is re-read from Microsoft daily and on demand.

ALTER TABLE microsoft_integrations ADD COLUMN linked_domain text NOT NULL DEFAULT 'verified'
    CHECK (linked_domain IN ('verified', 'not_verified', 'unknown'));
UPDATE microsoft_integrations SET linked_domain = 'not_verified' WHERE NOT linked_domain_verified;

ALTER TABLE microsoft_integrations ADD COLUMN confirmed_at timestamptz;
-- Claimed with a conditional UPDATE, so several instances never refresh one tenant at once.
ALTER TABLE microsoft_integrations ADD COLUMN next_refresh_at timestamptz;
ALTER TABLE microsoft_integrations ADD COLUMN refresh_attempted_at timestamptz;
ALTER TABLE microsoft_integrations ADD COLUMN refresh_problem text;
ALTER TABLE microsoft_integrations ADD COLUMN removed_domains text NOT NULL DEFAULT '[]';
ALTER TABLE microsoft_integrations ADD COLUMN domains_removed_at timestamptz;
UPDATE microsoft_integrations SET confirmed_at = connected_at, next_refresh_at = connected_at;
CREATE INDEX microsoft_integrations_refresh_due ON microsoft_integrations(next_refresh_at);

-- A notice to the organization's administrators is a new kind of mail.
ALTER TABLE outbox_messages DROP CONSTRAINT outbox_messages_kind_check;
ALTER TABLE outbox_messages ADD CONSTRAINT outbox_messages_kind_check
    CHECK (kind IN ('link', 'result', 'expiry', 'notice'));
