//! "Enable account recovery": the admin consent for the recovery app registration, at the
//! connected tenant, then the proof of the grant (an app token carrying each role recovery
//! uses). Microsoft's redirect back is trusted for nothing but its `state`: the tenant is the
//! one the consent was sent to, and the grant is proved there (v2-admin-consent: do not trust
//! the returned `tenant`).

use std::time::Duration;

use serde::Deserialize;
use time::OffsetDateTime;
use url::Url;

use super::store::{self, Attempt};
use super::{AccountRecoveryError, face_check};
use crate::accounts::User;
use crate::audit::{self, Action};
use crate::db::{self, Pool};
use crate::integrations;
use crate::microsoft::{RecoveryClient, RecoveryError, TenantId};
use crate::secret::SecretHash;

/// How long the admin has at Microsoft before the attempt is forgotten.
const ATTEMPT_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Starts the admin consent; returns where to send the admin's browser.
pub async fn start_enable(
    pool: &Pool,
    client: Option<&RecoveryClient>,
    actor: &User,
    redirect_uri: &Url,
) -> Result<Url, AccountRecoveryError> {
    if !actor.is_admin() {
        return Err(AccountRecoveryError::NotAdmin);
    }
    let client = client.ok_or(AccountRecoveryError::NotConfigured)?;
    let mut conn = pool.acquire().await?;
    let integration = integrations::integration_in(&mut conn, actor.organization_id)
        .await?
        .ok_or(AccountRecoveryError::NotConnected)?;
    face_check(&mut conn, &integration, actor.organization_id)
        .await?
        .map_err(AccountRecoveryError::NoFaceCheck)?;
    drop(conn);
    // Stored from a tenant id Microsoft gave at connect: it parses.
    let tenant =
        TenantId::parse(&integration.tenant_id).map_err(|_| AccountRecoveryError::NotConnected)?;
    let consent = client.admin_consent_request(&tenant, redirect_uri);
    let mut tx = db::begin_write(pool, db::Lock::Rows).await?;
    store::insert_attempt(
        &mut tx,
        SecretHash::of(&consent.state).as_str(),
        &Attempt {
            organization_id: actor.organization_id,
            user_id: actor.id,
            tenant_id: integration.tenant_id.clone(),
            expires_at: OffsetDateTime::now_utc() + ATTEMPT_LIFETIME,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(consent.url)
}

/// Microsoft's redirect back from the admin consent (v2-admin-consent).
#[derive(Debug, Default, Deserialize)]
pub struct ConsentReturn {
    pub state: Option<String>,
    pub admin_consent: Option<String>,
    pub error: Option<String>,
}

/// Why enabling did not work, each with what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnableFailure {
    #[error(
        "This sign-in to Microsoft was not started here, or it took too long. Press Enable account recovery again."
    )]
    UnknownAttempt,
    #[error(
        "The consent was not given at Microsoft. To enable account recovery, a Global Administrator or Privileged Role Administrator of your tenant must accept it."
    )]
    Declined,
    #[error(
        "Microsoft did not grant {0} to the recovery app. Ask an administrator who may grant Microsoft Graph application permissions (Global Administrator or Privileged Role Administrator) to press Enable account recovery; if they just did, wait a minute and try again."
    )]
    NotGranted(&'static str),
    #[error(
        "The connected tenant changed while you were at Microsoft. Press Enable account recovery again."
    )]
    TenantChanged,
    #[error("Microsoft is not answering right now. Try again in a few minutes.")]
    Unavailable,
    #[error("{0}")]
    NotAllowed(String),
    #[error("Something went wrong on our side. Press Enable account recovery again.")]
    Internal,
}

/// What a refused enable says once back on the card (`NotAllowed`'s own words do not survive
/// the redirect).
const NOT_ALLOWED_SUMMARY: &str = "Account recovery was not turned on: it needs an organization administrator, Face Check turned on, and this server's recovery app registration. The card says which is missing.";

