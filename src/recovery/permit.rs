//! Who may ask for recovery when sending: administrators always (they grant the permission,
//! themselves included, so refusing them would only add a step), members an administrator
//! allowed ("may start account recovery"), and the organization's API keys (only an
//! administrator makes one). And only while recovery is on and Face Check is asked for.

use super::{AccountRecoveryError, face_check, store};
use crate::accounts::{Initiator, OrganizationId, User, UserId};
use crate::audit::{self, Action};
use crate::db::{self, Pool};
use crate::integrations;
use crate::verification::RecoveryPermit;

/// Checks that `by` may send a verification that ends in a Temporary Access Pass now.
pub async fn permit(pool: &Pool, by: &Initiator) -> Result<RecoveryPermit, AccountRecoveryError> {
    let mut conn = pool.acquire().await?;
    if let Some(user) = by.user_id
        && !may_start_in(&mut conn, by.organization_id, user).await?
    {
        return Err(AccountRecoveryError::NotPermitted);
    }
    if store::enabled(&mut conn, by.organization_id)
        .await?
        .is_none()
    {
        return Err(AccountRecoveryError::NotEnabled);
    }
    let integration = integrations::integration_in(&mut conn, by.organization_id)
        .await?
        .ok_or(AccountRecoveryError::NotConnected)?;
    face_check(&mut conn, &integration, by.organization_id)
        .await?
        .map_err(AccountRecoveryError::NoFaceCheck)?;
    Ok(RecoveryPermit::checked())
}

async fn may_start_in(
    conn: &mut impl db::Connection,
    organization_id: OrganizationId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    Ok(
        match store::member_is_admin(conn, organization_id, user).await? {
            Some(true) => true,
            Some(false) => store::is_allowed(conn, organization_id, user).await?,
            None => false,
        },
    )
}

/// Whether the user may ask for recovery (the send form shows the choice only then, and only
/// while recovery is on: see [`permit`]).
pub async fn may_start(pool: &Pool, user: &User) -> Result<bool, AccountRecoveryError> {
    let mut conn = pool.acquire().await?;
    Ok(
        may_start_in(&mut conn, user.organization_id, user.id).await?
            && store::enabled(&mut conn, user.organization_id)
                .await?
                .is_some(),
    )
}

/// The members an administrator allowed (administrators may anyway).
pub async fn members_allowed(
    pool: &Pool,
    organization_id: OrganizationId,
) -> Result<Vec<UserId>, AccountRecoveryError> {
    let mut conn = pool.acquire().await?;
    Ok(store::allowed_members(&mut conn, organization_id).await?)
}

/// An administrator allows a member to start account recovery, or stops allowing it.
pub async fn set_member_permission(
    pool: &Pool,
    actor: &User,
    member: UserId,
    allowed: bool,
) -> Result<(), AccountRecoveryError> {
    if !actor.is_admin() {
        return Err(AccountRecoveryError::NotAdmin);
    }
    let mut tx = db::begin_write(pool, db::Lock::Rows).await?;
    let name = store::member_name(&mut tx, actor.organization_id, member)
        .await?
        .ok_or(AccountRecoveryError::UnknownMember)?;
    if store::set_allowed(&mut tx, actor.organization_id, member, allowed, actor.id).await? {
        audit::record(
            &mut tx,
            actor.organization_id,
            Some(actor),
            Action::RecoveryPermissionChanged,
            &format!(
                "{name} {} start account recovery",
                if allowed { "may now" } else { "may no longer" }
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
