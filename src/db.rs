//! The database: SQLite (the default: one machine, one file) or PostgreSQL (any number of
//! instances), chosen by the URL at start, created or migrated before use; and the one seam
//! the stores run their SQL through, so each query is written once where the dialects agree.
//!
//! # How to add a table or a query (both backends)
//!
//! 1. **Migration**: add `migrations/NNNN_name.sql` (SQLite) *and*
//!    `migrations-postgres/NNNN_name.sql` (PostgreSQL) with the same file name; a unit test
//!    fails when one folder has a file the other lacks. Column types: ids `uuid` (SQLite
//!    `TEXT`, sqlx stores a `Uuid` there as a blob), times `timestamptz` (SQLite `TEXT`),
//!    flags `boolean` (SQLite `INTEGER`), counters `bigint` (SQLite `INTEGER`, read as `i64`),
//!    `INTEGER PRIMARY KEY AUTOINCREMENT` → `bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`.
//! 2. **Query**: in the table's store module, `db::query("… WHERE id = $1 AND org = $2")`
//!    with `$N` placeholders (SQLite reads them too), `.bind(…)` values, then `.execute`,
//!    `.fetch_optional`, `.fetch_one` or `.fetch_all` on `&mut` anything that is a
//!    [`Connection`] (`pool.acquire()` or [`begin_write`]). Rows decode into a struct with
//!    `#[derive(sqlx::FromRow)]` (`.fetch_optional_as`, `.fetch_all_as`, `Row::decode`), its
//!    fields named for the columns; a status, reason or other word of the vocabulary is a
//!    [`Word`], bound and decoded by its one spelling. A single value: `row.try_get(0)`. Use `RETURNING id` rather than `last_insert_rowid()`,
//!    `ON CONFLICT … DO NOTHING/UPDATE` rather than `INSERT OR …`, and bind the time
//!    (`OffsetDateTime::now_utc()`) rather than `datetime('now')`: then one text serves both.
//! 3. **Where the dialects differ** (`rowid`, `FOR UPDATE SKIP LOCKED`, `pg_notify`):
//!    `db::query_per_backend(SQLITE_SQL, POSTGRES_SQL)`, both beside each other.
//! 4. Run the integration suite on both: `scripts/test` does; by hand, see docs/testing.md.
//!
//! Queries are checked at run time, not compile time: `query!` needs one database type per
//! build, and this binary chooses between two at start. The suite runs on both instead.

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ColumnIndex, Decode, Encode, PgConnection, Postgres, Sqlite, SqliteConnection, Type};

/// The application's database, whichever it is. Cheap to clone (both pools are handles).
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

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

/// Prepared statements each connection keeps (sqlx's default is 100). Every statement is a
/// fixed text with bound values, about 190 of them in all: with room for each, a statement
/// is prepared once per connection, and the callback's hot path is never evicted by a rare
/// page's query. A few MB over a whole pool.
const STATEMENT_CACHE: usize = 256;

/// Per instance. PostgreSQL's default `max_connections` is 100: room for a few instances,
/// each with its pool, its event listener and its session store sharing this pool.
const MAX_POSTGRES_CONNECTIONS: u32 = 16;

/// Opens (creating if needed) the database at `url` and applies pending migrations:
/// `postgres:` URLs open PostgreSQL (the database must exist), anything else SQLite.
pub async fn connect(url: &str) -> anyhow::Result<Pool> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return connect_postgres(url).await;
    }
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("parsing the database URL {url:?}"))?
        .create_if_missing(true)
        // Readers never block the writer nor each other.
        .journal_mode(SqliteJournalMode::Wal)
        // Each commit waits for the disk (SQLite's default, said here because it is a
        // choice): what we answered for survives a power cut. `NORMAL` would only lose the
        // last commits on one, but Microsoft does not repeat a callback we answered 200,
        // so a verdict would be lost. Callbacks share a flush instead (group commit,
        // `verification::group_commit`).
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .statement_cache_capacity(STATEMENT_CACHE);
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
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .context("applying database migrations")?;
    Ok(Pool::Sqlite(pool))
}

async fn connect_postgres(url: &str) -> anyhow::Result<Pool> {
    let options = PgConnectOptions::from_str(url)
        .context("parsing the PostgreSQL URL")?
        .application_name("traceless")
        .statement_cache_capacity(STATEMENT_CACHE);
    let pool = PgPoolOptions::new()
        .max_connections(MAX_POSTGRES_CONNECTIONS)
        .acquire_timeout(BUSY_TIMEOUT)
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")?;
    // Several instances starting at once: sqlx takes an advisory lock around migrations,
    // so one applies them and the others wait and find them applied.
    sqlx::migrate!("./migrations-postgres")
        .run(&pool)
        .await
        .context("applying database migrations")?;
    Ok(Pool::Postgres(pool))
}

