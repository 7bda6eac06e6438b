//! The two-step verification tables: `mfa_secrets`, `mfa_recovery_codes`, and the
//! organization's `mfa_required` flag.

use time::OffsetDateTime;

use crate::accounts::{OrganizationId, UserId};
use crate::db::{self, Connection};

#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct SecretRow {
    pub sealed_secret: String,
    pub enabled_at: Option<OffsetDateTime>,
}

pub(super) async fn secret_of(
    conn: &mut impl Connection,
    user: UserId,
) -> Result<Option<SecretRow>, sqlx::Error> {
    db::query("SELECT sealed_secret, enabled_at FROM mfa_secrets WHERE user_id = $1")
        .bind(user.0)
        .fetch_optional_as(conn)
        .await
}

/// Keeps a new secret being set up, replacing an earlier one not yet confirmed; a secret
/// already turned on is never replaced here.
pub(super) async fn keep_pending(
    conn: &mut impl Connection,
    user: UserId,
    sealed: &str,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = db::query(
        "INSERT INTO mfa_secrets (user_id, sealed_secret, enabled_at, last_step, created_at)
         VALUES ($1, $2, NULL, 0, $3)
         ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret,
           created_at = excluded.created_at
         WHERE mfa_secrets.enabled_at IS NULL",
    )
    .bind(user.0)
    .bind(sealed)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns the pending secret on, remembering the step of the code that proved it.
pub(super) async fn enable(
    conn: &mut impl Connection,
    user: UserId,
    step: i64,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let done = db::query(
        "UPDATE mfa_secrets SET enabled_at = $2, last_step = $3
         WHERE user_id = $1 AND enabled_at IS NULL",
    )
    .bind(user.0)
    .bind(now)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Accepts a code of `step` once: false when a code of that step or a later one was already
/// accepted (a replay), checked and recorded in one statement so two requests cannot both pass.
pub(super) async fn accept_step(
    conn: &mut impl Connection,
    user: UserId,
    step: i64,
) -> Result<bool, sqlx::Error> {
    let done = db::query(
        "UPDATE mfa_secrets SET last_step = $2
         WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_step < $2",
    )
    .bind(user.0)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn forget(conn: &mut impl Connection, user: UserId) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(conn)
        .await?;
    db::query("DELETE FROM mfa_secrets WHERE user_id = $1")
        .bind(user.0)
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn replace_recovery_codes(
    conn: &mut impl Connection,
    user: UserId,
    hashes: &[String],
) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .execute(conn)
        .await?;
    for hash in hashes {
        db::query("INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user.0)
            .bind(hash.as_str())
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Uses up a recovery code: true when it was there (and now is gone).
pub(super) async fn use_recovery_code(
    conn: &mut impl Connection,
    user: UserId,
    hash: &str,
) -> Result<bool, sqlx::Error> {
    let done = db::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2")
        .bind(user.0)
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn recovery_codes_left(
    conn: &mut impl Connection,
    user: UserId,
) -> Result<i64, sqlx::Error> {
    db::query("SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1")
        .bind(user.0)
        .fetch_one(conn)
        .await?
        .try_get(0)
}

pub(super) async fn required(
    conn: &mut impl Connection,
    organization: OrganizationId,
) -> Result<bool, sqlx::Error> {
    db::query("SELECT mfa_required FROM organizations WHERE id = $1")
        .bind(organization.0)
        .fetch_one(conn)
        .await?
        .try_get(0)
}

pub(super) async fn set_required(
    conn: &mut impl Connection,
    organization: OrganizationId,
    required: bool,
) -> Result<(), sqlx::Error> {
    db::query("UPDATE organizations SET mfa_required = $2 WHERE id = $1")
        .bind(organization.0)
        .bind(required)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the organization requires two-step verification and the user has not turned it
/// on: one read, made on every signed-in request.
pub(super) async fn setup_outstanding(
    conn: &mut impl Connection,
    organization: OrganizationId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    let row = db::query(
        "SELECT o.mfa_required,
                EXISTS (SELECT 1 FROM mfa_secrets s WHERE s.user_id = $2 AND s.enabled_at IS NOT NULL)
         FROM organizations o WHERE o.id = $1",
    )
    .bind(organization.0)
    .bind(user.0)
    .fetch_one(conn)
    .await?;
    let required: bool = row.try_get(0)?;
    let enabled: bool = row.try_get(1)?;
    Ok(required && !enabled)
}

/// The members of `organization` with two-step verification on.
pub(super) async fn enabled_members(
    conn: &mut impl Connection,
    organization: OrganizationId,
) -> Result<Vec<UserId>, sqlx::Error> {
    db::query(
        "SELECT s.user_id FROM mfa_secrets s JOIN users u ON u.id = s.user_id
         WHERE u.organization_id = $1 AND s.enabled_at IS NOT NULL",
    )
    .bind(organization.0)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| Ok(UserId(row.try_get(0)?)))
    .collect()
}
