//! The Microsoft Verified ID connection card: view, connect, remove.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::MicrosoftCard;

#[cfg(feature = "ssr")]
use crate::model::{ChoiceOption, EmailChoice, PendingChoice};

#[cfg(feature = "ssr")]
use {
    super::convert,
    crate::model::{ConnectOutcome, MicrosoftConnection},
    crate::ssr,
    traceless::integrations,
};

/// Session key of the connect attempt this browser started (see `finish_connect`).
#[cfg(feature = "ssr")]
pub const CONNECT_ATTEMPT_KEY: &str = "microsoft_connect_attempt";
/// Session key of the last connect outcome, shown once on the card.
#[cfg(feature = "ssr")]
pub const CONNECT_OUTCOME_KEY: &str = "microsoft_connect_outcome";

#[server(endpoint = "microsoft_connection_card")]
pub async fn microsoft_connection_card() -> Result<MicrosoftCard, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let outcome: Option<ConnectOutcome> =
                ssr::take_from_session(CONNECT_OUTCOME_KEY).await?;
            let connection = integrations::integration(&ssr::pool()?, user.organization_id)
                .await?
                .map(|i| MicrosoftConnection {
                    active: i.is_active(),
                    email_usable: i.email_is_usable(),
                    email_source: i.email_source.describe().to_owned(),
                    email_directory_backed: i.email_source.is_directory_backed(),
                    email_source_accepted: i.email_source_accepted,
                    email_choices: i
                        .available_claims
                        .iter()
                        .map(|c| (c, i.source_of(c)))
                        .filter(|(_, s)| s.is_directory_backed() || s.may_be_accepted())
                        .map(|(c, s)| email_choice(c, s))
                        .collect(),
                    photo_claim: i.photo_claim,
                    linked_domain_verified: i.linked_domain.is_usable(),
                    tenant_name: i.tenant_name,
                    tenant_id: i.tenant_id,
                    authority_did: i.authority_did,
                    credential_type: i.credential_type,
                    linked_domain_unconfirmed: i.linked_domain
                        == traceless::microsoft::LinkedDomain::Unknown,
                    last_confirmed_at: i.freshness.confirmed_at.map(convert::when),
                    refresh_problem: i.freshness.problem.clone(),
                    removed_domains: i.freshness.removed_domains.clone(),
                    domains_removed_at: i.freshness.domains_removed_at.map(convert::when),
                    credential_types: i.credential_types.clone(),
                    authority_confirmed_at: i.freshness.authority_confirmed_at.map(convert::when),
                    authority_sign_in_needed: i.freshness.authority_sign_in_needed,
                    authority_reread_daily: i.freshness.authority_token_kept,
                    email_claim: i.email_claim,
                    available_claims: i.available_claims,
                    domains: i.domains.into_iter().map(|d| d.name).collect(),
                    microsoft_account: i.microsoft_account,
                    connected_by: i.connected_by_name,
                    connected_at: convert::when(i.connected_at),
                });
            let pending = if user.is_admin() {
                integrations::pending_connection(&ssr::pool()?, user.organization_id)
                    .await?
                    .map(|p| PendingChoice {
                        tenant_name: p.tenant_name,
                        domains: p.domains.into_iter().map(|d| d.name).collect(),
                        expires_at: convert::when(p.expires_at),
                        options: p
                            .options
                            .into_iter()
                            .map(|o| ChoiceOption {
                                default_email_claim: o.default_email_claim().map(str::to_owned),
                                email_choices: o
                                    .email_choices()
                                    .into_iter()
                                    .map(|c| email_choice(&c.claim, c.source))
                                    .collect(),
                                authority_id: o.authority_id,
                                authority_name: o.authority_name,
                                authority_did: o.authority_did,
                                linked_domain_verified: o.linked_domain.is_usable(),
                                credential_type: o.credential_type,
                                claims: o.claims,
                            })
                            .collect(),
                    })
            } else {
                None
            };
            Ok(MicrosoftCard {
                can_manage: user.is_admin(),
                connection,
                pending,
                outcome,
            })
        }
        .await,
    )
}

/// "Log in to your tenant": records a connect attempt and sends the browser to Microsoft.
/// `tenant` (optional): the tenant's domain or ID, for an administrator whose account is not
/// in the tenant (the admin consent then goes there instead of `organizations`).
#[server(endpoint = "start_microsoft_connect")]
pub async fn start_microsoft_connect(tenant: Option<String>) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let tenant = integrations::ConsentTenant::parse(tenant.as_deref())?;
            let state = ssr::state()?;
            let start = integrations::start_connect_at(
                &state.pool,
                &state.microsoft,
                &admin,
                &state.microsoft_redirect_uri,
                &tenant,
            )
            .await?;
            send_to_microsoft(start).await
        }
        .await,
    )
}

