//! The Microsoft Verified ID integration of an organization: connecting a tenant
//! (consent, then reading its domains and Verified ID authority), showing it, removing it.

mod choice;
mod connect;
mod failure;
mod store;

pub use choice::{
    ClaimOrigin, ConnectOption, Offer, UNCHECKED_EMAIL_WARNING, VERIFIED_EMPLOYEE_CLAIMS,
};
pub use connect::*;
pub use failure::{ConnectFailure, REQUEST_ROLE_PERMISSION, StateProblem};

use time::OffsetDateTime;

use crate::accounts::{OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::{self, Pool};
use crate::microsoft::EmailSource;

/// An organization's connected tenant, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MicrosoftIntegration {
    pub tenant_id: String,
    pub tenant_name: String,
    pub authority_id: String,
    pub authority_did: String,
    pub credential_type: String,
    /// The credential claim that holds the email address compared with the recipient's.
    pub email_claim: String,
    /// The claims the chosen credential carries (the admin may pick another email claim).
    pub available_claims: Vec<String>,
    /// Where the email claim comes from, per the contract (`Unknown` for integrations stored
    /// before it was read: log in again).
    pub email_source: EmailSource,
    /// The admin explicitly accepted an email that is not checked against the directory
    /// (audited); required for sources that are not directory-backed.
    pub email_source_accepted: bool,
    /// Where each claim comes from, to judge another email claim the admin picks later.
    pub claim_origins: Vec<ClaimOrigin>,
    /// The credential's photo claim, for Face Check; `None`: Face Check cannot work.
    pub photo_claim: Option<String>,
    /// Whether the authority's linked domain is verified. Without it Microsoft refuses every
    /// presentation (we ask with `validateLinkedDomain: true`), so the integration is not active.
    pub linked_domain_verified: bool,
    /// The Microsoft account that consented (its `preferred_username`).
    pub microsoft_account: String,
    pub connected_by_name: String,
    pub connected_at: OffsetDateTime,
    pub domains: Vec<CoveredDomain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoveredDomain {
    /// Lower-case ASCII, as `EmailAddress::domain` gives it.
    pub name: String,
    pub is_default: bool,
    pub is_initial: bool,
}

/// Who verifies presentations: the customer's tenant with its own authority (the default;
/// "on your behalf", as the guide says), or Microsoft's documented service-provider pattern
/// (helpdesk-with-verified-id): our own tenant and authority verify, with the customer's DID
/// as the accepted issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifierIdentity {
    CustomerTenant,
    ServiceProvider {
        tenant_id: crate::microsoft::TenantId,
        authority: crate::microsoft::Did,
    },
}

impl MicrosoftIntegration {
    /// Whether verifications can be sent: the authority's linked domain is verified and the
    /// email we compare is one we may trust.
    pub fn is_active(&self) -> bool {
        self.linked_domain_verified && self.email_is_usable()
    }

    /// The email claim is directory-backed, or an admin accepted its source with the warning.
    /// A self-issued or unknown source is never usable.
    pub fn email_is_usable(&self) -> bool {
        !self.email_claim.is_empty()
            && (self.email_source.is_directory_backed()
                || (self.email_source.may_be_accepted() && self.email_source_accepted))
    }

    /// Where `claim` of the connected credential comes from.
    pub fn source_of(&self, claim: &str) -> EmailSource {
        self.claim_origins
            .iter()
            .find(|o| o.claim == claim)
            .map_or(EmailSource::Unknown, |o| o.source)
    }

