-- Tickets (a help-desk ticket a verification belongs to, with a timeline any verification
-- method feeds) and the outbox (mail written in the transaction of the event that causes
-- it, delivered afterwards by a worker, at least once).

CREATE TABLE tickets (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- the help desk's own reference, like INC-4711
    reference        TEXT NOT NULL,
    subject          TEXT,
    requester_email  TEXT,
    -- where it came from: "Traceless" or the name of the API key of a help-desk tool
    source           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (organization_id, reference)
);
CREATE INDEX tickets_by_organization ON tickets(organization_id, updated_at);

ALTER TABLE verifications ADD COLUMN ticket_id TEXT REFERENCES tickets(id) ON DELETE SET NULL;
CREATE INDEX verifications_by_ticket ON verifications(ticket_id, created_at);

-- What happened to a ticket's verifications and mail. The id orders the timeline and is
-- the server-sent event id of the ticket's stream.
CREATE TABLE ticket_entries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id        TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    verification_id  TEXT REFERENCES verifications(id) ON DELETE CASCADE,
    -- sent | emailed | mail_delivered | mail_failed | opened | scanned | verified | failed
    -- | try_failed | expired | cancelled
    kind             TEXT NOT NULL,
    -- who did it: an agent's or tool's name, the person's email, or "Traceless"
    actor            TEXT NOT NULL,
    detail           TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX ticket_entries_by_ticket ON ticket_entries(ticket_id, id);

CREATE TABLE outbox_messages (
    -- stable across retries and restarts: the mail's Message-ID, for de-duplication
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    verification_id  TEXT REFERENCES verifications(id) ON DELETE CASCADE,
    ticket_id        TEXT REFERENCES tickets(id) ON DELETE SET NULL,
    -- link (to the person) | result (to the agent) | expiry (to the agent)
    kind             TEXT NOT NULL CHECK (kind IN ('link', 'result', 'expiry')),
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT NOT NULL,
    -- pending (due at next_attempt_at) | delivered | failed (gave up)
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    -- smtp | mailbox (the development mailbox), once delivered
    transport        TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX outbox_messages_due ON outbox_messages(state, next_attempt_at);
CREATE INDEX outbox_messages_by_organization ON outbox_messages(organization_id, created_at);
