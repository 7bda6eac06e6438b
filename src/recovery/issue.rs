//! Issuing the pass, when the person's verified page asks for it (never from Microsoft's
//! callback: the callback only verifies). The ask is authorized by the person's link; the
//! verification's recovery moves from requested to issuing in one guarded statement, so a
//! second ask, a reload or another instance never gets a second pass. The pass is returned
//! to that one ask and kept nowhere: only "issued, valid until …" or the refusal's reason is
//! recorded, and the verification stays verified either way.

use time::OffsetDateTime;
use uuid::Uuid;

use super::store;
use crate::accounts::OrganizationId;
use crate::db::{self, Pool};
use crate::email::EmailAddress;
use crate::microsoft::{
    MicrosoftError, RecoveryClient, RecoveryError, TemporaryAccessPass, TenantId, UserLookup,
};
use crate::verification::status::Status;
use crate::verification::{Verification, Verifier};

/// Why no pass was issued. Stored as its word; the agent sees [`Refusal::explain`], the
/// person only [`PERSON_REFUSED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The tenant's authentication methods policy has Temporary Access Pass turned off.
    PolicyDisabled,
    /// The person is not in the group the tenant's Temporary Access Pass policy targets.
    UserNotTargeted,
    /// The policy's lifetime is outside what the tenant allows.
    LifetimeNotAllowed,
    /// The tenant allows only one-time passes.
    ReusableNotAllowed,
    /// The person holds a directory role: never recovered this way.
    Privileged,
    /// No account in the tenant has the verified email.
    NoUser,
    /// Several accounts have it: none is recovered.
    SeveralUsers,
    /// The tenant no longer grants the recovery app what it needs.
    NotGranted,
    /// Microsoft asked to slow down (429).
    Throttled,
    /// Microsoft did not answer, or answered 5xx.
    Unavailable,
    /// Microsoft refused for another reason.
    MicrosoftRefused,
    /// Account recovery was turned off after the verification was sent.
    TurnedOff,
    /// The person was verified without Face Check (it was turned off after sending).
    NoFaceCheck,
}

