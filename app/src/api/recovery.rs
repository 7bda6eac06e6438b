//! Account recovery (issue 21): the card's setting and policy, who may start it, what the
//! agent's page says, and the person's one look at their Temporary Access Pass. Microsoft's
//! redirect back from the consent is a plain route (`server/src/routes/recovery_consent.rs`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {crate::ssr, traceless::recovery};

/// The connection card's account recovery section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCard {
    /// Why it cannot be enabled or used now; `None`: it can.
    pub unavailable: Option<String>,
    pub enabled: bool,
    pub lifetime_minutes: u32,
    pub one_time: bool,
    pub refuse_privileged: bool,
    pub lifetime_min: u32,
    pub lifetime_max: u32,
}

#[server(endpoint = "account_recovery_card")]
pub async fn account_recovery_card() -> Result<RecoveryCard, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let state = ssr::state()?;
            let status =
                recovery::status(&state.pool, admin.organization_id, state.recovery.is_some())
                    .await?;
            let policy = status
                .enabled
                .as_ref()
                .map(|e| e.policy)
                .unwrap_or_default();
            Ok(RecoveryCard {
                unavailable: status.unavailable,
                enabled: status.enabled.is_some(),
                lifetime_minutes: policy.lifetime_minutes(),
                one_time: policy.one_time,
                refuse_privileged: policy.refuse_privileged,
                lifetime_min: recovery::LIFETIME_MIN_MINUTES,
                lifetime_max: recovery::LIFETIME_MAX_MINUTES,
            })
        }
        .await,
    )
}

/// The card's message after Microsoft sent the admin back (`recovery_error=<code>`).
#[server(endpoint = "account_recovery_outcome")]
pub async fn account_recovery_outcome(code: String) -> Result<Option<String>, AppError> {
    ssr::respond(
        async {
            ssr::require_admin().await?;
            Ok(recovery::EnableFailure::explain(&code))
        }
        .await,
    )
}

/// "Enable account recovery": sends the admin to Microsoft's admin consent for the recovery
/// app registration, at the connected tenant.
#[server(endpoint = "enable_account_recovery")]
pub async fn enable_account_recovery() -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let state = ssr::state()?;
            let redirect_uri = state
                .settings
                .public_url
                .join(ssr::RECOVERY_CONSENT_CALLBACK_PATH)
                .map_err(ssr::internal)?;
            let url = recovery::start_enable(
                &state.pool,
                state.recovery.as_deref(),
                &admin,
                &redirect_uri,
            )
            .await?;
            leptos_axum::redirect(url.as_str());
            Ok(())
        }
        .await,
    )
}

/// "Turn off": forgets the grant and the policy.
#[server(endpoint = "turn_off_account_recovery")]
pub async fn turn_off_account_recovery() -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            recovery::turn_off(&ssr::pool()?, &admin).await?;
            Ok(())
        }
        .await,
    )
}

/// The policy: lifetime in minutes, and two checkboxes (present when ticked).
#[server(endpoint = "set_account_recovery_policy")]
pub async fn set_account_recovery_policy(
    lifetime_minutes: String,
    #[server(default)] one_time: Option<String>,
    #[server(default)] refuse_privileged: Option<String>,
) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let ticked = |v: &Option<String>| {
                v.as_deref()
                    .is_some_and(|v| matches!(v.trim(), "on" | "true" | "yes" | "1"))
            };
            let policy = lifetime_minutes
                .trim()
                .parse::<u32>()
                .ok()
                .and_then(|m| {
                    recovery::Policy::new(m, ticked(&one_time), ticked(&refuse_privileged))
                })
                .ok_or(recovery::AccountRecoveryError::LifetimeOutOfRange)?;
            recovery::set_policy(&ssr::pool()?, &admin, policy).await?;
            Ok(())
        }
        .await,
    )
}

/// The members an administrator allowed to start account recovery (ids).
#[server(endpoint = "account_recovery_members")]
pub async fn account_recovery_members() -> Result<Vec<String>, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            Ok(
                recovery::members_allowed(&ssr::pool()?, admin.organization_id)
                    .await?
                    .into_iter()
                    .map(|u| u.0.to_string())
                    .collect(),
            )
        }
        .await,
    )
}

