//! Connecting a tenant: the admin presses "Log in to your tenant" (`start_connect`),
//! signs in and consents at Microsoft, and comes back (`finish_connect`). Only when
//! every step succeeded is anything stored, in one transaction.

use std::time::Duration;

use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use super::failure::{ConnectFailure, StateProblem};
use super::{CoveredDomain, IntegrationError, MicrosoftIntegration, store};
use crate::accounts::{OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::Pool;
use crate::microsoft::MicrosoftClient;
use crate::secret::SecretHash;

/// How long an admin has to finish at Microsoft.
pub const ATTEMPT_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The credential type asked for when the tenant offers it (the guide's default).
pub const PREFERRED_CREDENTIAL_TYPE: &str = "VerifiedEmployee";

pub struct ConnectStart {
    /// Where to send the admin's browser.
    pub authorize_url: Url,
    /// Kept in the admin's session: the return must come back to the same session.
    pub attempt_id: Uuid,
}

/// Records a single-use connect attempt for `actor` and returns Microsoft's sign-in URL.
pub async fn start_connect(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    actor: &User,
    redirect_uri: &Url,
) -> Result<ConnectStart, IntegrationError> {
    if !actor.is_admin() {
        return Err(IntegrationError::NotAdmin);
    }
    let request = microsoft.authorization_request(redirect_uri);
    let mut tx = pool.begin().await?;
    let attempt_id = store::insert_attempt(
        &mut tx,
        store::NewAttempt {
            organization_id: actor.organization_id,
            user_id: actor.id,
            state_hash: SecretHash::of(&request.state).as_str(),
            pkce_verifier: &request.pkce_verifier,
            nonce: &request.nonce,
            expires_at: OffsetDateTime::now_utc() + ATTEMPT_LIFETIME,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor.organization_id,
        Some(actor),
        Action::MicrosoftConnectStarted,
        "Sent to Microsoft to sign in and consent",
    )
    .await?;
    tx.commit().await?;
    Ok(ConnectStart {
        authorize_url: request.url,
        attempt_id,
    })
}

/// The query string Microsoft redirects back with.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_subcode: Option<String>,
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
    returning: Returning<'_>,
    params: CallbackParams,
    redirect_uri: &Url,
) -> Result<MicrosoftIntegration, ConnectFailure> {
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
    let result = complete(pool, microsoft, &attempt, user, params, redirect_uri).await;
    match &result {
        Ok(integration) => {
            tracing::info!(organization = %user.organization_id, tenant = %integration.tenant_id, "Microsoft Verified ID connected");
        }
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

async fn complete(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    attempt: &store::Attempt,
    user: &User,
    params: CallbackParams,
    redirect_uri: &Url,
) -> Result<MicrosoftIntegration, ConnectFailure> {
    if let Some(error) = params.error {
        return Err(microsoft_redirect_error(
            &error,
            params.error_description.as_deref(),
            params.error_subcode.as_deref(),
        ));
    }
    let code =
        params
            .code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ConnectFailure::MicrosoftError {
                code: "missing_code".into(),
                detail: "Microsoft sent no authorization code".into(),
            })?;
    let tenant = match microsoft
        .connect(&code, &attempt.pkce_verifier, redirect_uri, &attempt.nonce)
        .await
    {
        Ok(tenant) => tenant,
        Err(error) => return Err(ConnectFailure::from_microsoft(&error)),
    };
    let types: Vec<&str> = tenant.credential_types.iter().map(|t| t.as_str()).collect();
    let credential_type = if types.is_empty() || types.contains(&PREFERRED_CREDENTIAL_TYPE) {
        PREFERRED_CREDENTIAL_TYPE.to_owned()
    } else {
        types[0].to_owned()
    };
    let organization = &tenant.organization;
    let authority = &tenant.authority;
    let claims = &tenant.admin;

    let integration = MicrosoftIntegration {
        tenant_id: organization.id.as_str().to_owned(),
        tenant_name: organization.display_name.clone(),
        authority_id: authority.id.clone(),
        authority_did: authority.did.as_str().to_owned(),
        credential_type,
        // VerifiedEmployee's claim; the connect flow chooses it for other types.
        email_claim: "mail".to_owned(),
        microsoft_account: claims.preferred_username.clone().unwrap_or_default(),
        connected_by_name: user.display_name.clone(),
        connected_at: OffsetDateTime::now_utc(),
        domains: organization
            .verified_domains
            .iter()
            .map(|d| CoveredDomain {
                name: d.name.to_ascii_lowercase(),
                is_default: d.is_default,
                is_initial: d.is_initial,
            })
            .collect(),
    };
    store_integration(pool, user, &integration).await?;
    Ok(integration)
}

async fn store_integration(
    pool: &Pool,
    user: &User,
    integration: &MicrosoftIntegration,
) -> Result<(), ConnectFailure> {
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "storing the Microsoft integration");
        ConnectFailure::Internal
    };
    let mut tx = pool.begin().await.map_err(internal)?;
    if let Some(owner) = store::organization_of_tenant(&mut tx, &integration.tenant_id)
        .await
        .map_err(internal)?
        && owner != user.organization_id
    {
        return Err(ConnectFailure::TenantLinkedElsewhere {
            tenant_name: integration.tenant_name.clone(),
        });
    }
    store::upsert_integration(&mut tx, user.organization_id, integration, user.id)
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
            "Tenant {} ({}), authority {}, domains: {}",
            integration.tenant_name,
            integration.tenant_id,
            integration.authority_did,
            domains.join(", ")
        ),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

/// Microsoft's redirect-back errors, mapped onto the guide's causes.
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
    if error == "access_denied" && subcode == Some("cancel") {
        return ConnectFailure::Cancelled;
    }
    if matches!(
        error,
        "consent_required" | "access_denied" | "permission_denied" | "interaction_required"
    ) || detail.contains("AADSTS65004")
        || detail.contains("AADSTS90094")
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
