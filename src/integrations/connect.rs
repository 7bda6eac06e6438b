//! Connecting a tenant: the admin presses "Log in to your tenant" (`start_connect`), grants
//! admin consent at Microsoft, comes back and is sent on to sign in (`finish_connect`, consent
//! leg), comes back with a code (`finish_connect`, sign-in leg): every grant is proven, the
//! tenant read, and the integration stored; or, when the tenant offers several authorities or
//! credential types, the options are kept for the admin to pick on the card (`choose`).
//! Only when every step succeeded is anything stored, in one transaction.

use std::time::Duration;

use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use super::choice::{self, ConnectOption, Offer};
use super::consent::ConsentTenant;
use super::failure::{ConnectFailure, StateProblem};
use super::store::{PendingConnection, Phase};
use super::{CoveredDomain, IntegrationError, MicrosoftIntegration, VerifierIdentity, store};
use crate::accounts::{OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::{self, Pool};
use crate::microsoft::{
    ConnectedTenant, EmailSource, MicrosoftClient, MicrosoftError, OwnEntra, TenantId,
};
use crate::secret::SecretHash;

/// How long an admin has to finish at Microsoft.
pub const ATTEMPT_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// How long the admin has to pick among several authorities or credential types.
pub const CHOICE_LIFETIME: Duration = Duration::from_secs(30 * 60);

pub struct ConnectStart {
    /// Where to send the admin's browser: Microsoft's admin consent page.
    pub authorize_url: Url,
    /// Kept in the admin's session: the return must come back to the same session.
    pub attempt_id: Uuid,
}

/// Records a single-use connect attempt for `actor` and returns Microsoft's admin consent URL.
pub async fn start_connect(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    actor: &User,
    redirect_uri: &Url,
) -> Result<ConnectStart, IntegrationError> {
    start_connect_at(
        pool,
        microsoft,
        actor,
        redirect_uri,
        &ConsentTenant::organizations(),
    )
    .await
}

/// `start_connect` with the admin consent sent to `tenant` (the card's optional field).
pub async fn start_connect_at(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    actor: &User,
    redirect_uri: &Url,
    tenant: &ConsentTenant,
) -> Result<ConnectStart, IntegrationError> {
    if !actor.is_admin() {
        return Err(IntegrationError::NotAdmin);
    }
    let request = microsoft.admin_consent_request_at(tenant.as_str(), redirect_uri);
    record_start(
        pool,
        actor,
        store::NewAttempt {
            organization_id: actor.organization_id,
            user_id: actor.id,
            state_hash: SecretHash::of(&request.state).as_str(),
            // The consent leg has no code, so no PKCE and no ID token.
            pkce_verifier: "",
            nonce: "",
            expires_at: OffsetDateTime::now_utc() + ATTEMPT_LIFETIME,
            phase: Phase::Consent,
            token_tenant: "organizations",
        },
        request.url,
        "Sent to Microsoft to grant admin consent",
    )
    .await
}

/// Stores an attempt an administrator starts, with its audit line, in one transaction, and
/// hands back where to send the browser.
pub(super) async fn record_start(
    pool: &Pool,
    actor: &User,
    attempt: store::NewAttempt<'_>,
    authorize_url: Url,
    audit_words: &str,
) -> Result<ConnectStart, IntegrationError> {
    // The organization's lock: one change to its Microsoft connection at a time.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await?;
    let attempt_id = store::insert_attempt(&mut tx, attempt).await?;
    audit::record(
        &mut tx,
        actor.organization_id,
        Some(actor),
        Action::MicrosoftConnectStarted,
        audit_words,
    )
    .await?;
    tx.commit().await?;
    Ok(ConnectStart {
        authorize_url,
        attempt_id,
    })
}

/// The query string Microsoft redirects back with, from either leg.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_subcode: Option<String>,
    /// Admin consent endpoint: `True` when granted (v2-admin-consent).
    pub admin_consent: Option<String>,
    /// Admin consent endpoint: the tenant that consented. Only a hint for the sign-in leg:
    /// Microsoft warns it can be spoofed; the tenant is the ID token's `tid`.
    pub tenant: Option<String>,
    /// Admin consent endpoint: the permissions granted (v2-admin-consent), checked for what
    /// the connect needs before the sign-in leg.
    pub scope: Option<String>,
}