/// Allows a member to start account recovery (`allowed=true`), or stops allowing it.
#[server(endpoint = "set_account_recovery_permission")]
pub async fn set_account_recovery_permission(
    user_id: String,
    allowed: bool,
) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let member = uuid::Uuid::parse_str(user_id.trim())
                .map(traceless::accounts::UserId)
                .map_err(|_| recovery::AccountRecoveryError::UnknownMember)?;
            recovery::set_member_permission(&ssr::pool()?, &admin, member, allowed).await?;
            Ok(())
        }
        .await,
    )
}

/// Whether the send form offers "Then issue a Temporary Access Pass" to the signed-in user.
#[server(endpoint = "may_start_account_recovery")]
pub async fn may_start_account_recovery() -> Result<bool, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            Ok(recovery::may_start(&ssr::pool()?, &user).await?)
        }
        .await,
    )
}

/// A verification's recovery, on the agent's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryLine {
    /// `requested`, `issuing`, `issued` or `refused`.
    pub state: String,
    /// The reason's word, when refused.
    pub reason: Option<String>,
    pub text: String,
}

#[server(endpoint = "verification_recovery")]
pub async fn verification_recovery(id: String) -> Result<Option<RecoveryLine>, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let id = uuid::Uuid::parse_str(id.trim())
                .map_err(|_| AppError::NotFound("No such verification.".into()))?;
            let view = recovery::of_verification(&ssr::pool()?, user.organization_id, id).await?;
            Ok(view.map(|view| {
                let (state, reason) = match view.state {
                    recovery::RecoveryState::Requested => ("requested", None),
                    recovery::RecoveryState::Issuing => ("issuing", None),
                    recovery::RecoveryState::Issued { .. } => ("issued", None),
                    recovery::RecoveryState::Refused(r) => ("refused", Some(r.as_str().to_owned())),
                };
                RecoveryLine {
                    state: state.to_owned(),
                    reason,
                    text: view.describe(),
                }
            }))
        }
        .await,
    )
}

/// What the person's verified page offers: `offered` (a pass waits), `shown` (it was shown
/// once already), `refused` (with the person's sentence), or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecoveryView {
    pub state: String,
    pub message: Option<String>,
}

#[server(endpoint = "person_recovery")]
pub async fn person_recovery(token: String) -> Result<Option<PersonRecoveryView>, AppError> {
    ssr::respond(
        async {
            let state = ssr::state()?;
            let Ok(verification) = state.verifier.by_token(&token).await else {
                return Ok(None);
            };
            let view = recovery::for_person(&state.pool, &verification).await?;
            Ok(view.map(|v| match v {
                recovery::PersonRecovery::Offered => PersonRecoveryView {
                    state: "offered".into(),
                    message: None,
                },
                recovery::PersonRecovery::Shown => PersonRecoveryView {
                    state: "shown".into(),
                    message: None,
                },
                recovery::PersonRecovery::Refused => PersonRecoveryView {
                    state: "refused".into(),
                    message: Some(recovery::PERSON_REFUSED.into()),
                },
            }))
        }
        .await,
    )
}

/// The pass, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownPass {
    pub pass: String,
    pub valid_until: String,
    pub one_time: bool,
}

/// The person's verified page asks for their pass: once per verification, ever. The answer
/// is never cached.
#[server(endpoint = "reveal_temporary_access_pass")]
pub async fn reveal_temporary_access_pass(token: String) -> Result<ShownPass, AppError> {
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
    }
    ssr::respond(
        async {
            let state = ssr::state()?;
            let revealed = recovery::reveal_for_link(
                &state.pool,
                &state.verifier,
                state.recovery.as_deref(),
                &token,
            )
            .await?;
            Ok(ShownPass {
                pass: revealed.pass.expose().to_owned(),
                valid_until: super::convert::when(revealed.valid_until),
                one_time: revealed.one_time,
            })
        }
        .await,
    )
}
