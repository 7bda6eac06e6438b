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

/// SQLite runs one writer at a time whatever the pool size; more connections let
/// readers (pages, event streams) go on while writers queue, but each waiting writer
/// holds one. Eight leaves readers room during a burst of callbacks.
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
