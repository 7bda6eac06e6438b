-- Counters of the limits that must hold across instances (`crate::shared_limits`): sign-in
-- failures per account and per account and address, presentation requests per link, API
-- requests per key. One row per door, key and fixed window, upserted atomically; rows whose
-- window has ended are swept by the retention job. SQLite runs one instance and counts in
-- process: the table is its twin's, for one schema on both backends. (Twin of
-- migrations-postgres/0016.)
CREATE TABLE limit_counts (
    door        TEXT NOT NULL,
    -- a hash for accounts and addresses, an id for links and keys: never an address in clear
    key         TEXT NOT NULL,
    -- the window's number: seconds since the epoch divided by the limit's period
    window_no   INTEGER NOT NULL,
    hits        INTEGER NOT NULL,
    last_at     TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (door, key, window_no)
);
CREATE INDEX limit_counts_by_expiry ON limit_counts(expires_at);
