-- Help-desk tools: organization API keys for the REST API, idempotent creates, and signed
-- webhooks with their deliveries and every attempt. (Twin of migrations/0008.)

CREATE TABLE api_keys (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             text NOT NULL,
    -- the key's first characters (`tl_live_abcd`), shown in lists so a key can be recognised
    prefix           text NOT NULL,
    -- SHA-256 of the whole key; the key itself is shown once and never stored
    key_hash         text NOT NULL UNIQUE,
    -- signs webhooks sent to a per-request `webhook_url`; shown once with the key
    webhook_secret   text NOT NULL,
    created_by       uuid REFERENCES users(id) ON DELETE SET NULL,
    created_by_name  text NOT NULL,
    created_at       timestamptz NOT NULL,
    last_used_at     timestamptz,
    revoked_at       timestamptz
);
CREATE INDEX api_keys_by_organization ON api_keys(organization_id, created_at);

-- A create with an `Idempotency-Key` header, per API key: a retry returns the same verification.
CREATE TABLE api_idempotency (
    api_key_id       uuid NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    idempotency_key  text NOT NULL,
    -- SHA-256 of the request body: the same key with another body is refused
    request_hash     text NOT NULL,
    verification_id  uuid NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    -- the link token XOR a pad derived from the API key (HMAC-SHA256): only the key's
    -- holder can read it back, a database copy cannot
    sealed_link      text,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);

CREATE TABLE webhook_endpoints (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url              text NOT NULL,
    -- space-separated event types (`verification.verified verification.failed`)
    event_types      text NOT NULL,
    -- the HMAC-SHA256 key; needed in clear to sign, shown once to the admin
    secret           text NOT NULL,
    -- set for the `webhook_url` of one API request: that verification's events only
    verification_id  uuid REFERENCES verifications(id) ON DELETE CASCADE,
    created_by_name  text NOT NULL,
    created_at       timestamptz NOT NULL,
    -- the first failure since the last success; a day of failures disables the endpoint
    failing_since    timestamptz,
    disabled_at      timestamptz,
    disabled_reason  text
);
CREATE INDEX webhook_endpoints_by_organization ON webhook_endpoints(organization_id, created_at);

-- One event for one endpoint, written in the transaction of the event itself.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    verification_id  uuid NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
    -- the verification event's id: deliveries of one verification go out in this order
    event_seq        bigint NOT NULL,
    -- the payload's `id`: the same for every endpoint and every retry (for de-duplication)
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    payload          text NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         bigint NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    -- retries stop a day (the retry window) after this; a redelivery starts a new day
    retry_from       timestamptz NOT NULL,
    delivered_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries(endpoint_id, verification_id, event_seq);

CREATE TABLE webhook_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    attempted_at     timestamptz NOT NULL,
    -- the HTTP status, or NULL when no answer came (refused, timed out)
    status_code      bigint,
    latency_ms       bigint NOT NULL,
    -- the first 500 characters of the answer, or what went wrong
    response_excerpt text NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts(delivery_id, id);
