//! Nothing stale: a connected tenant is re-read from Microsoft daily (a background job on
//! every instance, each refresh claimed by one of them) and when an administrator presses
//! "Refresh from Microsoft" on the card.
//!
//! What is re-read:
//! - the tenant's verified domains, with an app-only Graph token (no administrator is signed
//!   in at Microsoft for the daily job);
//! - authority readiness (the linked domain) and the credential types it offers, with a
//!   delegated admin-API token minted from the connecting administrator's kept refresh token
//!   (`admin_token`; see `microsoft::app_only` for why no app-only token can read them without
//!   write access). Without a kept token they are re-read when an administrator signs in; a
//!   kept token Microsoft no longer honours is forgotten and the card asks for a sign-in.
//!
//! - A domain that left the tenant stops being covered at once (new verifications to it get
//!   the usual "not among the domains tied to the Microsoft tenant" refusal); the
//!   organization's administrators get a mail, and the card says so until the next connect.
//! - A domain Microsoft now lists is covered.
//! - A refresh that fails keeps everything as it was and records why; the card says when
//!   Microsoft last confirmed the connection.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;
use url::Url;

use super::admin_token::{self, AuthorityRead};
use super::{CoveredDomain, IntegrationError, store};
use crate::accounts::{OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::{self, Pool};
use crate::mail::{MessageKind, compose, outbox};
use crate::microsoft::{MicrosoftClient, TenantId};

/// How often a connection is re-read.
pub const REFRESH_INTERVAL: time::Duration = time::Duration::days(1);
/// The least time between two refreshes an administrator asks for: Microsoft throttles
/// token and Graph requests per app, and every customer shares ours.
pub const MANUAL_SPACING: time::Duration = time::Duration::minutes(1);
/// How often the job looks for due refreshes.
const JOB_TICK: Duration = Duration::from_secs(5 * 60);

/// What a refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Microsoft answered; the covered domains now follow it.
    Refreshed {
        removed: Vec<String>,
        added: Vec<String>,
    },
    /// Microsoft could not be read; the last known state stays. The reason, in words.
    Failed(String),
}

/// "Refresh from Microsoft" on the card: administrators only, audited, at most once a minute.
pub async fn refresh_now(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    actor: &User,
    integrations_page: &Url,
) -> Result<RefreshOutcome, IntegrationError> {
    if !actor.is_admin() {
        return Err(IntegrationError::NotAdmin);
    }
    let now = OffsetDateTime::now_utc();
    let mut conn = pool.acquire().await?;
    if store::integration(&mut conn, actor.organization_id)
        .await?
        .is_none()
    {
        return Err(IntegrationError::NotConnected);
    }
    if !store::claim_manual_refresh(&mut conn, actor.organization_id, now, now - MANUAL_SPACING)
        .await?
    {
        return Err(IntegrationError::RefreshedRecently);
    }
    drop(conn);
    Ok(refresh_one(
        pool,
        microsoft,
        actor.organization_id,
        Some(actor),
        integrations_page,
    )
    .await?)
}

/// Refreshes every connection whose daily refresh is due; returns how many it did.
pub async fn refresh_due(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    integrations_page: &Url,
) -> Result<usize, sqlx::Error> {
    let mut done = 0;
    loop {
        let now = OffsetDateTime::now_utc();
        let claimed = {
            let mut conn = pool.acquire().await?;
            store::claim_due_refresh(&mut conn, now, now + REFRESH_INTERVAL).await?
        };
        let Some(organization_id) = claimed else {
            return Ok(done);
        };
        refresh_one(pool, microsoft, organization_id, None, integrations_page).await?;
        done += 1;
    }
}

/// The daily job: looks for due refreshes every few minutes until `stop` completes. Safe on
/// any number of instances (each refresh is claimed by one).
pub async fn run_daily(
    pool: Pool,
    microsoft: MicrosoftClient,
    integrations_page: Url,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        match refresh_due(&pool, &microsoft, &integrations_page).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(refreshed = n, "refreshed Microsoft connections"),
            Err(e) => {
                tracing::warn!(error = %e, "the daily Microsoft refresh failed; trying again later")
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(JOB_TICK) => {}
        }
    }
}