impl Refusal {
    pub const ALL: [Refusal; 13] = [
        Refusal::PolicyDisabled,
        Refusal::UserNotTargeted,
        Refusal::LifetimeNotAllowed,
        Refusal::ReusableNotAllowed,
        Refusal::Privileged,
        Refusal::NoUser,
        Refusal::SeveralUsers,
        Refusal::NotGranted,
        Refusal::Throttled,
        Refusal::Unavailable,
        Refusal::MicrosoftRefused,
        Refusal::TurnedOff,
        Refusal::NoFaceCheck,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::PolicyDisabled => "policy_disabled",
            Refusal::UserNotTargeted => "user_not_targeted",
            Refusal::LifetimeNotAllowed => "lifetime_not_allowed",
            Refusal::ReusableNotAllowed => "reusable_not_allowed",
            Refusal::Privileged => "privileged_user",
            Refusal::NoUser => "no_user",
            Refusal::SeveralUsers => "several_users",
            Refusal::NotGranted => "not_granted",
            Refusal::Throttled => "throttled",
            Refusal::Unavailable => "microsoft_unavailable",
            Refusal::MicrosoftRefused => "microsoft_refused",
            Refusal::TurnedOff => "recovery_turned_off",
            Refusal::NoFaceCheck => "no_face_check",
        }
    }

    pub fn parse(word: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.as_str() == word)
    }

    /// For the agent (their page, the timeline, webhooks): why, and what to do.
    pub fn explain(self) -> &'static str {
        match self {
            Refusal::PolicyDisabled => {
                "Temporary Access Pass is turned off in the tenant's authentication methods policy. A Microsoft administrator can turn it on (Entra admin center → Authentication methods → Temporary Access Pass)."
            }
            Refusal::UserNotTargeted => {
                "The person is not in the group the tenant's Temporary Access Pass policy is for."
            }
            Refusal::LifetimeNotAllowed => {
                "The pass lifetime in Traceless is outside what the tenant's Temporary Access Pass policy allows. Change one of them to match."
            }
            Refusal::ReusableNotAllowed => {
                "The tenant allows only one-time passes. Turn on \"one sign-in only\" in the account recovery settings."
            }
            Refusal::Privileged => {
                "The person holds a directory role in Microsoft Entra, so Traceless does not issue them a pass. Recover this account another way."
            }
            Refusal::NoUser => "No account in the tenant has the verified email address.",
            Refusal::SeveralUsers => {
                "Several accounts in the tenant have the verified email address, so none was chosen."
            }
            Refusal::NotGranted => {
                "The tenant no longer grants the recovery app what it needs. An administrator can press Enable account recovery again."
            }
            Refusal::Throttled => {
                "Microsoft asked Traceless to slow down. Send a new verification in a few minutes."
            }
            Refusal::Unavailable => {
                "Microsoft was not answering. Send a new verification in a few minutes."
            }
            Refusal::MicrosoftRefused => "Microsoft refused to create the pass.",
            Refusal::TurnedOff => {
                "Account recovery was turned off after this verification was sent."
            }
            Refusal::NoFaceCheck => {
                "The person was verified without Face Check (it was turned off after this verification was sent)."
            }
        }
    }

    fn of(error: &RecoveryError) -> Refusal {
        match error {
            RecoveryError::PolicyDisabled => Refusal::PolicyDisabled,
            RecoveryError::UserNotTargeted => Refusal::UserNotTargeted,
            RecoveryError::LifetimeOutOfBounds { .. } => Refusal::LifetimeNotAllowed,
            RecoveryError::ReusablePassNotAllowed => Refusal::ReusableNotAllowed,
            RecoveryError::Privileged => Refusal::Privileged,
            RecoveryError::UserNotFound => Refusal::NoUser,
            // The token endpoint refusing the app (its consent removed from the tenant) is the
            // grant withdrawn too.
            RecoveryError::Forbidden { .. }
            | RecoveryError::Microsoft(
                MicrosoftError::Rejected { .. }
                | MicrosoftError::MissingRole
                | MicrosoftError::ConsentMissing { .. },
            ) => Refusal::NotGranted,
            RecoveryError::Throttled { .. } => Refusal::Throttled,
            RecoveryError::Unavailable { .. } => Refusal::Unavailable,
            RecoveryError::Refused { .. } | RecoveryError::Microsoft(_) => {
                Refusal::MicrosoftRefused
            }
        }
    }
}

/// What the person reads when no pass was issued: nothing about their account.
pub const PERSON_REFUSED: &str = "We could not give you a Temporary Access Pass here. Your help desk can see why and will help you get back into your account another way.";

/// A verification's recovery, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryState {
    /// Asked for at send time; no pass yet.
    Requested,
    /// The person's page asked for the pass; Microsoft is creating it (or it failed midway,
    /// and then no pass is ever shown).
    Issuing,
    Issued {
        valid_until: OffsetDateTime,
    },
    Refused(Refusal),
}

/// The agent's view of a verification's recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryView {
    pub state: RecoveryState,
}

impl RecoveryView {
    /// The agent's words.
    pub fn describe(&self) -> String {
        match self.state {
            RecoveryState::Requested => {
                "A Temporary Access Pass will be shown to the person once they are verified with Face Check.".into()
            }
            RecoveryState::Issuing => "A Temporary Access Pass is being issued.".into(),
            RecoveryState::Issued { valid_until } => issued_message(valid_until),
            RecoveryState::Refused(refusal) => {
                format!("No Temporary Access Pass was issued: {}", refusal.explain())
            }
        }
    }
}

fn issued_message(valid_until: OffsetDateTime) -> String {
    format!(
        "A Temporary Access Pass was issued to the person, valid until {:04}-{:02}-{:02} {:02}:{:02} UTC.",
        valid_until.year(),
        u8::from(valid_until.month()),
        valid_until.day(),
        valid_until.hour(),
        valid_until.minute()
    )
}

