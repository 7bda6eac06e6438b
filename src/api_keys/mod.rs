//! Organization API keys for integrated tools (help desks): admins create, name and revoke
//! them; a key is shown once and only its SHA-256 is stored. A request presents the key as
//! a bearer token and acts for the key's organization.

pub mod idempotency;
mod store;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::{Initiator, OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::{self, Pool};
use crate::secret::SecretHash;

/// Every key starts with this, so a leaked key is recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "tl_live_";
/// Signing secrets of webhooks start with this.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";
/// How much of a key lists show: the prefix and four random characters.
const SHOWN_CHARS: usize = KEY_PREFIX.len() + 4;
const MAX_NAME_CHARS: usize = 100;
/// `last_used_at` is written at most this often per key: a busy tool should not turn
/// every read into a database write.
const LAST_USED_RESOLUTION: Duration = Duration::from_secs(60);

/// Also an `api_keys` row as read (`store::COLUMNS`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub name: String,
    /// `tl_live_abcd`: enough to tell keys apart, useless to an attacker.
    pub prefix: String,
    pub created_by_name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Who a request with this key is: the tool, by the key's name (timelines say
    /// "Zendesk started a verification…"; a ticket it creates has it as its source).
    pub fn initiator(&self) -> Initiator {
        Initiator::tool(self.organization_id, &self.name)
    }
}

/// A key just created: the only moment its secret values exist outside the caller.
pub struct CreatedKey {
    pub key: ApiKey,
    /// The bearer token (`tl_live_…`). Deliberately no `Debug`.
    pub secret: String,
    /// Signs webhooks sent to a per-request `webhook_url` of this key's requests.
    pub webhook_secret: String,
}

/// A key that authenticated a request, with what the request may need of it.
#[derive(Clone)]
pub struct Authenticated {
    pub key: ApiKey,
    pub webhook_secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("Only organization administrators can do this.")]
    NotAdmin,
    #[error("Give the key a name (up to 100 characters), such as the tool that will use it.")]
    InvalidName,
    #[error("That API key was not found in your organization.")]
    NotFound,
    #[error("The API key is missing, unknown or revoked.")]
    Unauthorized,
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// 256 random bits after a recognisable prefix.
fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A new webhook signing secret (`whsec_…`).
pub fn new_webhook_secret() -> String {
    random_token(WEBHOOK_SECRET_PREFIX)
}

/// Only a well-formed key is worth a lookup.
fn looks_like_key(presented: &str) -> bool {
    presented
        .strip_prefix(KEY_PREFIX)
        .is_some_and(crate::secret::looks_like_secret)
}

pub async fn create(pool: &Pool, admin: &User, name: &str) -> Result<CreatedKey, ApiKeyError> {
    require_admin(admin)?;
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiKeyError::InvalidName);
    }
    let secret = random_token(KEY_PREFIX);
    let webhook_secret = new_webhook_secret();
    let key = ApiKey {
        id: Uuid::new_v4(),
        organization_id: admin.organization_id,
        name: name.to_owned(),
        prefix: secret[..SHOWN_CHARS].to_owned(),
        created_by_name: admin.display_name.clone(),
        created_at: OffsetDateTime::now_utc(),
        last_used_at: None,
        revoked_at: None,
    };
    // A new key: nothing to exclude.
    let mut tx = db::begin_write(pool, db::Lock::Rows).await?;
    store::insert(
        &mut tx,
        &key,
        SecretHash::of(&secret).as_str(),
        &webhook_secret,
        admin,
    )
    .await?;
    audit::record(
        &mut tx,
        admin.organization_id,
        Some(admin),
        Action::ApiKeyCreated,
        &format!("{} ({})", key.name, key.prefix),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedKey {
        key,
        secret,
        webhook_secret,
    })
}

/// The organization's keys, newest first, revoked ones included (greyed in the list).
pub async fn list(pool: &Pool, admin: &User) -> Result<Vec<ApiKey>, ApiKeyError> {
    require_admin(admin)?;
    let mut conn = pool.acquire().await?;
    Ok(store::of_organization(&mut conn, admin.organization_id).await?)
}

/// Revokes a key at once: the next request with it is refused.
pub async fn revoke(pool: &Pool, admin: &User, id: Uuid) -> Result<(), ApiKeyError> {
    require_admin(admin)?;
    // The organization's lock: one revocation, one audit line.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(admin.organization_id.0)),
    )
    .await?;
    let key = store::by_id(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(ApiKeyError::NotFound)?;
    if key.revoked_at.is_none() {
        store::revoke(
            &mut tx,
            admin.organization_id,
            id,
            OffsetDateTime::now_utc(),
        )
        .await?;
        audit::record(
            &mut tx,
            admin.organization_id,
            Some(admin),
            Action::ApiKeyRevoked,
            &format!("{} ({})", key.name, key.prefix),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The live key behind a bearer token; records when it was last used.
pub async fn authenticate(pool: &Pool, presented: &str) -> Result<Authenticated, ApiKeyError> {
    if !looks_like_key(presented) {
        return Err(ApiKeyError::Unauthorized);
    }
    let mut conn = pool.acquire().await?;
    let (key, stored_hash, webhook_secret) =
        store::by_hash(&mut conn, SecretHash::of(presented).as_str())
            .await?
            .ok_or(ApiKeyError::Unauthorized)?;
    // The lookup was by hash; compare once more in constant time all the same.
    if key.revoked_at.is_some() || !SecretHash::from_stored(stored_hash).matches(presented) {
        return Err(ApiKeyError::Unauthorized);
    }
    let now = OffsetDateTime::now_utc();
    if key
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_RESOLUTION)
    {
        store::touch(&mut conn, key.id, now).await?;
    }
    Ok(Authenticated {
        key,
        webhook_secret,
    })
}

fn require_admin(user: &User) -> Result<(), ApiKeyError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(ApiKeyError::NotAdmin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_recognised() {
        let a = random_token(KEY_PREFIX);
        let b = random_token(KEY_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("tl_live_"));
        assert!(looks_like_key(&a));
        assert!(!looks_like_key(&a[1..]));
        assert!(!looks_like_key("Bearer whatever"));
        assert!(!looks_like_key(&random_token(WEBHOOK_SECRET_PREFIX)));
    }
}
