-- Help-desk tools: organization API keys for the REST API, idempotent creates, and signed
-- webhooks with their deliveries and every attempt. Plain types only (TEXT, INTEGER), so the
-- PostgreSQL migration is the same statements.

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    -- the key's first characters (`tl_live_abcd`), shown in lists so a key can be recognised
    prefix           TEXT NOT NULL,
    -- SHA-256 of the whole key; the key itself is shown once and never stored
    key_hash         TEXT NOT NULL UNIQUE,
    -- signs webhooks sent to a per-request `webhook_url`; shown once with the key
    webhook_secret   TEXT NOT NULL,
    created_by       TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_by_name  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    last_used_at     TEXT,
    revoked_at       TEXT
);
CREATE INDEX api_keys_by_organization ON api_keys(organization_id, created_at);

-- A create with an `Idempotency-Key` header, per API key: a retry returns the same verification.
CREATE TABLE api_idempotency (
    api_key_id       TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    idempotency_key  TEXT NOT NULL,
    -- SHA-256 of the request body: the same key with another body is refused
    request_hash     TEXT NOT NULL,
    verification_id  TEXT NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    -- the link token XOR a pad derived from the API key (HMAC-SHA256): only the key's
    -- holder can read it back, a database copy cannot
    sealed_link      TEXT,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);

CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    -- space-separated event types (`verification.verified verification.failed`)
    event_types      TEXT NOT NULL,
    -- the HMAC-SHA256 key; needed in clear to sign, shown once to the admin
    secret           TEXT NOT NULL,
    -- set for the `webhook_url` of one API request: that verification's events only
    verification_id  TEXT REFERENCES verifications(id) ON DELETE CASCADE,
    created_by_name  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    -- the first failure since the last success; a day of failures disables the endpoint
    failing_since    TEXT,
    disabled_at      TEXT,
    disabled_reason  TEXT
);
CREATE INDEX webhook_endpoints_by_organization ON webhook_endpoints(organization_id, created_at);

-- One event for one endpoint, written in the transaction of the event itself.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    verification_id  TEXT NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    -- the verification event's id: deliveries of one verification go out in this order
    event_seq        INTEGER NOT NULL,
    -- the payload's `id`: the same for every endpoint and every retry (for de-duplication)
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    -- retries stop a day (the retry window) after this; a redelivery starts a new day
    retry_from       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries(endpoint_id, verification_id, event_seq);

CREATE TABLE webhook_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    attempted_at     TEXT NOT NULL,
    -- the HTTP status, or NULL when no answer came (refused, timed out)
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    -- the first 500 characters of the answer, or what went wrong
    response_excerpt TEXT NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts(delivery_id, id);
