//! The database: a SQLite pool, created on first start and migrated before use, and
//! the one way to start a transaction that writes.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

pub type Pool = sqlx::SqlitePool;

/// A transaction begun by [`begin_write`].
pub type WriteTx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// How long a statement waits for another connection's write lock before giving up
/// with "database is locked". Writes are short (a few rows); waiting this long only
/// happens under a burst, where an answer late is better than a 500.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite runs one writer at a time whatever the pool size: more connections only let
/// reads (pages, event-stream replays) run beside the writer. A writer waiting for the
/// lock holds its connection, and the rest queue for the pool (FIFO) rather than in
/// SQLite's polling busy handler; 300 callbacks at once fit well (see the test
/// `concurrency`), so more would only add writers polling for the same lock.
const MAX_CONNECTIONS: u32 = 8;

/// Opens (creating if needed) the database at `url` and applies pending migrations.
pub async fn connect(url: &str) -> anyhow::Result<Pool> {
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("parsing the database URL {url:?}"))?
        .create_if_missing(true)
        // Readers never block the writer nor each other.
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    if let Some(parent) = options.get_filename().parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the database folder {}", parent.display()))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        // The database is a file in this process: a pooled connection cannot go stale, and
        // sqlx's check before each acquire is one more round trip to the connection's
        // thread on every callback and stream read (measured with `scripts/bench`).
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .context("opening the database")?;
    sqlx::migrate!()
        .run(&pool)
        .await
        .context("applying database migrations")?;
    Ok(pool)
}

/// Begins a transaction that will write: every use case that reads, decides, then
/// writes goes through here.
///
/// SQLite's default (deferred) transaction takes the write lock only at its first
/// write; if another connection committed since this one started reading, that
/// upgrade fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT, code 517)
/// and the busy timeout does not help. `BEGIN IMMEDIATE` takes the write lock up
/// front, waiting up to [`BUSY_TIMEOUT`] for it, so what the transaction reads is
/// what it writes over. (PostgreSQL would map this to a plain `BEGIN` with row locks.)
pub async fn begin_write(pool: &Pool) -> Result<WriteTx, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Whether the database answers a trivial query (for `/healthz`).
pub async fn ping(pool: &Pool) -> bool {
    sqlx::query("SELECT 1").execute(pool).await.is_ok()
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    async fn memory() -> Pool {
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::from_str("sqlite::memory:")
                    .unwrap()
                    .foreign_keys(true),
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn migration_0004_keeps_every_invite_and_lets_its_sender_be_removed() {
        let pool = memory().await;
        for sql in [
            include_str!("../migrations/0001_accounts.sql"),
            include_str!("../migrations/0002_microsoft_integration.sql"),
            include_str!("../migrations/0003_verifications.sql"),
        ] {
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO organizations (id, name, created_at) VALUES ('o', 'Contoso', 't0');
             INSERT INTO users (id, organization_id, email, display_name, role, password_hash, created_at)
               VALUES ('ada', 'o', 'ada@contoso.com', 'Ada', 'admin', 'h', 't0'),
                      ('bob', 'o', 'bob@contoso.com', 'Bob', 'admin', 'h', 't0'),
                      ('eve', 'o', 'eve@contoso.com', 'Eve', 'agent', NULL, 't0');
             INSERT INTO invites (id, organization_id, user_id, token_hash, created_by, created_at, expires_at, accepted_at)
               VALUES ('i1', 'o', 'bob', 'h1', 'ada', 't1', 't2', 't1'),
                      ('i2', 'o', 'eve', 'h2', 'bob', 't1', 't2', NULL);",
        )
        .execute(&pool)
        .await
        .unwrap();
        // Before: the sender of an invite cannot be removed.
        assert!(
            sqlx::query("DELETE FROM users WHERE id = 'bob'")
                .execute(&pool)
                .await
                .is_err()
        );

        sqlx::raw_sql(include_str!("../migrations/0004_removable_users.sql"))
            .execute(&pool)
            .await
            .unwrap();

        let rows = sqlx::query(
            "SELECT id, user_id, token_hash, created_by, created_by_name, created_at, expires_at, accepted_at
             FROM invites ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let invites: Vec<Vec<Option<String>>> = rows
            .iter()
            .map(|r| (0..8).map(|i| r.get::<Option<String>, _>(i)).collect())
            .collect();
        let some = |v: &str| Some(v.to_owned());
        assert_eq!(
            invites,
            vec![
                vec![
                    some("i1"),
                    some("bob"),
                    some("h1"),
                    some("ada"),
                    some("Ada"),
                    some("t1"),
                    some("t2"),
                    some("t1")
                ],
                vec![
                    some("i2"),
                    some("eve"),
                    some("h2"),
                    some("bob"),
                    some("Bob"),
                    some("t1"),
                    some("t2"),
                    None
                ],
            ]
        );
        sqlx::query("DELETE FROM users WHERE id = 'bob'")
            .execute(&pool)
            .await
            .unwrap();
        let (by, name): (Option<String>, String) =
            sqlx::query_as("SELECT created_by, created_by_name FROM invites WHERE id = 'i2'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((by, name.as_str()), (None, "Bob"));
        assert_eq!(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM invites")
                .fetch_one(&pool)
                .await
                .unwrap(),
            1,
            "Bob's own invite goes with him"
        );
    }
}