/// "Sign in with another account": consent is in place, but the account that signed in may
/// not read Verified ID; the sign-in leg again, with Microsoft's account picker.
#[server(endpoint = "sign_in_microsoft_another_account")]
pub async fn sign_in_microsoft_another_account(tenant: Option<String>) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let tenant = integrations::ConsentTenant::parse(tenant.as_deref())?;
            let state = ssr::state()?;
            let start = integrations::consent::start_sign_in_with_another_account(
                &state.pool,
                &state.microsoft,
                &admin,
                &state.microsoft_redirect_uri,
                &tenant,
            )
            .await?;
            send_to_microsoft(start).await
        }
        .await,
    )
}

/// Binds the attempt to this browser's session, then sends the browser to Microsoft.
#[cfg(feature = "ssr")]
async fn send_to_microsoft(start: integrations::ConnectStart) -> Result<(), AppError> {
    ssr::keep_in_session(CONNECT_ATTEMPT_KEY, start.attempt_id).await?;
    leptos_axum::redirect(start.authorize_url.as_str());
    Ok(())
}

#[cfg(feature = "ssr")]
fn email_choice(claim: &str, source: traceless::microsoft::EmailSource) -> EmailChoice {
    EmailChoice {
        claim: claim.to_owned(),
        source: source.describe().to_owned(),
        directory_backed: source.is_directory_backed(),
    }
}

/// A form checkbox: present ("on", "true") when ticked.
#[cfg(feature = "ssr")]
fn ticked(value: Option<&str>) -> bool {
    value.is_some_and(|v| matches!(v.trim(), "on" | "true" | "yes" | "1"))
}

/// The admin's pick among several authorities or credential types. `option` is
/// `{authority_id} {credential_type}` (one radio group); `email_claim` may be empty;
/// `accept_unchecked_email` is the ticked warning for an email not from the directory.
#[server(endpoint = "choose_microsoft_connection")]
pub async fn choose_microsoft_connection(
    option: String,
    email_claim: Option<String>,
    #[server(default)] accept_unchecked_email: Option<String>,
) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let Some((authority_id, credential_type)) = option.split_once(' ') else {
                return Err(AppError::invalid(
                    Some("option"),
                    "Choose the credential Traceless should ask for.",
                ));
            };
            integrations::choose(
                &ssr::pool()?,
                &admin,
                authority_id,
                credential_type,
                email_claim.as_deref().map(str::trim),
                ticked(accept_unchecked_email.as_deref()),
            )
            .await?;
            Ok(())
        }
        .await,
    )
}

/// Changes which claim of the credential holds the person's email address; an email not
/// checked against the directory needs `accept_unchecked_email` ticked (audited).
#[server(endpoint = "set_microsoft_email_claim")]
pub async fn set_microsoft_email_claim(
    email_claim: String,
    #[server(default)] accept_unchecked_email: Option<String>,
) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            integrations::set_email_claim(
                &ssr::pool()?,
                &admin,
                email_claim.trim(),
                ticked(accept_unchecked_email.as_deref()),
            )
            .await?;
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "remove_microsoft_integration")]
pub async fn remove_microsoft_integration() -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let state = ssr::state()?;
            // Pending verifications stop with it: their links no longer work, and open pages
            // hear it.
            state.verifier.remove_integration(&admin).await?;
            Ok(())
        }
        .await,
    )
}

/// "Refresh from Microsoft": re-reads the tenant's domains, and (with a kept sign-in) its
/// authority and credential types, now (administrators only, audited,
/// at most once a minute). A refresh Microsoft could not answer keeps the last known state;
/// the card then says why and when Microsoft last confirmed it.
#[server(endpoint = "refresh_microsoft_connection")]
pub async fn refresh_microsoft_connection() -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let state = ssr::state()?;
            let page = state
                .settings
                .public_url
                .join("organization/integrations")
                .map_err(|e| ssr::internal(format!("the integrations page URL: {e}")))?;
            integrations::refresh::refresh_now(&state.pool, &state.microsoft, &admin, &page)
                .await?;
            Ok(())
        }
        .await,
    )
}
