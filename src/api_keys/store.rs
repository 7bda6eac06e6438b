//! SQL for API keys. Reads by id take the organization id; the lookup by hash is a lookup
//! by a capability (the key itself).

use crate::db::{self, Connection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ApiKey;
use crate::accounts::{OrganizationId, User};

const COLUMNS: &str =
    "id, organization_id, name, prefix, created_by_name, created_at, last_used_at, revoked_at";

/// A key with what only the lookup by hash reads: its hash and its webhook secret.
#[derive(sqlx::FromRow)]
struct KeyWithSecretsRow {
    #[sqlx(flatten)]
    key: ApiKey,
    key_hash: String,
    webhook_secret: String,
}

pub async fn insert(
    conn: &mut impl Connection,
    key: &ApiKey,
    key_hash: &str,
    webhook_secret: &str,
    created_by: &User,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO api_keys (id, organization_id, name, prefix, key_hash, webhook_secret, created_by, created_by_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(key.id)
    .bind(key.organization_id.0)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(key_hash)
    .bind(webhook_secret)
    .bind(created_by.id.0)
    .bind(&key.created_by_name)
    .bind(key.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn of_organization(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Vec<ApiKey>, sqlx::Error> {
    db::query(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE organization_id = $1 ORDER BY created_at DESC"
    ))
    .bind(organization_id.0)
    .fetch_all_as(conn)
    .await
}

pub async fn by_id(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    id: Uuid,
) -> Result<Option<ApiKey>, sqlx::Error> {
    db::query(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE id = $1 AND organization_id = $2"
    ))
    .bind(id)
    .bind(organization_id.0)
    .fetch_optional_as(conn)
    .await
}

/// The key with this hash, its stored hash and its webhook secret.
pub async fn by_hash(
    conn: &mut impl Connection,
    key_hash: &str,
) -> Result<Option<(ApiKey, String, String)>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {COLUMNS}, key_hash, webhook_secret FROM api_keys WHERE key_hash = $1"
    ))
    .bind(key_hash)
    .fetch_optional_as::<KeyWithSecretsRow>(conn)
    .await?;
    Ok(row.map(|row| (row.key, row.key_hash, row.webhook_secret)))
}

pub async fn revoke(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    id: Uuid,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND organization_id = $3 AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(id)
    .bind(organization_id.0)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn touch(
    conn: &mut impl Connection,
    id: Uuid,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
