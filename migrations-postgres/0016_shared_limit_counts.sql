-- Counters of the limits that must hold across instances (`crate::shared_limits`): sign-in
-- failures per account and per account and address, presentation requests per link, API
-- requests per key. One row per door, key and fixed window, upserted atomically
-- (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`); rows whose window has ended are swept by
-- the retention job. (Twin of migrations/0016.)
CREATE TABLE limit_counts (
    door        text NOT NULL,
    -- a hash for accounts and addresses, an id for links and keys: never an address in clear
    key         text NOT NULL,
    -- the window's number: seconds since the epoch divided by the limit's period
    window_no   bigint NOT NULL,
    hits        bigint NOT NULL,
    last_at     timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (door, key, window_no)
);
CREATE INDEX limit_counts_by_expiry ON limit_counts(expires_at);
