//! Signed-in sessions as rows of our own. A row is found by the SHA-256 of its cookie value,
//! never the value (a leaked table holds no working cookie); it knows its person, and when,
//! from which device and from which address it was last used, so a person can list their
//! sessions and end any of them. The session layer's store and the "Sessions" page both
//! work through here.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::UserId;
use crate::db::{self, Pool};
use crate::secret::SecretHash;

/// The session value naming its signed-in person; the store copies it into the row's
/// `user_id`, so a session is listed, ended and removed with its person.
pub const USER_KEY: &str = "user_id";

/// A session unused this long ends (its cookie and its row).
pub const IDLE_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// Last seen, device and address are written at most this often per session, so an
/// active page does not write on every request.
pub const SEEN_EVERY: Duration = Duration::from_secs(60);

/// How a session is looked up: the hash of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey(SecretHash);

impl SessionKey {
    pub fn of_cookie(value: &str) -> Self {
        Self(SecretHash::of(value))
    }
}

/// How a session is named to its person (not its cookie, not the cookie's hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct SessionId(pub Uuid);

/// Where a request came from, as shown on the "Sessions" page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    device: String,
    address: IpAddr,
}

impl Client {
    pub fn new(user_agent: Option<&str>, address: IpAddr) -> Self {
        Self {
            device: describe_device(user_agent.unwrap_or_default()),
            address,
        }
    }
}

/// A session's values as the session layer keeps them, and when it ends.
pub struct StoredSession {
    pub data: String,
    pub expires_at: OffsetDateTime,
}

/// One session as its person sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub id: SessionId,
    pub device: Option<String>,
    pub address: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// The session this list was asked from.
    pub current: bool,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: SessionId,
    token_hash: String,
    device: Option<String>,
    client_address: Option<String>,
    created_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct StoredRow {
    data: String,
    expires_at: OffsetDateTime,
}

