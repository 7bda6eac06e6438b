//! Account recovery's tables: `recovery_organizations` (on, with its policy),
//! `recovery_consent_attempts`, `recovery_agents` and `verification_recoveries`. Every read
//! takes the organization id. No pass is ever written anywhere.

use time::OffsetDateTime;
use uuid::Uuid;

use super::policy::Policy;
use super::{Enabled, Refusal};
use crate::accounts::{OrganizationId, UserId};
use crate::db::{self, Connection};

/// Recovery's row, only while the tenant it was proved at is still the connected one.
pub async fn enabled(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Option<Enabled>, sqlx::Error> {
    let row = db::query(
        "SELECT r.lifetime_minutes, r.one_time, r.refuse_privileged, r.enabled_at
         FROM recovery_organizations r
         JOIN microsoft_integrations i
           ON i.organization_id = r.organization_id AND i.tenant_id = r.tenant_id
         WHERE r.organization_id = $1",
    )
    .bind(organization_id.0)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let minutes: i64 = row.try_get(0)?;
    // A row outside the bounds (none is ever written) falls back to the default policy.
    let policy = u32::try_from(minutes)
        .ok()
        .and_then(|m| Policy::new(m, row.try_get(1).ok()?, row.try_get(2).ok()?))
        .unwrap_or_default();
    Ok(Some(Enabled {
        policy,
        enabled_at: row.try_get(3)?,
    }))
}

/// Turns recovery on for `tenant_id`, with the default policy the first time (a re-enable
/// keeps the policy). `false` when that tenant is not the connected one.
pub async fn enable(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    tenant_id: &str,
    by: UserId,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let policy = Policy::default();
    let done = db::query(
        "INSERT INTO recovery_organizations (organization_id, tenant_id, lifetime_minutes, one_time,
           refuse_privileged, enabled_by, enabled_at)
         SELECT organization_id, tenant_id, $3, $4, $5, $6, $7 FROM microsoft_integrations
         WHERE organization_id = $1 AND tenant_id = $2
         ON CONFLICT (organization_id) DO UPDATE SET tenant_id = excluded.tenant_id,
           enabled_by = excluded.enabled_by, enabled_at = excluded.enabled_at",
    )
    .bind(organization_id.0)
    .bind(tenant_id)
    .bind(i64::from(policy.lifetime_minutes()))
    .bind(policy.one_time)
    .bind(policy.refuse_privileged)
    .bind(by.0)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `true` when it was on.
pub async fn disable(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<bool, sqlx::Error> {
    let done = db::query("DELETE FROM recovery_organizations WHERE organization_id = $1")
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_policy(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    policy: Policy,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE recovery_organizations SET lifetime_minutes = $2, one_time = $3, refuse_privileged = $4
         WHERE organization_id = $1",
    )
    .bind(organization_id.0)
    .bind(i64::from(policy.lifetime_minutes()))
    .bind(policy.one_time)
    .bind(policy.refuse_privileged)
    .execute(conn)
    .await?;
    Ok(())
}

/// An "Enable account recovery" on its way to Microsoft.
pub struct Attempt {
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub tenant_id: String,
    pub expires_at: OffsetDateTime,
}

pub async fn insert_attempt(
    conn: &mut impl Connection,
    state_hash: &str,
    attempt: &Attempt,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO recovery_consent_attempts (state_hash, organization_id, user_id, tenant_id, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(state_hash)
    .bind(attempt.organization_id.0)
    .bind(attempt.user_id.0)
    .bind(attempt.tenant_id.as_str())
    .bind(attempt.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The attempt of this state, removed (single use), if there is one.
pub async fn take_attempt(
    conn: &mut impl Connection,
    state_hash: &str,
) -> Result<Option<Attempt>, sqlx::Error> {
    let row = db::query(
        "SELECT organization_id, user_id, tenant_id, expires_at FROM recovery_consent_attempts
         WHERE state_hash = $1",
    )
    .bind(state_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    db::query("DELETE FROM recovery_consent_attempts WHERE state_hash = $1")
        .bind(state_hash)
        .execute(conn)
        .await?;
    Ok(Some(Attempt {
        organization_id: OrganizationId(row.try_get(0)?),
        user_id: UserId(row.try_get(1)?),
        tenant_id: row.try_get(2)?,
        expires_at: row.try_get(3)?,
    }))
}

/// A member's role, when they are in the organization.
pub async fn member_is_admin(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user: UserId,
) -> Result<Option<bool>, sqlx::Error> {
    let row = db::query("SELECT role FROM users WHERE id = $1 AND organization_id = $2")
        .bind(user.0)
        .bind(organization_id.0)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get::<String, _>(0).map(|role| role == "admin"))
        .transpose()
}

pub async fn member_name(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user: UserId,
) -> Result<Option<String>, sqlx::Error> {
    let row = db::query("SELECT display_name FROM users WHERE id = $1 AND organization_id = $2")
        .bind(user.0)
        .bind(organization_id.0)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

pub async fn is_allowed(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    Ok(
        db::query("SELECT 1 FROM recovery_agents WHERE user_id = $1 AND organization_id = $2")
            .bind(user.0)
            .bind(organization_id.0)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Allows or stops allowing a member; `true` when something changed.
pub async fn set_allowed(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user: UserId,
    allowed: bool,
    by: UserId,
) -> Result<bool, sqlx::Error> {
    let done = if allowed {
        db::query(
            "INSERT INTO recovery_agents (user_id, organization_id, granted_by, granted_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user.0)
        .bind(organization_id.0)
        .bind(by.0)
        .bind(OffsetDateTime::now_utc())
        .execute(conn)
        .await?
    } else {
        db::query("DELETE FROM recovery_agents WHERE user_id = $1 AND organization_id = $2")
            .bind(user.0)
            .bind(organization_id.0)
            .execute(conn)
            .await?
    };
    Ok(done.rows_affected() == 1)
}

pub async fn allowed_members(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Vec<UserId>, sqlx::Error> {
    let rows = db::query("SELECT user_id FROM recovery_agents WHERE organization_id = $1")
        .bind(organization_id.0)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| r.try_get(0).map(UserId)).collect()
}

/// A verification's recovery as stored.
pub struct StoredRecovery {
    pub state: String,
    pub refusal: Option<String>,
    pub valid_until: Option<OffsetDateTime>,
}

pub async fn of_verification(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    verification_id: Uuid,
) -> Result<Option<StoredRecovery>, sqlx::Error> {
    let row = db::query(
        "SELECT state, refusal, valid_until FROM verification_recoveries
         WHERE verification_id = $1 AND organization_id = $2",
    )
    .bind(verification_id)
    .bind(organization_id.0)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(StoredRecovery {
            state: r.try_get(0)?,
            refusal: r.try_get(1)?,
            valid_until: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Requested → issuing, once: `false` when it was not requested (any more). The one
/// statement every instance runs, so only one ask ever gets to issue a pass.
pub async fn claim(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    verification_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = db::query(
        "UPDATE verification_recoveries SET state = 'issuing', updated_at = $3
         WHERE verification_id = $1 AND organization_id = $2 AND state = 'requested'",
    )
    .bind(verification_id)
    .bind(organization_id.0)
    .bind(OffsetDateTime::now_utc())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn issued(
    conn: &mut impl Connection,
    verification_id: Uuid,
    valid_until: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE verification_recoveries SET state = 'issued', valid_until = $2, updated_at = $3
         WHERE verification_id = $1 AND state = 'issuing'",
    )
    .bind(verification_id)
    .bind(valid_until)
    .bind(OffsetDateTime::now_utc())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn refused(
    conn: &mut impl Connection,
    verification_id: Uuid,
    refusal: Refusal,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE verification_recoveries SET state = 'refused', refusal = $2, updated_at = $3
         WHERE verification_id = $1 AND state = 'issuing'",
    )
    .bind(verification_id)
    .bind(refusal.as_str())
    .bind(OffsetDateTime::now_utc())
    .execute(conn)
    .await?;
    Ok(())
}
