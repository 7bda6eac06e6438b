//! The `limit_counts` table: one atomic statement per operation, outside any write
//! transaction (the upsert is atomic by itself, and counting must not wait for writers).

use time::OffsetDateTime;

use super::Door;
use crate::db::{self, Pool};

/// (hits, last counted) of the key in window `window_no`, if counted there.
pub(super) async fn read(
    pool: &Pool,
    door: Door,
    key: &str,
    window_no: i64,
) -> Result<Option<(u32, OffsetDateTime)>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let row = db::query(
        "SELECT hits, last_at FROM limit_counts WHERE door = $1 AND key = $2 AND window_no = $3",
    )
    .bind(door.as_str())
    .bind(key)
    .bind(window_no)
    .fetch_optional(&mut conn)
    .await?;
    row.map(|row| Ok((hits(row.try_get("hits")?), row.try_get("last_at")?)))
        .transpose()
}

/// Counts one, creating the window's row if it is the first; returns (hits, now).
pub(super) async fn add(
    pool: &Pool,
    door: Door,
    key: &str,
    window_no: i64,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(u32, OffsetDateTime), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let row = db::query(
        "INSERT INTO limit_counts (door, key, window_no, hits, last_at, expires_at)
         VALUES ($1, $2, $3, 1, $4, $5)
         ON CONFLICT (door, key, window_no)
         DO UPDATE SET hits = limit_counts.hits + 1, last_at = excluded.last_at
         RETURNING hits",
    )
    .bind(door.as_str())
    .bind(key)
    .bind(window_no)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut conn)
    .await?;
    Ok((hits(row.try_get(0)?), now))
}

pub(super) async fn clear(
    pool: &Pool,
    door: Door,
    key: &str,
    window_no: i64,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    db::query("DELETE FROM limit_counts WHERE door = $1 AND key = $2 AND window_no = $3")
        .bind(door.as_str())
        .bind(key)
        .bind(window_no)
        .execute(&mut conn)
        .await?;
    Ok(())
}

pub(super) async fn refund(
    pool: &Pool,
    door: Door,
    key: &str,
    window_no: i64,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    db::query(
        "UPDATE limit_counts SET hits = hits - 1
         WHERE door = $1 AND key = $2 AND window_no = $3 AND hits > 0",
    )
    .bind(door.as_str())
    .bind(key)
    .bind(window_no)
    .execute(&mut conn)
    .await?;
    Ok(())
}

pub(super) async fn delete_ended(
    conn: &mut impl db::Connection,
    now: OffsetDateTime,
) -> Result<u64, sqlx::Error> {
    Ok(db::query("DELETE FROM limit_counts WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected())
}

fn hits(stored: i64) -> u32 {
    u32::try_from(stored).unwrap_or(u32::MAX)
}
