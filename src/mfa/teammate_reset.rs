//! An administrator's reset of a teammate's two-step verification: the way back in for a
//! member who lost both their phone and their recovery codes, without database work.

use super::service::Caller;
use super::{MfaError, store};
use crate::accounts::{self, User, UserId, sessions};
use crate::audit::{self, Action};
use crate::db::{self, Lock, LockKey, Pool};

/// Removes `member`'s TOTP secret and recovery codes and ends all their sessions, so
/// whoever holds the old phone or a session signs in again with the password alone (and is
/// sent to set it up again if the organization requires it). Administrators only, for
/// another member of their own organization: a member of another organization is
/// [`MfaError::MemberNotFound`], never reset. Returns the member reset.
pub async fn reset_teammate(
    pool: &Pool,
    caller: Caller<'_>,
    member: UserId,
) -> Result<User, MfaError> {
    let admin = caller.user;
    if !admin.is_admin() {
        return Err(MfaError::NotAdmin);
    }
    if member == admin.id {
        return Err(MfaError::ResetOwn);
    }
    let member = accounts::member(pool, admin.organization_id, member)
        .await?
        .ok_or(MfaError::MemberNotFound)?;
    // The organization's lock: the team (and its requirement) changes one at a time, so a
    // member removed meanwhile is seen here without a secret, and nothing is logged for them.
    let mut tx = db::begin_write(
        pool,
        Lock::Key(LockKey::organization(admin.organization_id.0)),
    )
    .await?;
    let enabled = store::secret_of(&mut tx, member.id)
        .await?
        .is_some_and(|s| s.enabled_at.is_some());
    if !enabled {
        return Err(MfaError::MemberWithoutMfa);
    }
    store::forget(&mut tx, member.id).await?;
    let ended = sessions::end_all(&mut tx, member.id).await?;
    audit::record_from(
        &mut tx,
        admin.organization_id,
        Some(admin),
        Action::MfaResetForTeammate,
        &format!(
            "{} ({}); {ended} sessions ended",
            member.display_name, member.email
        ),
        caller.client,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(organization = %admin.organization_id, by = %admin.id, user = %member.id, ended, "two-step verification reset by an administrator");
    Ok(member)
}

/// Which members of the administrator's organization have two-step verification on, for
/// the Team page.
pub async fn enabled_in_organization(pool: &Pool, admin: &User) -> Result<Vec<UserId>, MfaError> {
    if !admin.is_admin() {
        return Err(MfaError::NotAdmin);
    }
    let mut conn = pool.acquire().await?;
    Ok(store::enabled_members(&mut conn, admin.organization_id).await?)
}