impl Pool {
    pub fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        let asked = Instant::now();
        let conn = match self {
            Pool::Sqlite(pool) => Conn::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        };
        crate::observe::pool_wait(asked.elapsed());
        Ok(conn)
    }

    /// Connections open and idle now (for the metrics).
    pub fn connections(&self) -> (u32, usize) {
        match self {
            Pool::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Pool::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }

    /// Closes every connection (tests, before dropping their database).
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// A connection taken from the pool for a few statements outside a transaction.
pub enum Conn {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>),
}

/// A transaction begun by [`begin_write`]; rolled back when dropped uncommitted.
pub enum WriteTx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await,
            WriteTx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Sqlite(tx) => tx.rollback().await,
            WriteTx::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// One backend's connection, borrowed for one statement.
pub enum Handle<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// What a store function runs its SQL on: a pooled [`Conn`] or a [`WriteTx`].
pub trait Connection: Send {
    fn handle(&mut self) -> Handle<'_>;
}

impl Connection for Conn {
    fn handle(&mut self) -> Handle<'_> {
        match self {
            Conn::Sqlite(conn) => Handle::Sqlite(conn),
            Conn::Postgres(conn) => Handle::Postgres(conn),
        }
    }
}

/// Lets a borrowed connection (`&mut dyn Connection`, as `crate::reactions` gets one) go
/// wherever a connection is taken.
impl<C: Connection + ?Sized> Connection for &mut C {
    fn handle(&mut self) -> Handle<'_> {
        (**self).handle()
    }
}

impl Connection for WriteTx {
    fn handle(&mut self) -> Handle<'_> {
        match self {
            WriteTx::Sqlite(tx) => Handle::Sqlite(tx),
            WriteTx::Postgres(tx) => Handle::Postgres(tx),
        }
    }
}

/// A value both backends can bind.
pub trait Param<'q>:
    'q + Send + Clone + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}
impl<'q, T> Param<'q> for T where
    T: 'q
        + Send
        + Clone
        + Encode<'q, Sqlite>
        + Type<Sqlite>
        + Encode<'q, Postgres>
        + Type<Postgres>
{
}

/// One statement, prepared for both backends until it meets a connection (binding a
/// value twice costs nothing worth counting next to a round trip).
pub struct Query<'q> {
    sqlite: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>,
    postgres: sqlx::query::Query<'q, Postgres, PgArguments>,
}

/// A statement whose text both dialects read alike (`$1`-style placeholders).
pub fn query(sql: &str) -> Query<'_> {
    query_per_backend(sql, sql)
}

/// A statement written once per dialect, for where they differ.
pub fn query_per_backend<'q>(sqlite: &'q str, postgres: &'q str) -> Query<'q> {
    Query {
        sqlite: sqlx::query(sqlite),
        postgres: sqlx::query(postgres),
    }
}

