//! Account recovery (issue 21): a verification may end in a Microsoft Entra Temporary Access
//! Pass for the person who just proved who they are, shown once on their own page.
//!
//! - **Opt-in** (`enable`): an admin consents to the second, recovery-only app registration at
//!   the connected tenant; the grant is proved with an app token, as connect proves its own.
//! - **Decided at send time** (`permit`): only by an admin or a member an admin allowed, only
//!   while recovery is on and Face Check is asked for.
//! - **Issued to the person only** (`issue`): the person's verified page asks for the pass;
//!   the verification's recovery moves from requested to issuing once (a second ask finds it
//!   taken), the pass goes back in that answer alone, and only "issued, valid until …" or
//!   the refusal's reason is recorded.

mod enable;
mod issue;
mod permit;
mod policy;
mod store;

pub use enable::{ConsentReturn, EnableFailure, finish_enable, start_enable};
pub use issue::{
    PERSON_REFUSED, PersonRecovery, RecoveryState, RecoveryView, Refusal, RevealError,
    RevealedPass, for_person, of_verification, reveal_for_link,
};
pub use permit::{may_start, members_allowed, permit, set_member_permission};
pub use policy::{LIFETIME_MAX_MINUTES, LIFETIME_MIN_MINUTES, Policy};

use time::OffsetDateTime;

use crate::accounts::{OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::{self, Pool};
use crate::integrations::{self, MicrosoftIntegration};

/// Why account recovery cannot be set up or asked for. One enum for the module; each
/// refusal says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AccountRecoveryError {
    #[error("Only an organization administrator can change account recovery.")]
    NotAdmin,
    #[error("Connect Microsoft Verified ID first: account recovery works in the connected tenant.")]
    NotConnected,
    #[error(
        "Account recovery is not available on this Traceless server: its operator has not configured the recovery app registration (TRACELESS_MS_RECOVERY_CLIENT_ID)."
    )]
    NotConfigured,
    #[error("{0}")]
    NoFaceCheck(NoFaceCheck),
    #[error(
        "Account recovery is not turned on for your organization. An administrator can enable it on the Integrations page."
    )]
    NotEnabled,
    #[error(
        "You may not start account recovery. Ask an administrator to allow it for you on the Team page."
    )]
    NotPermitted,
    #[error("Enter a pass lifetime from {LIFETIME_MIN_MINUTES} to {LIFETIME_MAX_MINUTES} minutes.")]
    LifetimeOutOfRange,
    #[error("That teammate is not in your organization.")]
    UnknownMember,
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Why recovery is not offered: a pass goes only to someone who showed their face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoFaceCheck {
    #[error(
        "Account recovery needs Face Check, and the connected credential has no photo to compare with: Microsoft cannot run Face Check for it."
    )]
    NoPhotoClaim,
    #[error(
        "Account recovery needs Face Check. Turn Face Check on in the verification settings first."
    )]
    TurnedOff,
}

/// Account recovery as the connection card shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveryStatus {
    /// Why it cannot be enabled or used now (`None`: it can).
    pub unavailable: Option<String>,
    /// On, with its policy; `None`: off.
    pub enabled: Option<Enabled>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Enabled {
    pub policy: Policy,
    pub enabled_at: OffsetDateTime,
}

/// Whether Face Check can be asked for: the credential carries a photo and the organization
/// asks for Face Check.
pub(crate) async fn face_check(
    conn: &mut impl db::Connection,
    integration: &MicrosoftIntegration,
    organization_id: OrganizationId,
) -> Result<Result<(), NoFaceCheck>, sqlx::Error> {
    if integration.photo_claim.is_none() {
        return Ok(Err(NoFaceCheck::NoPhotoClaim));
    }
    let (_, threshold, _) =
        crate::verification::store::organization_settings(conn, organization_id).await?;
    Ok(if threshold.is_some() {
        Ok(())
    } else {
        Err(NoFaceCheck::TurnedOff)
    })
}

/// The card's view. `configured`: this server has a recovery app registration.
pub async fn status(
    pool: &Pool,
    organization_id: OrganizationId,
    configured: bool,
) -> Result<RecoveryStatus, AccountRecoveryError> {
    let mut conn = pool.acquire().await?;
    let enabled = store::enabled(&mut conn, organization_id).await?;
    let unavailable = if !configured {
        Some(AccountRecoveryError::NotConfigured.to_string())
    } else {
        match integrations::integration_in(&mut conn, organization_id).await? {
            None => Some(AccountRecoveryError::NotConnected.to_string()),
            Some(integration) => face_check(&mut conn, &integration, organization_id)
                .await?
                .err()
                .map(|why| why.to_string()),
        }
    };
    Ok(RecoveryStatus {
        unavailable,
        enabled,
    })
}

/// "Turn off": forgets the proved grant and the policy. Verifications already sent with
/// recovery are refused when their person asks (`Refusal::TurnedOff`). The consent at
/// Microsoft stays until the tenant's admin removes the app (the README says how).
pub async fn turn_off(pool: &Pool, actor: &User) -> Result<(), AccountRecoveryError> {
    if !actor.is_admin() {
        return Err(AccountRecoveryError::NotAdmin);
    }
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await?;
    if store::disable(&mut tx, actor.organization_id).await? {
        audit::record(
            &mut tx,
            actor.organization_id,
            Some(actor),
            Action::RecoveryDisabled,
            "Account recovery turned off",
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Changes the policy of enabled recovery.
pub async fn set_policy(
    pool: &Pool,
    actor: &User,
    policy: Policy,
) -> Result<(), AccountRecoveryError> {
    if !actor.is_admin() {
        return Err(AccountRecoveryError::NotAdmin);
    }
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await?;
    let before = store::enabled(&mut tx, actor.organization_id)
        .await?
        .ok_or(AccountRecoveryError::NotEnabled)?;
    store::set_policy(&mut tx, actor.organization_id, policy).await?;
    audit::record(
        &mut tx,
        actor.organization_id,
        Some(actor),
        Action::RecoveryPolicyChanged,
        &format!("{} → {}", before.policy.describe(), policy.describe()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