/// Where a return from Microsoft leaves the connect.
#[derive(Debug)]
pub enum ConnectProgress {
    /// Consent granted: send the browser to sign in; the session must remember `attempt_id`.
    SignIn { attempt_id: Uuid, url: Url },
    /// Connected (active, or with the card saying why not).
    Connected(Box<MicrosoftIntegration>),
    /// Every grant is in place; the admin picks an authority and credential on the card.
    ChoiceNeeded,
    /// Signed in, but Microsoft is still spreading the consent (the app token has no role
    /// yet): the browser waits on "Microsoft is finishing your consent" (`consent`).
    FinishingConsent,
}

/// Who came back: the session's signed-in user and the attempt it started.
pub struct Returning<'a> {
    pub user: Option<&'a User>,
    pub attempt_id: Option<Uuid>,
}

/// Completes a connect. The tenant is the validated ID token's `tid`, never a value
/// from the query string. Failures are audited (when the organization is known).
pub async fn finish_connect(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    verifier: &VerifierIdentity,
    returning: Returning<'_>,
    params: CallbackParams,
    redirect_uri: &Url,
) -> Result<ConnectProgress, ConnectFailure> {
    // The attempt is used up by the first return, whatever happens next.
    let (attempt, user) = match claim_attempt(pool, &returning, params.state.as_deref()).await {
        Ok(claimed) => claimed,
        Err((failure, organization)) => {
            tracing::warn!(cause = failure.code(), "refused a return from Microsoft");
            // Known attempt, wrong circumstances: the organization's admins should see it.
            if let (Some(organization), Ok(mut conn)) = (organization, pool.acquire().await) {
                let actor = returning.user.filter(|u| u.organization_id == organization);
                let _ = audit::record(
                    &mut conn,
                    organization,
                    actor,
                    Action::MicrosoftConnectFailed,
                    &format!("{}: {}", failure.code(), failure.explain()),
                )
                .await;
            }
            return Err(failure);
        }
    };
    // Either leg may come back with Microsoft's error instead of its answer.
    let result = if let Some(error) = params.error.as_deref() {
        Err(microsoft_redirect_error(
            error,
            params.error_description.as_deref(),
            params.error_subcode.as_deref(),
        ))
    } else {
        match attempt.phase {
            Phase::Consent => {
                continue_to_sign_in(pool, microsoft, &attempt, user, params, redirect_uri).await
            }
            Phase::SignIn => {
                complete(
                    pool,
                    microsoft,
                    verifier,
                    &attempt,
                    user,
                    params,
                    redirect_uri,
                )
                .await
            }
        }
    };
    match &result {
        Ok(ConnectProgress::Connected(integration)) => {
            tracing::info!(organization = %user.organization_id, tenant = %integration.tenant_id, "Microsoft Verified ID connected");
        }
        Ok(_) => {}
        Err(failure) => {
            tracing::warn!(organization = %user.organization_id, cause = failure.code(), "Microsoft connect failed");
            if let Ok(mut conn) = pool.acquire().await {
                let _ = audit::record(
                    &mut conn,
                    user.organization_id,
                    Some(user),
                    Action::MicrosoftConnectFailed,
                    &format!("{}: {}", failure.code(), failure.explain()),
                )
                .await;
            }
        }
    }
    result
}

/// Uses up the attempt named by `state` and checks it belongs to who came back. The
/// error carries the attempt's organization when the attempt was found.
async fn claim_attempt<'a>(
    pool: &Pool,
    returning: &Returning<'a>,
    state: Option<&str>,
) -> Result<(store::Attempt, &'a User), (ConnectFailure, Option<OrganizationId>)> {
    let unknown = (
        ConnectFailure::SessionInterrupted(StateProblem::Unknown),
        None,
    );
    let internal = |_| (ConnectFailure::Internal, None);
    let state = state
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or(unknown.clone())?;
    let mut conn = pool.acquire().await.map_err(internal)?;
    let attempt = store::attempt_by_state_hash(&mut conn, SecretHash::of(state).as_str())
        .await
        .map_err(internal)?
        .ok_or(unknown)?;
    let fail = |problem| {
        Err((
            ConnectFailure::SessionInterrupted(problem),
            Some(attempt.organization_id),
        ))
    };
    if attempt.used {
        return fail(StateProblem::Reused);
    }
    // Spent by the first return that names it, even one from the wrong session:
    // a leaked return URL cannot be tried again.
    if !store::mark_attempt_used(&mut conn, attempt.id)
        .await
        .map_err(internal)?
    {
        return fail(StateProblem::Reused);
    }
    let Some(user) = returning
        .user
        .filter(|u| u.id == attempt.user_id && u.organization_id == attempt.organization_id)
    else {
        return fail(StateProblem::OtherSession);
    };
    if returning.attempt_id != Some(attempt.id) {
        return fail(StateProblem::OtherSession);
    }
    if attempt.expires_at <= OffsetDateTime::now_utc() {
        return fail(StateProblem::Expired);
    }
    if !user.is_admin() {
        return Err((ConnectFailure::NotAdmin, Some(attempt.organization_id)));
    }
    Ok((attempt, user))
}