/// What a statement changed.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl<'q> Query<'q> {
    pub fn bind<T: Param<'q>>(self, value: T) -> Self {
        Self {
            sqlite: self.sqlite.bind(value.clone()),
            postgres: self.postgres.bind(value),
        }
    }

    pub async fn execute(self, conn: &mut (impl Connection + ?Sized)) -> Result<Done, sqlx::Error> {
        let rows_affected = match conn.handle() {
            Handle::Sqlite(c) => self.sqlite.execute(c).await?.rows_affected(),
            Handle::Postgres(c) => self.postgres.execute(c).await?.rows_affected(),
        };
        Ok(Done { rows_affected })
    }

    pub async fn fetch_optional(
        self,
        conn: &mut (impl Connection + ?Sized),
    ) -> Result<Option<Row>, sqlx::Error> {
        Ok(match conn.handle() {
            Handle::Sqlite(c) => self.sqlite.fetch_optional(c).await?.map(Row::Sqlite),
            Handle::Postgres(c) => self.postgres.fetch_optional(c).await?.map(Row::Postgres),
        })
    }

    pub async fn fetch_one(
        self,
        conn: &mut (impl Connection + ?Sized),
    ) -> Result<Row, sqlx::Error> {
        Ok(match conn.handle() {
            Handle::Sqlite(c) => Row::Sqlite(self.sqlite.fetch_one(c).await?),
            Handle::Postgres(c) => Row::Postgres(self.postgres.fetch_one(c).await?),
        })
    }

    pub async fn fetch_all(
        self,
        conn: &mut (impl Connection + ?Sized),
    ) -> Result<Vec<Row>, sqlx::Error> {
        Ok(match conn.handle() {
            Handle::Sqlite(c) => self
                .sqlite
                .fetch_all(c)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Handle::Postgres(c) => self
                .postgres
                .fetch_all(c)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }
}

/// The same, each row decoded into a `#[derive(sqlx::FromRow)]` struct.
impl<'q> Query<'q> {
    pub async fn fetch_optional_as<T: FromRow>(
        self,
        conn: &mut (impl Connection + ?Sized),
    ) -> Result<Option<T>, sqlx::Error> {
        self.fetch_optional(conn)
            .await?
            .map(|row| row.decode())
            .transpose()
    }

    pub async fn fetch_one_as<T: FromRow>(
        self,
        conn: &mut (impl Connection + ?Sized),
    ) -> Result<T, sqlx::Error> {
        self.fetch_one(conn).await?.decode()
    }

    pub async fn fetch_all_as<T: FromRow>(
        self,
        conn: &mut (impl Connection + ?Sized),
    ) -> Result<Vec<T>, sqlx::Error> {
        self.fetch_all(conn)
            .await?
            .iter()
            .map(Row::decode)
            .collect()
    }
}

/// For statements run alone (tests, health checks): each takes a connection from the pool
/// for itself.
impl<'q> Query<'q> {
    pub async fn execute_on(self, pool: &Pool) -> Result<Done, sqlx::Error> {
        self.execute(&mut pool.acquire().await?).await
    }

    pub async fn fetch_all_on(self, pool: &Pool) -> Result<Vec<Row>, sqlx::Error> {
        self.fetch_all(&mut pool.acquire().await?).await
    }

    pub async fn fetch_one_on(self, pool: &Pool) -> Result<Row, sqlx::Error> {
        self.fetch_one(&mut pool.acquire().await?).await
    }

    /// The first column of the one row.
    pub async fn fetch_scalar_on<T: Value>(self, pool: &Pool) -> Result<T, sqlx::Error> {
        self.fetch_one_on(pool).await?.try_get(0)
    }

    /// The first column of every row.
    pub async fn fetch_scalars_on<T: Value>(self, pool: &Pool) -> Result<Vec<T>, sqlx::Error> {
        self.fetch_all_on(pool)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect()
    }
}

/// An owned value both backends can decode.
pub trait Value:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}
impl<T> Value for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A result row of either backend.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    /// The column `index` (a name or a position) decoded as `T`, on either backend.
    pub fn try_get<'r, T, I>(&'r self, index: I) -> Result<T, sqlx::Error>
    where
        T: Decode<'r, Sqlite> + Type<Sqlite> + Decode<'r, Postgres> + Type<Postgres>,
        I: ColumnIndex<SqliteRow> + ColumnIndex<PgRow>,
    {
        use sqlx::Row as _;
        match self {
            Row::Sqlite(row) => row.try_get(index),
            Row::Postgres(row) => row.try_get(index),
        }
    }
}

/// A row type both backends can decode (`#[derive(sqlx::FromRow)]` gives it).
pub trait FromRow: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> {}
impl<T> FromRow for T where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow>
{
}

impl Row {
    /// The whole row decoded as `T`, on either backend.
    pub fn decode<T: FromRow>(&self) -> Result<T, sqlx::Error> {
        match self {
            Row::Sqlite(row) => T::from_row(row),
            Row::Postgres(row) => T::from_row(row),
        }
    }
}

/// A word of the vocabulary (a status, a failure reason, an event kind, a request state) in
/// a text column: bound as its spelling and decoded by parsing it, so a word the vocabulary
/// does not know is a decode error here rather than a string passed along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<T>(pub T);

impl<T> Type<Sqlite> for Word<T> {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }
}

impl<T> Type<Postgres> for Word<T> {
    fn type_info() -> PgTypeInfo {
        <str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <str as Type<Postgres>>::compatible(ty)
    }
}

impl<'q, T: std::fmt::Display> Encode<'q, Sqlite> for Word<T> {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(self.0.to_string(), buf)
    }
}

impl<T: std::fmt::Display> Encode<'_, Postgres> for Word<T> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<'_, Postgres>>::encode(self.0.to_string(), buf)
    }
}

impl<'r, T> Decode<'r, Sqlite> for Word<T>
where
    T: FromStr<Err: std::error::Error + Send + Sync + 'static>,
{
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Word(<&str as Decode<'r, Sqlite>>::decode(value)?.parse()?))
    }
}

impl<'r, T> Decode<'r, Postgres> for Word<T>
where
    T: FromStr<Err: std::error::Error + Send + Sync + 'static>,
{
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Word(
            <&str as Decode<'r, Postgres>>::decode(value)?.parse()?,
        ))
    }
}