    /// Whether an email domain is one of the tenant's verified domains.
    pub fn covers(&self, domain: &str) -> bool {
        self.domains
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(domain))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("You must be an organization administrator in Traceless to connect integrations.")]
    NotAdmin,
    #[error("Microsoft Verified ID is not connected.")]
    NotConnected,
    #[error("The credential carries no claim of that name.")]
    UnknownClaim,
    #[error(transparent)]
    EmailNotUsable(#[from] EmailRefusal),
    #[error("could not prepare the Microsoft sign-in: {0}")]
    Microsoft(#[from] crate::microsoft::MicrosoftError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Why a claim may not hold the email we match people by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailRefusal {
    #[error(
        "The holder types this claim in themselves, so it proves nothing: Traceless never uses a self-issued email. Ask your Microsoft administrator to issue VerifiedEmployee, or to map the email from your directory."
    )]
    SelfIssued,
    #[error(
        "The contract does not say where this claim comes from, so Traceless cannot use it as the email. Log in to your tenant again, or pick another claim."
    )]
    SourceUnknown,
    #[error("{UNCHECKED_EMAIL_WARNING} To use it anyway, confirm that you accept this.")]
    NotAccepted,
}

/// The organization's integration, if connected.
pub async fn integration(
    pool: &Pool,
    organization_id: OrganizationId,
) -> Result<Option<MicrosoftIntegration>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::integration(&mut conn, organization_id).await
}

/// Changes which claim of the credential holds the email address; it must be one the chosen
/// credential carries. A claim not backed by the directory needs `accept_unchecked` (the admin
/// confirmed the warning), and that choice is audited; a self-issued one is refused.
pub async fn set_email_claim(
    pool: &Pool,
    actor: &User,
    claim: &str,
    accept_unchecked: bool,
) -> Result<(), IntegrationError> {
    if !actor.is_admin() {
        return Err(IntegrationError::NotAdmin);
    }
    let mut tx = db::begin_write(pool).await?;
    let existing = store::integration(&mut tx, actor.organization_id)
        .await?
        .ok_or(IntegrationError::NotConnected)?;
    if !existing.available_claims.iter().any(|c| c == claim) {
        return Err(IntegrationError::UnknownClaim);
    }
    let source = existing.source_of(claim);
    let accepted = email_choice_allowed(source, accept_unchecked)?;
    store::set_email_claim(&mut tx, actor.organization_id, claim, source, accepted).await?;
    audit::record(
        &mut tx,
        actor.organization_id,
        Some(actor),
        if accepted {
            Action::MicrosoftUncheckedEmailAccepted
        } else {
            Action::MicrosoftEmailClaimChanged
        },
        &format!(
            "From {} to {claim} (email source: {}){}",
            existing.email_claim,
            source.describe(),
            if accepted {
                format!(". Accepted the warning: {UNCHECKED_EMAIL_WARNING}")
            } else {
                String::new()
            }
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether an email claim of `source` may be used; `Ok(true)` when only because the admin
/// accepted the warning.
pub(crate) fn email_choice_allowed(
    source: EmailSource,
    accept_unchecked: bool,
) -> Result<bool, EmailRefusal> {
    match source {
        s if s.is_directory_backed() => Ok(false),
        EmailSource::SelfIssued => Err(EmailRefusal::SelfIssued),
        s if s.may_be_accepted() && accept_unchecked => Ok(true),
        s if s.may_be_accepted() => Err(EmailRefusal::NotAccepted),
        _ => Err(EmailRefusal::SourceUnknown),
    }
}

/// Disconnects Microsoft Verified ID from the actor's organization and records who did it.
pub async fn remove(pool: &Pool, actor: &User) -> Result<(), IntegrationError> {
    if !actor.is_admin() {
        return Err(IntegrationError::NotAdmin);
    }
    let mut tx = db::begin_write(pool).await?;
    let existing = store::integration(&mut tx, actor.organization_id)
        .await?
        .ok_or(IntegrationError::NotConnected)?;
    store::delete_integration(&mut tx, actor.organization_id).await?;
    audit::record(
        &mut tx,
        actor.organization_id,
        Some(actor),
        Action::MicrosoftRemoved,
        &format!("Tenant {} ({})", existing.tenant_name, existing.tenant_id),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(organization = %actor.organization_id, by = %actor.id, "Microsoft Verified ID removed");
    Ok(())
}