/// The consent leg came back: on `admin_consent=True`, a fresh single-use attempt for the
/// sign-in leg (new state, PKCE verifier and nonce), at the tenant that consented.
async fn continue_to_sign_in(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    attempt: &store::Attempt,
    user: &User,
    params: CallbackParams,
    redirect_uri: &Url,
) -> Result<ConnectProgress, ConnectFailure> {
    if !params
        .admin_consent
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(ConnectFailure::MicrosoftError {
            code: "missing_admin_consent".into(),
            detail: "Microsoft came back without granting admin consent".into(),
        });
    }
    super::consent::check_granted_scope(params.scope.as_deref())?;
    let tenant_hint = params
        .tenant
        .as_deref()
        .and_then(|t| TenantId::parse(t).ok());
    let request = microsoft.authorization_request(tenant_hint.as_ref(), redirect_uri);
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "recording the sign-in leg");
        ConnectFailure::Internal
    };
    // The organization's lock: one change to its Microsoft connection at a time.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(user.organization_id.0)),
    )
    .await
    .map_err(internal)?;
    let attempt_id = store::insert_attempt(
        &mut tx,
        store::NewAttempt {
            organization_id: attempt.organization_id,
            user_id: user.id,
            state_hash: SecretHash::of(&request.state).as_str(),
            pkce_verifier: &request.pkce_verifier,
            nonce: &request.nonce,
            // The whole connect keeps the first leg's deadline.
            expires_at: attempt.expires_at,
            phase: Phase::SignIn,
            token_tenant: &request.token_tenant,
        },
    )
    .await
    .map_err(internal)?;
    audit::record(
        &mut tx,
        attempt.organization_id,
        Some(user),
        Action::MicrosoftConsentGranted,
        "Admin consent granted at Microsoft; signing in to read the tenant",
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(ConnectProgress::SignIn {
        attempt_id,
        url: request.url,
    })
}