/// What a write transaction holds besides the rows its own statements lock (see
/// `docs/concurrency.md` for the lock each use case takes, and why it is enough).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Nothing more: the use case's statements guard themselves (inserts checked by a
    /// unique constraint, updates guarded by the state they read, a row read
    /// `FOR UPDATE` by the caller, e.g. `verification::store::lock`).
    Rows,
    /// A transaction-scoped advisory lock on one key (PostgreSQL): writers with the same
    /// key run one at a time across every instance, writers with other keys in parallel.
    Key(LockKey),
    /// The same key held shared: any number of holders at once, none while a [`Lock::Key`]
    /// of it is held (verifications started while the integration is not being removed).
    Shared(LockKey),
}

/// The key of an advisory lock: a scope and an id, hashed to the 64 bits PostgreSQL
/// takes. Two scopes that hash alike only wait for each other, never both enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockKey(i64);

impl LockKey {
    /// `scope` names what is guarded ("organization", "idempotency"); `parts` identify
    /// one of them. Each part is length-prefixed, so ("ab", "c") and ("a", "bc") differ.
    pub fn new(scope: &str, parts: &[&[u8]]) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in std::iter::once(scope.as_bytes()).chain(parts.iter().copied()) {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let digest = hash.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        LockKey(i64::from_be_bytes(first))
    }

    /// Organization-wide invariants: keep an administrator, one integration, its settings.
    pub fn organization(id: uuid::Uuid) -> Self {
        Self::new("organization", &[id.as_bytes()])
    }
}

/// Begins a transaction that will write: every use case that reads, decides, then
/// writes goes through here, and sees what it writes over.
///
/// SQLite's default (deferred) transaction takes the write lock only at its first
/// write; if another connection committed since this one started reading, that
/// upgrade fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT, code 517)
/// and the busy timeout does not help. `BEGIN IMMEDIATE` takes the write lock up
/// front, waiting up to [`BUSY_TIMEOUT`] for it: SQLite's one writer at a time, so
/// `lock` has nothing to add there.
///
/// PostgreSQL writes in parallel: `lock` says what this use case must exclude, and
/// nothing wider is taken (an advisory lock for [`Lock::Key`], held until the
/// transaction ends, taken first so everything read after it is what the previous holder
/// committed).
pub async fn begin_write(pool: &Pool, lock: Lock) -> Result<WriteTx, sqlx::Error> {
    // The wait for a connection and, on SQLite, for the one writer's lock.
    let asked = Instant::now();
    match pool {
        Pool::Sqlite(pool) => {
            let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            crate::observe::pool_wait(asked.elapsed());
            Ok(WriteTx::Sqlite(tx))
        }
        Pool::Postgres(pool) => {
            let tx = pool.begin().await?;
            crate::observe::pool_wait(asked.elapsed());
            let mut tx = WriteTx::Postgres(tx);
            take(&mut tx, lock).await?;
            Ok(tx)
        }
    }
}

/// Takes one more lock in a transaction begun by [`begin_write`], held until it ends (for a
/// use case that needs two: take them in the order `docs/concurrency.md` gives). Nothing on
/// SQLite, whose transaction is the only writer already.
pub async fn take(tx: &mut WriteTx, lock: Lock) -> Result<(), sqlx::Error> {
    let WriteTx::Postgres(tx) = tx else {
        return Ok(());
    };
    let (sql, key) = match lock {
        Lock::Rows => return Ok(()),
        Lock::Key(LockKey(key)) => ("SELECT pg_advisory_xact_lock($1)", key),
        Lock::Shared(LockKey(key)) => ("SELECT pg_advisory_xact_lock_shared($1)", key),
    };
    sqlx::query(sql).bind(key).execute(&mut **tx).await?;
    Ok(())
}

/// Begins a transaction for background work that claims rows (`FOR UPDATE SKIP LOCKED`
/// on PostgreSQL, so instances running the same sweep each take different rows and never
/// wait for each other). SQLite has one writer anyway: this is [`begin_write`] there.
pub async fn begin_claim(pool: &Pool) -> Result<WriteTx, sqlx::Error> {
    match pool {
        Pool::Sqlite(_) => begin_write(pool, Lock::Rows).await,
        Pool::Postgres(pool) => Ok(WriteTx::Postgres(pool.begin().await?)),
    }
}

/// Whether the database answers a trivial query (for `/healthz`).
pub async fn ping(pool: &Pool) -> bool {
    match pool {
        Pool::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
        Pool::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::*;

    /// The two migration folders must list the same files: a table added for one backend
    /// only would work in one suite and break the other at run time.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |folder: &str| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            names.sort();
            names
        };
        let (sqlite, postgres) = (names("migrations"), names("migrations-postgres"));
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "migrations/ (SQLite) and migrations-postgres/ must have the same files"
        );
    }

    async fn memory() -> sqlx::SqlitePool {
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
