//! The Microsoft Verified ID integration of an organization: connecting a tenant
//! (consent, then reading its domains and Verified ID authority), showing it, removing it.

mod admin_token;
mod choice;
mod connect;
pub mod consent;
mod failure;
pub mod refresh;
pub mod sign_in;
mod store;

pub use choice::{
    ClaimOrigin, ConnectOption, Offer, UNCHECKED_EMAIL_WARNING, VERIFIED_EMPLOYEE_CLAIMS,
};
pub use connect::*;
pub use consent::{ConsentTenant, Finishing, InvalidTenant};
pub use failure::{ConnectFailure, REQUEST_ROLE_PERMISSION, StateProblem};

use time::OffsetDateTime;

use crate::accounts::{OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::{self, Connection, Pool};
use crate::microsoft::{EmailSource, LinkedDomain};

/// An organization's connected tenant, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MicrosoftIntegration {
    pub tenant_id: String,
    pub tenant_name: String,
    pub authority_id: String,
    pub authority_did: String,
    pub credential_type: String,
    /// The credential types the authority offers, as last read (at connect or a re-read).
    pub credential_types: Vec<String>,
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
    /// Whether the authority's linked domain is verified. Not verified, Microsoft refuses every
    /// presentation (we ask with `validateLinkedDomain: true`), so the integration is not
    /// active; unknown (Microsoft's listing did not say), Microsoft checks it when the person
    /// presents, so it is active.
    pub linked_domain: LinkedDomain,
    /// The Microsoft account that consented (its `preferred_username`).
    pub microsoft_account: String,
    pub connected_by_name: String,
    pub connected_at: OffsetDateTime,
    pub domains: Vec<CoveredDomain>,
    /// What the last reads from Microsoft left (see `refresh`); boxed, being read mostly by
    /// the card.
    pub freshness: Box<Freshness>,
}

/// When Microsoft last confirmed the connection, and what the refreshes since found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Freshness {
    /// The last successful read (the connect, or a refresh); `None` only for rows that predate it.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last refresh attempt, successful or not.
    pub attempted_at: Option<OffsetDateTime>,
    /// Why the last refresh failed (the last known state is kept); `None` when it worked.
    pub problem: Option<String>,
    /// Domains that left the tenant and are no longer covered, until the next connect.
    pub removed_domains: Vec<String>,
    pub domains_removed_at: Option<OffsetDateTime>,
    /// When Microsoft last confirmed the authority and its credential types.
    pub authority_confirmed_at: Option<OffsetDateTime>,
    /// The kept sign-in stopped working: an administrator must sign in again before the
    /// authority can be re-read.
    pub authority_sign_in_needed: bool,
    /// A sign-in is kept (sealed) to re-read the authority without anyone signing in; without
    /// one the authority is re-read only when an administrator signs in.
    pub authority_token_kept: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    /// Whether verifications can be sent: the authority's linked domain is not known to be
    /// unverified, and the email we compare is one we may trust.
    pub fn is_active(&self) -> bool {
        self.linked_domain.is_usable() && self.email_is_usable()
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

    /// Whether an email domain is one of the tenant's verified domains. Both sides are
    /// compared in their ASCII (punycode) form: `bücher.example` and `xn--bcher-kva.example`
    /// are one domain, however Microsoft or the recipient spelled it.
    pub fn covers(&self, domain: &str) -> bool {
        let Some(wanted) = crate::email::normalize_domain(domain) else {
            return false;
        };
        self.domains
            .iter()
            .any(|d| crate::email::normalize_domain(&d.name).is_some_and(|name| name == wanted))
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
    #[error("Traceless refreshed this connection a moment ago. Try again in a minute.")]
    RefreshedRecently,
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

/// The same, read on `conn` (inside a write transaction: what it decides on stays true until
/// it commits, given the lock it holds).
pub async fn integration_in(
    conn: &mut impl crate::db::Connection,
    organization_id: OrganizationId,
) -> Result<Option<MicrosoftIntegration>, sqlx::Error> {
    store::integration(conn, organization_id).await
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
    // The organization's lock: one change to its Microsoft connection at a time.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await?;
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
/// Inside the caller's transaction, which also cancels the organization's pending
/// verifications (`Verifier::remove_integration`): both happen, or neither.
pub async fn remove(conn: &mut impl Connection, actor: &User) -> Result<(), IntegrationError> {
    if !actor.is_admin() {
        return Err(IntegrationError::NotAdmin);
    }
    let existing = store::integration(conn, actor.organization_id)
        .await?
        .ok_or(IntegrationError::NotConnected)?;
    store::delete_integration(&mut *conn, actor.organization_id).await?;
    admin_token::forget(&mut *conn, actor.organization_id).await?;
    audit::record(
        conn,
        actor.organization_id,
        Some(actor),
        Action::MicrosoftRemoved,
        &format!("Tenant {} ({})", existing.tenant_name, existing.tenant_id),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod idn_tests {
    use super::*;

    fn integration_covering(domains: &[&str]) -> MicrosoftIntegration {
        MicrosoftIntegration {
            tenant_id: String::new(),
            tenant_name: String::new(),
            authority_id: String::new(),
            authority_did: String::new(),
            credential_type: String::new(),
            credential_types: vec![],
            email_claim: String::new(),
            available_claims: vec![],
            email_source: EmailSource::Directory,
            email_source_accepted: false,
            claim_origins: vec![],
            photo_claim: None,
            linked_domain: LinkedDomain::Verified,
            microsoft_account: String::new(),
            connected_by_name: String::new(),
            connected_at: OffsetDateTime::UNIX_EPOCH,
            domains: domains
                .iter()
                .map(|d| CoveredDomain {
                    name: (*d).to_owned(),
                    is_default: false,
                    is_initial: false,
                })
                .collect(),
            freshness: Box::default(),
        }
    }

    #[test]
    fn an_international_domain_is_covered_in_either_form() {
        let recipient = crate::email::EmailAddress::parse("anna@Bücher.example").unwrap();
        // Stored as Microsoft spelled it, in Unicode or in punycode.
        for stored in ["bücher.example", "xn--bcher-kva.example", "BÜCHER.example"] {
            let integration = integration_covering(&[stored]);
            assert!(integration.covers(recipient.domain()), "{stored}");
            assert!(integration.covers("bücher.example"), "{stored}");
            assert!(integration.covers("XN--BCHER-KVA.EXAMPLE"), "{stored}");
        }
        let integration = integration_covering(&["bucher.example"]);
        assert!(!integration.covers(recipient.domain()));
        assert!(!integration.covers(""));
    }
}