async fn complete(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    verifier: &VerifierIdentity,
    attempt: &store::Attempt,
    user: &User,
    params: CallbackParams,
    redirect_uri: &Url,
) -> Result<ConnectProgress, ConnectFailure> {
    let code =
        params
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ConnectFailure::MicrosoftError {
                code: "missing_code".into(),
                detail: "Microsoft sent no authorization code".into(),
            })?;
    let tenant = microsoft
        .read_tenant(
            &code,
            &attempt.pkce_verifier,
            redirect_uri,
            &attempt.nonce,
            &attempt.token_tenant,
        )
        .await
        .map_err(|error| named_failure(&error, None))?;
    let tenant_name = tenant.organization.display_name.clone();
    let proven = prove_request_role(microsoft, verifier, &tenant).await;

    let domains: Vec<CoveredDomain> = tenant
        .organization
        .verified_domains
        .iter()
        .map(|d| CoveredDomain {
            // One form for every comparison: ASCII (punycode), as recipients' domains are.
            name: crate::email::normalize_domain(&d.name)
                .unwrap_or_else(|| d.name.to_ascii_lowercase()),
            is_default: d.is_default,
            is_initial: d.is_initial,
        })
        .collect();
    let pending = PendingConnection {
        tenant_id: tenant.organization.id.as_str().to_owned(),
        tenant_name: tenant_name.clone(),
        microsoft_account: tenant.admin.preferred_username.clone().unwrap_or_default(),
        domains,
        options: Vec::new(),
        expires_at: OffsetDateTime::now_utc() + CHOICE_LIFETIME,
    };
    // The tenant's own Entra sign-in, at the configured login base (the emulator's in tests):
    // `idTokens` from it are the directory's.
    let own = OwnEntra::new(microsoft.endpoints().login(), &tenant.organization.id);
    {
        // A connect finishing here replaces any earlier wait of the organization.
        let mut conn = pool.acquire().await.map_err(|e| {
            tracing::error!(error = %e, "clearing the consent wait");
            ConnectFailure::Internal
        })?;
        super::consent::forget_wait(&mut conn, user.organization_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "clearing the consent wait");
                ConnectFailure::Internal
            })?;
    }
    match proven {
        Ok(()) => {}
        // Consent just given may not have reached the token endpoint: keep what was read
        // and let the browser wait (see `consent`), unless waiting is switched off.
        Err((error, app_tenant))
            if super::consent::still_propagating(&error) && !microsoft.consent_wait().is_zero() =>
        {
            let options = match choice::options(&tenant.authorities, &own) {
                Offer::NoContracts => return Err(ConnectFailure::NoContracts { tenant_name }),
                Offer::One(option) | Offer::NoDirectoryEmail(option) => vec![option],
                Offer::Choose(options) => options,
            };
            let pending = PendingConnection { options, ..pending };
            keep_admin_token(pool, microsoft, user, &tenant).await?;
            return super::consent::begin_wait(
                pool,
                user,
                &pending,
                &app_tenant,
                microsoft.consent_wait(),
            )
            .await;
        }
        Err((error, _)) => return Err(named_failure(&error, Some(&tenant_name))),
    }
    match choice::options(&tenant.authorities, &own) {
        Offer::NoContracts => Err(ConnectFailure::NoContracts { tenant_name }),
        Offer::One(option) => {
            let email_claim = option
                .default_email_claim()
                .expect("a single option has an email claim")
                .to_owned();
            let integration = integration_of(&pending, user, &option, email_claim, false);
            store_integration(pool, user, &integration).await?;
            keep_admin_token(pool, microsoft, user, &tenant).await?;
            Ok(ConnectProgress::Connected(Box::new(integration)))
        }
        // Connected but not active: the card says why, what the Microsoft admin can do, and
        // (for a source that may be accepted) offers the explicit choice with its warning.
        Offer::NoDirectoryEmail(option) => {
            let email_claim = option
                .unchecked_email_claim()
                .unwrap_or_default()
                .to_owned();
            let integration = integration_of(&pending, user, &option, email_claim, false);
            store_integration(pool, user, &integration).await?;
            keep_admin_token(pool, microsoft, user, &tenant).await?;
            Ok(ConnectProgress::Connected(Box::new(integration)))
        }
        Offer::Choose(options) => {
            let pending = PendingConnection { options, ..pending };
            store_pending(pool, user, &pending).await?;
            keep_admin_token(pool, microsoft, user, &tenant).await?;
            Ok(ConnectProgress::ChoiceNeeded)
        }
    }
}

/// Keeps the sign-in's refresh token, sealed, to re-read the authority later (see
/// `admin_token`); without a key, forgets any older one.
async fn keep_admin_token(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    user: &User,
    tenant: &ConnectedTenant,
) -> Result<(), ConnectFailure> {
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "keeping the administrator's Microsoft sign-in");
        ConnectFailure::Internal
    };
    let mut conn = pool.acquire().await.map_err(internal)?;
    super::admin_token::keep(
        &mut conn,
        microsoft.token_key(),
        user.organization_id,
        tenant.organization.id.as_str(),
        tenant.admin_refresh_token.as_ref(),
    )
    .await
    .map_err(internal)
}

/// The request service's app role, proven with a real token before anything is stored: the
/// customer tenant's (its admin consent granted the role), or, in the service-provider
/// pattern, our own tenant's. Microsoft issues app tokens without `roles` when the role was
/// never granted (v2-oauth2-client-creds-grant-flow), so a missing role is found here and not
/// at the first verification.
///
/// Microsoft may take a while to reflect a consent just given in the tokens it issues; the
/// caller then waits with the browser (`consent::begin_wait`), so the error comes with the
/// tenant whose token to ask for again. Always a fresh token: a cached one may predate a
/// revoked consent.
async fn prove_request_role(
    microsoft: &MicrosoftClient,
    verifier: &VerifierIdentity,
    tenant: &ConnectedTenant,
) -> Result<(), (MicrosoftError, TenantId)> {
    let tenant_id = match verifier {
        VerifierIdentity::CustomerTenant => &tenant.admin.tenant_id,
        VerifierIdentity::ServiceProvider { tenant_id, .. } => tenant_id,
    };
    microsoft.forget_app_token(tenant_id);
    microsoft
        .app_token(tenant_id)
        .await
        .map(|_| ())
        .map_err(|error| (error, tenant_id.clone()))
}