fn state_of(stored: store::StoredRecovery) -> Option<RecoveryState> {
    Some(match stored.state.as_str() {
        "requested" => RecoveryState::Requested,
        "issuing" => RecoveryState::Issuing,
        "issued" => RecoveryState::Issued {
            valid_until: stored.valid_until?,
        },
        "refused" => RecoveryState::Refused(Refusal::parse(stored.refusal.as_deref()?)?),
        _ => return None,
    })
}

/// The recovery of a verification of `organization_id`, if it was asked for.
pub async fn of_verification(
    pool: &Pool,
    organization_id: OrganizationId,
    verification_id: Uuid,
) -> Result<Option<RecoveryView>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    Ok(
        store::of_verification(&mut conn, organization_id, verification_id)
            .await?
            .and_then(state_of)
            .map(|state| RecoveryView { state }),
    )
}

/// What the person's verified page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonRecovery {
    /// A pass waits for them: the page offers to show it.
    Offered,
    /// It was shown already (or is being made): never again.
    Shown,
    /// None could be issued.
    Refused,
}

/// How long after the verified result the person's page may still ask for the pass: long
/// enough for a reload or a slow reader, short enough that a link found later (in a ticket,
/// a mailbox, a log) mints nothing.
pub const OFFER_WINDOW: time::Duration = time::Duration::minutes(30);

/// Whether `verification` is verified, within [`OFFER_WINDOW`] of its result.
fn offer_open(verification: &Verification, now: OffsetDateTime) -> bool {
    verification.status == Status::Verified
        && verification
            .completed_at
            .is_some_and(|verified| now - verified <= OFFER_WINDOW)
}

/// The person's side of their verification's recovery (`None`: none was asked for, or the
/// person is not verified, or was too long ago: nothing is or will be offered on this link).
pub async fn for_person(
    pool: &Pool,
    verification: &Verification,
) -> Result<Option<PersonRecovery>, sqlx::Error> {
    if !offer_open(verification, OffsetDateTime::now_utc()) {
        return Ok(None);
    }
    let mut conn = pool.acquire().await?;
    Ok(
        store::of_verification(&mut conn, verification.organization_id, verification.id)
            .await?
            .and_then(state_of)
            .map(|state| match state {
                RecoveryState::Requested => PersonRecovery::Offered,
                RecoveryState::Issuing | RecoveryState::Issued { .. } => PersonRecovery::Shown,
                RecoveryState::Refused(_) => PersonRecovery::Refused,
            }),
    )
}

/// The pass, for the person's page alone.
#[derive(Debug)]
pub struct RevealedPass {
    pub pass: TemporaryAccessPass,
    pub valid_until: OffsetDateTime,
    pub one_time: bool,
}