/// Stores a new session; `false` when its key is taken (the caller draws another id).
pub async fn insert(
    pool: &Pool,
    key: &SessionKey,
    user: Option<UserId>,
    data: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = db::query(
        "INSERT INTO account_sessions (id, token_hash, user_id, data, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(key.0.as_str())
    .bind(user.map(|u| u.0))
    .bind(data)
    .bind(now)
    .bind(expires_at)
    .execute_on(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes a session's values. A session ended meanwhile (signed out from another device)
/// stays ended: nothing is written back for it.
pub async fn save(
    pool: &Pool,
    key: &SessionKey,
    user: Option<UserId>,
    data: &str,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE account_sessions SET user_id = $2, data = $3, expires_at = $4 WHERE token_hash = $1",
    )
    .bind(key.0.as_str())
    .bind(user.map(|u| u.0))
    .bind(data)
    .bind(expires_at)
    .execute_on(pool)
    .await?;
    Ok(())
}

/// The session behind a cookie, unless it has expired or was ended.
pub async fn load(
    pool: &Pool,
    key: &SessionKey,
    now: OffsetDateTime,
) -> Result<Option<StoredSession>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let row = db::query(
        "SELECT data, expires_at FROM account_sessions WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(key.0.as_str())
    .bind(now)
    .fetch_optional_as::<StoredRow>(&mut conn)
    .await?;
    Ok(row.map(|row| StoredSession {
        data: row.data,
        expires_at: row.expires_at,
    }))
}

pub async fn delete(pool: &Pool, key: &SessionKey) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM account_sessions WHERE token_hash = $1")
        .bind(key.0.as_str())
        .execute_on(pool)
        .await?;
    Ok(())
}

/// Deletes every expired session; returns how many.
pub async fn delete_expired(pool: &Pool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    Ok(
        db::query("DELETE FROM account_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute_on(pool)
            .await?
            .rows_affected(),
    )
}

/// Records that the session was used now, from `client`: at most once per [`SEEN_EVERY`],
/// or sooner when the device or address changed. `true` when it wrote (the caller then
/// also renews the cookie, so 12 hours idle is measured from now).
pub async fn seen(
    pool: &Pool,
    key: &SessionKey,
    client: &Client,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    const STALE: &str = "token_hash = $1 AND expires_at > $2
        AND (last_seen_at <= $5 OR device IS NULL OR device <> $3 OR client_address <> $4)";
    let address = client.address.to_string();
    // Read first: most requests find a fresh row and write nothing, and on SQLite an
    // UPDATE takes the one write lock even when it matches no row.
    let mut conn = pool.acquire().await?;
    let stale = db::query(&format!("SELECT 1 FROM account_sessions WHERE {STALE}"))
        .bind(key.0.as_str())
        .bind(now)
        .bind(client.device.as_str())
        .bind(address.as_str())
        .bind(now - SEEN_EVERY)
        .fetch_optional(&mut conn)
        .await?;
    drop(conn);
    if stale.is_none() {
        return Ok(false);
    }
    let done = db::query(&format!(
        "UPDATE account_sessions SET last_seen_at = $2, device = $3, client_address = $4 WHERE {STALE}"
    ))
    .bind(key.0.as_str())
    .bind(now)
    .bind(client.device.as_str())
    .bind(address.as_str())
    .bind(now - SEEN_EVERY)
    .execute_on(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `user`'s live sessions, most recently used first; `current` marks the one asking.
pub async fn of_user(
    pool: &Pool,
    user: UserId,
    current: &SessionKey,
    now: OffsetDateTime,
) -> Result<Vec<SessionSummary>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let rows = db::query(
        "SELECT id, token_hash, device, client_address, created_at, last_seen_at
         FROM account_sessions WHERE user_id = $1 AND expires_at > $2
         ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user.0)
    .bind(now)
    .fetch_all_as::<SummaryRow>(&mut conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionSummary {
            current: SecretHash::from_stored(row.token_hash) == current.0,
            id: row.id,
            device: row.device,
            address: row.client_address,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
        })
        .collect())
}

/// Ends one of `user`'s sessions; `Some(device)` when it did, `None` when `user` has no
/// such session.
pub async fn end(
    pool: &Pool,
    user: UserId,
    session: SessionId,
) -> Result<Option<Option<String>>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let row =
        db::query("DELETE FROM account_sessions WHERE id = $1 AND user_id = $2 RETURNING device")
            .bind(session.0)
            .bind(user.0)
            .fetch_optional(&mut conn)
            .await?;
    row.map(|row| row.try_get(0)).transpose()
}

/// Ends every session of `user` but `keep`; returns how many ended.
pub async fn end_all_but(
    conn: &mut impl db::Connection,
    user: UserId,
    keep: &SessionKey,
) -> Result<u64, sqlx::Error> {
    Ok(
        db::query("DELETE FROM account_sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user.0)
            .bind(keep.0.as_str())
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Ends every session of `user`.
pub async fn end_all(conn: &mut impl db::Connection, user: UserId) -> Result<u64, sqlx::Error> {
    Ok(db::query("DELETE FROM account_sessions WHERE user_id = $1")
        .bind(user.0)
        .execute(conn)
        .await?
        .rows_affected())
}

/// A short readable name for the device behind a User-Agent: "Firefox on Windows". Only
/// the common browsers and systems are told apart; that is all a person needs to recognise
/// their own sessions (and the header is the client's to write anyway).
pub fn describe_device(user_agent: &str) -> String {
    // Order matters: Edge and Opera also say Chrome; Chrome also says Safari.
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    // iPhone and iPad say "like Mac OS X"; Android says Linux.
    const SYSTEMS: &[(&str, &str)] = &[
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ];
    let find = |table: &[(&'static str, &'static str)]| {
        table
            .iter()
            .find(|(needle, _)| user_agent.contains(needle))
            .map(|(_, name)| *name)
    };
    match (find(BROWSERS), find(SYSTEMS)) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => "Unknown device".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_device;

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            ("curl/8.5.0", "Unknown device"),
            ("", "Unknown device"),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe_device(agent), expected, "{agent}");
        }
    }
}