/// A Microsoft failure during the sign-in leg, with the tenant's name where we know it.
fn named_failure(error: &MicrosoftError, tenant_name: Option<&str>) -> ConnectFailure {
    match (ConnectFailure::from_microsoft(error), tenant_name) {
        (ConnectFailure::VerifiedIdNotSetUp { detail, .. }, Some(name)) => {
            ConnectFailure::VerifiedIdNotSetUp {
                tenant_name: name.to_owned(),
                detail,
            }
        }
        (failure, _) => failure,
    }
}

pub(super) fn integration_of(
    pending: &PendingConnection,
    user: &User,
    option: &ConnectOption,
    email_claim: String,
    email_source_accepted: bool,
) -> MicrosoftIntegration {
    let email_source = if email_claim.is_empty() {
        EmailSource::Unknown
    } else {
        option.source_of(&email_claim)
    };
    MicrosoftIntegration {
        email_source,
        email_source_accepted,
        claim_origins: option.origins.clone(),
        photo_claim: option.photo_claim.clone(),
        tenant_id: pending.tenant_id.clone(),
        tenant_name: pending.tenant_name.clone(),
        authority_id: option.authority_id.clone(),
        authority_did: option.authority_did.clone(),
        credential_type: option.credential_type.clone(),
        // What the authority offers: the other options of the same authority, if the admin
        // had a choice.
        credential_types: std::iter::once(&option.credential_type)
            .chain(
                pending
                    .options
                    .iter()
                    .filter(|o| o.authority_id == option.authority_id)
                    .map(|o| &o.credential_type),
            )
            .fold(Vec::new(), |mut types: Vec<String>, t| {
                if !types.contains(t) {
                    types.push(t.clone());
                }
                types
            }),
        email_claim,
        available_claims: option.claims.clone(),
        linked_domain: option.linked_domain,
        microsoft_account: pending.microsoft_account.clone(),
        connected_by_name: user.display_name.clone(),
        connected_at: OffsetDateTime::now_utc(),
        domains: pending.domains.clone(),
        freshness: Default::default(),
    }
}

/// Why a tenant cannot be linked to `user`'s organization.
pub(super) enum NotFree {
    LinkedElsewhere(String),
    Database(sqlx::Error),
}

impl NotFree {
    pub(super) fn into_failure(
        self,
        internal: impl Fn(sqlx::Error) -> ConnectFailure,
    ) -> ConnectFailure {
        match self {
            NotFree::LinkedElsewhere(tenant_name) => {
                ConnectFailure::TenantLinkedElsewhere { tenant_name }
            }
            NotFree::Database(e) => internal(e),
        }
    }
}

/// A tenant belongs to one organization at a time: refuses one linked to another.
pub(super) async fn ensure_tenant_free(
    tx: &mut impl db::Connection,
    user: &User,
    tenant_id: &str,
    tenant_name: &str,
) -> Result<(), NotFree> {
    match store::organization_of_tenant(tx, tenant_id).await {
        Ok(Some(owner)) if owner != user.organization_id => {
            Err(NotFree::LinkedElsewhere(tenant_name.to_owned()))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(NotFree::Database(e)),
    }
}

async fn store_pending(
    pool: &Pool,
    user: &User,
    pending: &PendingConnection,
) -> Result<(), ConnectFailure> {
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "storing the pending Microsoft connection");
        ConnectFailure::Internal
    };
    // The organization's lock: one change to its Microsoft connection at a time.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(user.organization_id.0)),
    )
    .await
    .map_err(internal)?;
    ensure_tenant_free(&mut tx, user, &pending.tenant_id, &pending.tenant_name)
        .await
        .map_err(|e| e.into_failure(internal))?;
    store::put_pending(&mut tx, user.organization_id, user.id, pending)
        .await
        .map_err(internal)?;
    audit::record(
        &mut tx,
        user.organization_id,
        Some(user),
        Action::MicrosoftChoiceNeeded,
        &format!(
            "Tenant {} ({}) offers {} credential options",
            pending.tenant_name,
            pending.tenant_id,
            pending.options.len()
        ),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

/// The organization's connect waiting for the admin's pick, if any.
pub async fn pending_connection(
    pool: &Pool,
    organization_id: OrganizationId,
) -> Result<Option<PendingConnection>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    // While Microsoft finishes the consent, the options are not a choice yet.
    if super::consent::is_waiting(&mut conn, organization_id).await? {
        return Ok(None);
    }
    store::pending(&mut conn, organization_id).await
}

