//! The Microsoft Verified ID integration of an organization: connecting a tenant
//! (consent, then reading its domains and Verified ID authority), showing it, removing it.

mod connect;
mod failure;
mod store;

pub use connect::*;
pub use failure::{ConnectFailure, StateProblem};

use time::OffsetDateTime;

use crate::accounts::{OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::Pool;

/// An organization's connected tenant, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MicrosoftIntegration {
    pub tenant_id: String,
    pub tenant_name: String,
    pub authority_id: String,
    pub authority_did: String,
    pub credential_type: String,
    /// The credential claim that holds the person's email (`mail` for VerifiedEmployee).
    pub email_claim: String,
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

impl MicrosoftIntegration {
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
    #[error("could not prepare the Microsoft sign-in: {0}")]
    Microsoft(#[from] crate::microsoft::MicrosoftError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// The organization's integration, if connected.
pub async fn integration(
    pool: &Pool,
    organization_id: OrganizationId,
) -> Result<Option<MicrosoftIntegration>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::integration(&mut conn, organization_id).await
}

/// Disconnects Microsoft Verified ID from the actor's organization and records who did it.
pub async fn remove(pool: &Pool, actor: &User) -> Result<(), IntegrationError> {
    if !actor.is_admin() {
        return Err(IntegrationError::NotAdmin);
    }
    let mut tx = pool.begin().await?;
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
