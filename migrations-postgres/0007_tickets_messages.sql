-- Tickets (a help-desk ticket a verification belongs to, with a timeline any verification
-- method feeds) and the outbox (mail written in the transaction of the event that causes
-- it, delivered afterwards by a worker, at least once). (Twin of migrations/0007.)

CREATE TABLE tickets (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- the help desk's own reference, like INC-4711
    reference        text NOT NULL,
    subject          text,
    requester_email  text,
    -- where it came from: "Traceless" or the name of the API key of a help-desk tool
    source           text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (organization_id, reference)
);
CREATE INDEX tickets_by_organization ON tickets(organization_id, updated_at);

ALTER TABLE verifications ADD COLUMN ticket_id uuid REFERENCES tickets(id) ON DELETE SET NULL;
CREATE INDEX verifications_by_ticket ON verifications(ticket_id, created_at);

-- What happened to a ticket's verifications and mail. The id orders the timeline and is
-- the server-sent event id of the ticket's stream.
CREATE TABLE ticket_entries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id        uuid NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    verification_id  uuid REFERENCES verifications(id) ON DELETE CASCADE,
    -- sent | emailed | mail_delivered | mail_failed | opened | scanned | verified | failed
    -- | try_failed | expired | cancelled
    kind             text NOT NULL,
    -- who did it: an agent's or tool's name, the person's email, or "Traceless"
    actor            text NOT NULL,
    detail           text NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX ticket_entries_by_ticket ON ticket_entries(ticket_id, id);

CREATE TABLE outbox_messages (
    -- stable across retries and restarts: the mail's Message-ID, for de-duplication
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    verification_id  uuid REFERENCES verifications(id) ON DELETE CASCADE,
    ticket_id        uuid REFERENCES tickets(id) ON DELETE SET NULL,
    -- link (to the person) | result (to the agent) | expiry (to the agent)
    kind             text NOT NULL CHECK (kind IN ('link', 'result', 'expiry')),
    recipient        text NOT NULL,
    subject          text NOT NULL,
    body_text        text NOT NULL,
    body_html        text NOT NULL,
    -- pending (due at next_attempt_at) | delivered | failed (gave up)
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         bigint NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text,
    -- smtp | mailbox (the development mailbox), once delivered
    transport        text,
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz
);
CREATE INDEX outbox_messages_due ON outbox_messages(state, next_attempt_at);
CREATE INDEX outbox_messages_by_organization ON outbox_messages(organization_id, created_at);