/// The admin's pick on the card: one of the pending options, and (optionally) the claim
/// that holds the email. A claim not backed by the directory is used only when the admin
/// accepted the warning (`accept_unchecked`, audited); a self-issued one never. Stores the
/// integration and forgets the pending connection.
pub async fn choose(
    pool: &Pool,
    actor: &User,
    authority_id: &str,
    credential_type: &str,
    email_claim: Option<&str>,
    accept_unchecked: bool,
) -> Result<MicrosoftIntegration, ConnectFailure> {
    if !actor.is_admin() {
        return Err(ConnectFailure::NotAdmin);
    }
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "reading the pending Microsoft connection");
        ConnectFailure::Internal
    };
    let mut conn = pool.acquire().await.map_err(internal)?;
    if super::consent::is_waiting(&mut conn, actor.organization_id)
        .await
        .map_err(internal)?
    {
        return Err(ConnectFailure::ChoiceUnavailable);
    }
    let pending = store::pending(&mut conn, actor.organization_id)
        .await
        .map_err(internal)?
        .ok_or(ConnectFailure::ChoiceUnavailable)?;
    drop(conn);
    let option = pending
        .options
        .iter()
        .find(|o| o.authority_id == authority_id && o.credential_type == credential_type)
        .ok_or(ConnectFailure::ChoiceUnavailable)?;
    let email_claim = match email_claim.filter(|c| !c.is_empty()) {
        Some(claim) if option.offers_claim(claim) => claim.to_owned(),
        Some(_) => return Err(ConnectFailure::ChoiceUnavailable),
        None => option
            .default_email_claim()
            .or(option.unchecked_email_claim().filter(|_| accept_unchecked))
            .ok_or(ConnectFailure::EmailClaimNeeded)?
            .to_owned(),
    };
    let accepted = super::email_choice_allowed(option.source_of(&email_claim), accept_unchecked)
        .map_err(|refusal| ConnectFailure::EmailNotUsable {
            detail: refusal.to_string(),
        })?;
    let integration = integration_of(&pending, actor, option, email_claim, accepted);
    store_integration(pool, actor, &integration).await?;
    Ok(integration)
}