/// Why the person's page got no pass.
#[derive(Debug, thiserror::Error)]
pub enum RevealError {
    /// No pass to show on this link: not verified with recovery asked for, or shown already.
    /// One answer for all, so the link reveals nothing more.
    #[error("There is no Temporary Access Pass to show on this link.")]
    NothingToShow,
    /// None could be issued; the agent sees why.
    #[error("{PERSON_REFUSED}")]
    Refused(Refusal),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// The person's verified page asks for their pass.
pub async fn reveal_for_link(
    pool: &Pool,
    verifier: &Verifier,
    client: Option<&RecoveryClient>,
    token: &str,
) -> Result<RevealedPass, RevealError> {
    let verification = verifier
        .by_token(token)
        .await
        .map_err(|_| RevealError::NothingToShow)?;
    if !offer_open(&verification, OffsetDateTime::now_utc()) {
        return Err(RevealError::NothingToShow);
    }
    let organization_id = verification.organization_id;
    {
        let mut tx = db::begin_write(pool, db::Lock::Rows).await?;
        let claimed = store::claim(&mut tx, organization_id, verification.id).await?;
        tx.commit().await?;
        if !claimed {
            return Err(RevealError::NothingToShow);
        }
    }
    match issue(pool, client, &verification).await {
        Ok(issued) => {
            // The pass exists at Microsoft now: a failure to note it must not lose it for
            // the person (the agent's page then shows it as being issued).
            if let Err(error) = record(pool, verifier, &verification, Ok(issued.valid_until)).await
            {
                tracing::error!(verification = %verification.id, %error, "recording that a Temporary Access Pass was issued");
            }
            tracing::info!(verification = %verification.id, "a Temporary Access Pass was issued");
            Ok(issued)
        }
        Err(refusal) => {
            record(pool, verifier, &verification, Err(refusal)).await?;
            tracing::info!(verification = %verification.id, refusal = refusal.as_str(), "no Temporary Access Pass was issued");
            Err(RevealError::Refused(refusal))
        }
    }
}

/// The Graph side: the one user the verified email names, their roles when the policy says
/// so, then the pass.
async fn issue(
    pool: &Pool,
    client: Option<&RecoveryClient>,
    verification: &Verification,
) -> Result<RevealedPass, Refusal> {
    let face_checked = verification
        .evidence
        .as_ref()
        .is_some_and(|e| e.face_check_score.is_some());
    if !face_checked {
        return Err(Refusal::NoFaceCheck);
    }
    let client = client.ok_or(Refusal::TurnedOff)?;
    let (policy, tenant) = {
        let mut conn = pool.acquire().await.map_err(|_| Refusal::Unavailable)?;
        let enabled = store::enabled(&mut conn, verification.organization_id)
            .await
            .map_err(|_| Refusal::Unavailable)?
            .ok_or(Refusal::TurnedOff)?;
        let integration =
            crate::integrations::integration_in(&mut conn, verification.organization_id)
                .await
                .map_err(|_| Refusal::Unavailable)?
                .ok_or(Refusal::TurnedOff)?;
        let tenant = TenantId::parse(&integration.tenant_id).map_err(|_| Refusal::TurnedOff)?;
        (enabled.policy, tenant)
    };
    // The email claim that matched (alignment compared it with the recipient).
    let email = verification
        .evidence
        .as_ref()
        .and_then(|e| e.email.as_deref())
        .and_then(|e| EmailAddress::parse(e).ok())
        .ok_or(Refusal::NoUser)?;
    let user = match client.find_user_by_email(&tenant, &email).await {
        Ok(UserLookup::One(user)) => user,
        Ok(UserLookup::None) => return Err(Refusal::NoUser),
        Ok(UserLookup::Several(_)) => return Err(Refusal::SeveralUsers),
        Err(e) => return Err(Refusal::of(&e)),
    };
    if policy.refuse_privileged {
        match client.holds_directory_role(&tenant, &user.id).await {
            Ok(false) => {}
            Ok(true) => return Err(Refusal::Privileged),
            Err(e) => return Err(Refusal::of(&e)),
        }
    }
    let issued = client
        .create_temporary_access_pass(&tenant, &user.id, policy.pass_request())
        .await
        .map_err(|e| {
            tracing::warn!(verification = %verification.id, error = %e, "creating a Temporary Access Pass");
            Refusal::of(&e)
        })?;
    Ok(RevealedPass {
        pass: issued.pass,
        valid_until: issued.valid_until,
        one_time: issued.one_time,
    })
}

/// Stores the outcome and its event (timeline, webhooks) in one transaction, then tells
/// the live pages.
async fn record(
    pool: &Pool,
    verifier: &Verifier,
    verification: &Verification,
    outcome: Result<OffsetDateTime, Refusal>,
) -> Result<(), sqlx::Error> {
    // The verification's own lock, as every write of its events: on PostgreSQL its events
    // then commit in the order of their ids, which the open pages' streams rely on.
    let mut tx = crate::verification::store::begin_on(pool, verification.id).await?;
    let event_id = match outcome {
        Ok(valid_until) => {
            store::issued(&mut tx, verification.id, valid_until).await?;
            verifier
                .record_after_verified(&mut tx, verification, true, &issued_message(valid_until))
                .await?
        }
        Err(refusal) => {
            store::refused(&mut tx, verification.id, refusal).await?;
            verifier
                .record_after_verified(
                    &mut tx,
                    verification,
                    false,
                    &format!("No Temporary Access Pass was issued: {}", refusal.explain()),
                )
                .await?
        }
    };
    tx.commit().await?;
    verifier.announce_after(verification, event_id);
    Ok(())
}