impl EnableFailure {
    /// A stable word for the card's message (the redirect carries only this).
    pub fn code(&self) -> &'static str {
        match self {
            EnableFailure::UnknownAttempt => "unknown_attempt",
            EnableFailure::Declined => "declined",
            EnableFailure::NotGranted(_) => "not_granted",
            EnableFailure::TenantChanged => "tenant_changed",
            EnableFailure::Unavailable => "unavailable",
            EnableFailure::NotAllowed(_) => "not_allowed",
            EnableFailure::Internal => "internal",
        }
    }

    /// The message of a code (an unknown code says nothing).
    pub fn explain(code: &str) -> Option<String> {
        let failure = match code {
            "unknown_attempt" => EnableFailure::UnknownAttempt,
            "declined" => EnableFailure::Declined,
            "not_granted" => EnableFailure::NotGranted("every permission it needs"),
            "tenant_changed" => EnableFailure::TenantChanged,
            "unavailable" => EnableFailure::Unavailable,
            "internal" => EnableFailure::Internal,
            // Its precise reason is not in the redirect; the card says what is missing.
            "not_allowed" => EnableFailure::NotAllowed(NOT_ALLOWED_SUMMARY.to_owned()),
            _ => return None,
        };
        Some(failure.to_string())
    }
}

/// Microsoft sent the admin back. Ends the attempt (single use), proves the grant at the
/// tenant the consent went to, and turns recovery on; each failure is audited.
pub async fn finish_enable(
    pool: &Pool,
    client: Option<&RecoveryClient>,
    actor: &User,
    answer: ConsentReturn,
) -> Result<(), EnableFailure> {
    let Some(client) = client else {
        return Err(EnableFailure::NotAllowed(
            AccountRecoveryError::NotConfigured.to_string(),
        ));
    };
    let result = prove(pool, client, actor, answer).await;
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await
    .map_err(internal)?;
    let result = match result {
        Ok(tenant) => {
            match store::enable(
                &mut tx,
                actor.organization_id,
                tenant.as_str(),
                actor.id,
                OffsetDateTime::now_utc(),
            )
            .await
            {
                Ok(true) => Ok(tenant),
                Ok(false) => Err(EnableFailure::TenantChanged),
                Err(e) => Err(internal(e)),
            }
        }
        Err(failure) => Err(failure),
    };
    let (action, detail) = match &result {
        Ok(tenant) => (Action::RecoveryEnabled, format!("Tenant {tenant}")),
        Err(failure) => (Action::RecoveryEnableFailed, failure.to_string()),
    };
    audit::record(&mut tx, actor.organization_id, Some(actor), action, &detail)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    result.map(|_| ())
}

async fn prove(
    pool: &Pool,
    client: &RecoveryClient,
    actor: &User,
    answer: ConsentReturn,
) -> Result<TenantId, EnableFailure> {
    let state = answer.state.ok_or(EnableFailure::UnknownAttempt)?;
    let attempt = {
        let mut tx = db::begin_write(pool, db::Lock::Rows)
            .await
            .map_err(internal)?;
        let attempt = store::take_attempt(&mut tx, SecretHash::of(&state).as_str())
            .await
            .map_err(internal)?;
        tx.commit().await.map_err(internal)?;
        attempt.ok_or(EnableFailure::UnknownAttempt)?
    };
    if attempt.user_id != actor.id
        || attempt.organization_id != actor.organization_id
        || attempt.expires_at < OffsetDateTime::now_utc()
    {
        return Err(EnableFailure::UnknownAttempt);
    }
    if !actor.is_admin() {
        return Err(EnableFailure::NotAllowed(
            AccountRecoveryError::NotAdmin.to_string(),
        ));
    }
    if answer.error.is_some()
        || !answer
            .admin_consent
            .is_some_and(|c| c.eq_ignore_ascii_case("true"))
    {
        return Err(EnableFailure::Declined);
    }
    let tenant = TenantId::parse(&attempt.tenant_id).map_err(|_| EnableFailure::TenantChanged)?;
    match client.prove_granted(&tenant).await {
        Ok(()) => Ok(tenant),
        Err(RecoveryError::Forbidden { permission }) => Err(EnableFailure::NotGranted(permission)),
        Err(RecoveryError::Throttled { .. } | RecoveryError::Unavailable { .. }) => {
            Err(EnableFailure::Unavailable)
        }
        Err(other) => {
            tracing::warn!(error = %other, "proving the recovery grant");
            Err(EnableFailure::NotGranted("the permissions recovery needs"))
        }
    }
}

fn internal(error: sqlx::Error) -> EnableFailure {
    tracing::error!(%error, "database, enabling account recovery");
    EnableFailure::Internal
}