pub(super) async fn store_integration(
    pool: &Pool,
    user: &User,
    integration: &MicrosoftIntegration,
) -> Result<(), ConnectFailure> {
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "storing the Microsoft integration");
        ConnectFailure::Internal
    };
    // The organization's lock: one change to its Microsoft connection at a time.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(user.organization_id.0)),
    )
    .await
    .map_err(internal)?;
    ensure_tenant_free(
        &mut tx,
        user,
        &integration.tenant_id,
        &integration.tenant_name,
    )
    .await
    .map_err(|e| e.into_failure(internal))?;
    store::upsert_integration(&mut tx, user.organization_id, integration, user.id)
        .await
        .map_err(internal)?;
    store::delete_pending(&mut tx, user.organization_id)
        .await
        .map_err(internal)?;
    let domains: Vec<&str> = integration
        .domains
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    audit::record(
        &mut tx,
        user.organization_id,
        Some(user),
        Action::MicrosoftConnected,
        &format!(
            "Tenant {} ({}), authority {}{}, credential {} (email claim {}, email source: {}{}), domains: {}",
            integration.tenant_name,
            integration.tenant_id,
            integration.authority_did,
            match integration.linked_domain {
                crate::microsoft::LinkedDomain::Verified => "",
                crate::microsoft::LinkedDomain::NotVerified => " (linked domain NOT verified)",
                crate::microsoft::LinkedDomain::Unknown =>
                    " (linked domain not confirmed by Microsoft: checked at each presentation)",
            },
            integration.credential_type,
            integration.email_claim,
            integration.email_source.describe(),
            if integration.email_source_accepted {
                format!("; the admin accepted the warning: {}", super::UNCHECKED_EMAIL_WARNING)
            } else if !integration.email_is_usable() {
                "; NOT usable: no directory-backed email".to_owned()
            } else {
                String::new()
            },
            domains.join(", ")
        ),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

/// Microsoft's redirect-back errors, mapped onto the guide's causes. AADSTS codes are read
/// from the description (reference-error-codes), where both the authorize and the admin
/// consent endpoints put them; Microsoft warns they may change, so unknown ones fall through
/// to a generic error that still shows Microsoft's words.
fn microsoft_redirect_error(
    error: &str,
    description: Option<&str>,
    subcode: Option<&str>,
) -> ConnectFailure {
    // Only the first line: Microsoft appends trace and correlation ids.
    let detail: String = description
        .unwrap_or("no description")
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    let has = |code: &str| {
        detail
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word == code)
    };
    if subcode == Some("cancel") {
        return ConnectFailure::Cancelled;
    }
    // A service principal of a Verified ID API is missing: the tenant never onboarded.
    if has("AADSTS650052") || has("AADSTS500011") || has("AADSTS650057") {
        return ConnectFailure::VerifiedIdNotSetUp {
            tenant_name: "you signed in to".into(),
            detail: Some(detail),
        };
    }
    if has("AADSTS90094") || has("AADSTS90095") || has("AADSTS90099") || has("AADSTS90008") {
        return ConnectFailure::NeedsAdministrator { detail };
    }
    // v1 admin consent's cancel: `permission_denied` "The admin canceled the request".
    if error == "permission_denied" && detail.to_ascii_lowercase().contains("cancel") {
        return ConnectFailure::Cancelled;
    }
    if has("AADSTS65004")
        || matches!(
            error,
            "consent_required" | "access_denied" | "permission_denied"
        )
    {
        return ConnectFailure::ConsentDeclined { detail };
    }
    let code: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    ConnectFailure::MicrosoftError { code, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_documented_consent_error_has_its_own_cause() {
        let cases = [
            (
                "access_denied",
                "AADSTS65004: User declined to consent to access the app.",
                None,
                "consent_declined",
            ),
            (
                "consent_required",
                "AADSTS65004: The resource owner or authorization server denied the request.",
                None,
                "consent_declined",
            ),
            (
                "access_denied",
                "AADSTS65004: x",
                Some("cancel"),
                "cancelled",
            ),
            (
                "permission_denied",
                "The admin canceled the request",
                None,
                "cancelled",
            ),
            (
                "consent_required",
                "AADSTS90094: The grant requires admin permission.",
                None,
                "needs_administrator",
            ),
            (
                "access_denied",
                "AADSTS90099: The application has not been authorized in the tenant.",
                None,
                "needs_administrator",
            ),
            (
                "invalid_client",
                "AADSTS650052: The app is trying to access a service that your organization lacks a service principal for.",
                None,
                "verified_id_not_set_up",
            ),
            (
                "invalid_request",
                "AADSTS500011: The resource principal named 3db474b9 was not found in the tenant.",
                None,
                "verified_id_not_set_up",
            ),
            ("server_error", "AADSTS50000: oops", None, "microsoft_error"),
        ];
        for (error, description, subcode, expected) in cases {
            assert_eq!(
                microsoft_redirect_error(error, Some(description), subcode).code(),
                expected,
                "{error} {description}"
            );
        }
        // A code inside a longer number is not that code.
        assert_eq!(
            microsoft_redirect_error("server_error", Some("AADSTS6500520: no"), None).code(),
            "microsoft_error"
        );
    }

    #[test]
    fn cancel_is_told_apart_from_a_declined_consent() {
        assert_eq!(
            microsoft_redirect_error("access_denied", None, Some("cancel")),
            ConnectFailure::Cancelled
        );
        assert!(matches!(
            microsoft_redirect_error("consent_required", Some("AADSTS65004: The resource owner or authorization server denied the request.\r\nTrace ID: x"), None),
            ConnectFailure::ConsentDeclined { detail } if detail == "AADSTS65004: The resource owner or authorization server denied the request."
        ));
        assert!(matches!(
            microsoft_redirect_error("server_error", Some("AADSTS50000: oops"), None),
            ConnectFailure::MicrosoftError { code, .. } if code == "server_error"
        ));
    }

    #[test]
    fn an_odd_error_code_is_sanitised() {
        let ConnectFailure::MicrosoftError { code, .. } =
            microsoft_redirect_error("<script>x</script>", None, None)
        else {
            panic!("expected a Microsoft error");
        };
        assert_eq!(code, "scriptxscript");
    }
}