async fn refresh_one(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    organization_id: OrganizationId,
    actor: Option<&User>,
    integrations_page: &Url,
) -> Result<RefreshOutcome, sqlx::Error> {
    let integration = {
        let mut conn = pool.acquire().await?;
        store::integration(&mut conn, organization_id).await?
    };
    let Some(integration) = integration else {
        return Ok(RefreshOutcome::Failed(
            "Microsoft Verified ID is not connected.".into(),
        ));
    };
    let read = match TenantId::parse(&integration.tenant_id) {
        Ok(tenant) => microsoft
            .organization_app_only(&tenant)
            .await
            .map_err(|e| e.to_string()),
        Err(_) => Err("the stored tenant id is not valid".to_owned()),
    };
    let authority = admin_token::reread_authority(
        pool,
        microsoft,
        organization_id,
        &integration.tenant_id,
        &integration.authority_id,
    )
    .await?;
    let now = OffsetDateTime::now_utc();
    // The organization's lock: the refresh and a reconnect or removal do not interleave.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(organization_id.0)),
    )
    .await?;
    // Connected anew (or removed) meanwhile: that read is fresher than ours.
    let current = store::integration(&mut tx, organization_id).await?;
    if current.as_ref().map(|c| &c.tenant_id) != Some(&integration.tenant_id) {
        return Ok(RefreshOutcome::Failed(
            "The connection changed while Traceless was refreshing it.".into(),
        ));
    }
    let authority_problem = match &authority {
        AuthorityRead::Read {
            linked_domain,
            credential_types,
        } => {
            store::record_authority_read(
                &mut tx,
                organization_id,
                now,
                *linked_domain,
                credential_types,
            )
            .await?;
            None
        }
        AuthorityRead::SignInNeeded => {
            store::record_authority_sign_in_needed(&mut tx, organization_id).await?;
            None
        }
        AuthorityRead::NotKept => None,
        AuthorityRead::Failed(problem) => Some(format!(
            "Traceless could not re-read your Verified ID authority from Microsoft: {problem}"
        )),
    };
    let authority_words = describe(&authority);
    let organization = match read {
        Err(problem) => {
            let problem = std::iter::once(format!(
                "Traceless could not read your tenant from Microsoft: {problem}."
            ))
            .chain(authority_problem)
            .collect::<Vec<_>>()
            .join(" ");
            store::record_refresh_failure(&mut tx, organization_id, now, &problem).await?;
            audit::record(
                &mut tx,
                organization_id,
                actor,
                Action::MicrosoftRefreshFailed,
                &format!(
                    "Tenant {} ({}): {problem} The last known domains stay covered. Authority: {authority_words}",
                    integration.tenant_name, integration.tenant_id
                ),
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(organization = %organization_id, %problem, "Microsoft refresh failed");
            return Ok(RefreshOutcome::Failed(problem));
        }
        Ok(organization) => organization,
    };
    let domains: Vec<CoveredDomain> = organization
        .verified_domains
        .iter()
        .map(|d| CoveredDomain {
            name: d.name.to_ascii_lowercase(),
            is_default: d.is_default,
            is_initial: d.is_initial,
        })
        .collect();
    let before: BTreeSet<&str> = integration
        .domains
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    let after: BTreeSet<&str> = domains.iter().map(|d| d.name.as_str()).collect();
    let removed: Vec<String> = before.difference(&after).map(|d| d.to_string()).collect();
    let added: Vec<String> = after.difference(&before).map(|d| d.to_string()).collect();
    store::replace_domains(&mut tx, organization_id, &domains).await?;
    store::record_refresh_success(
        &mut tx,
        organization_id,
        now,
        &removed,
        authority_problem.as_deref(),
    )
    .await?;
    if !removed.is_empty() {
        let organization_name = store::organization_name(&mut tx, organization_id).await?;
        for admin in store::admin_emails(&mut tx, organization_id).await? {
            let mail = compose::domains_removed(&compose::DomainsRemovedMail {
                to: &admin,
                organization: &organization_name,
                tenant_name: &integration.tenant_name,
                removed: &removed,
                page: integrations_page,
            });
            outbox::enqueue(
                &mut tx,
                outbox::NewMessage {
                    organization_id,
                    verification_id: None,
                    ticket_id: None,
                    kind: MessageKind::Notice,
                    mail: &mail,
                },
            )
            .await?;
        }
    }
    let list = |d: &[String]| {
        if d.is_empty() {
            "none".to_owned()
        } else {
            d.join(", ")
        }
    };
    audit::record(
        &mut tx,
        organization_id,
        actor,
        Action::MicrosoftRefreshed,
        &format!(
            "Tenant {} ({}): domains {}; no longer listed: {}; newly listed: {}. Authority: {authority_words}",
            integration.tenant_name,
            integration.tenant_id,
            after.iter().copied().collect::<Vec<_>>().join(", "),
            list(&removed),
            list(&added)
        ),
    )
    .await?;
    tx.commit().await?;
    if !removed.is_empty() {
        tracing::info!(organization = %organization_id, removed = ?removed, "domains left the Microsoft tenant; no longer covered");
    }
    Ok(RefreshOutcome::Refreshed { removed, added })
}

/// The authority part of a refresh, for the audit log.
fn describe(read: &AuthorityRead) -> String {
    match read {
        AuthorityRead::Read {
            linked_domain,
            credential_types,
        } => format!(
            "linked domain {}; credential types {}",
            match linked_domain {
                crate::microsoft::LinkedDomain::Verified => "verified",
                crate::microsoft::LinkedDomain::NotVerified => "NOT verified",
                crate::microsoft::LinkedDomain::Unknown => "not confirmed",
            },
            credential_types.join(", ")
        ),
        AuthorityRead::NotKept => {
            "not re-read (no sign-in is kept; it is re-read when an administrator signs in)".into()
        }
        AuthorityRead::SignInNeeded => {
            "not re-read: Microsoft no longer accepts the kept sign-in (expired or revoked); an administrator must sign in again".into()
        }
        AuthorityRead::Failed(problem) => format!("not re-read: {problem}"),
    }
}
