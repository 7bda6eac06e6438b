-- Sessions as rows of our own (issue 19): each is found by the SHA-256 of its cookie value,
-- never the value itself, and knows its person, when it started, when and from which device
-- and address it was last used, so a person can see their sessions and end them. Removing a
-- person removes their sessions with them.
-- tower-sessions' own table kept ids in clear: it goes, and everyone signs in once more.
DROP TABLE IF EXISTS sessions;

CREATE TABLE account_sessions (
    -- shown to the person to name a session; not the cookie
    id              TEXT PRIMARY KEY NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    -- NULL while nobody is signed in (a visitor's session keeps sign-in state only)
    user_id         TEXT REFERENCES users(id) ON DELETE CASCADE,
    -- the session's values, JSON
    data            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    -- "Firefox on Windows", from the User-Agent; NULL until first seen
    device          TEXT,
    client_address  TEXT
);
CREATE INDEX account_sessions_by_user ON account_sessions(user_id);
CREATE INDEX account_sessions_by_expiry ON account_sessions(expires_at);

-- "Forgot password?" links: single use, 30 minutes; only the token's SHA-256 is stored.
CREATE TABLE password_resets (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX password_resets_by_user ON password_resets(user_id);
