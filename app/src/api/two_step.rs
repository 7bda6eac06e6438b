//! Two-step verification: the account page (set up, turn off, new recovery codes), the code
//! step of sign-in, and an administrator's requirement of it for the whole organization.
//!
//! After a correct password, an account with two-step verification gets no session yet: only a
//! short-lived marker that the password step passed (`PendingSignIn`), which the code step
//! turns into a session. A member whose organization requires two-step verification and who
//! has not set it up gets a marker that allows setting it up and nothing else.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::ssr,
    traceless::accounts::User,
    traceless::mfa::{Caller, Proof, TwoStep},
    traceless::sign_in_log::{self, Method},
};

/// The signed-in person's two-step verification, for the account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepState {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// Their organization requires it.
    pub required: bool,
    /// They are part-way through signing in: setting it up is all they can do until done.
    pub setting_up_to_sign_in: bool,
}

/// What to add to an authenticator app: a QR code, and the same secret as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepSetup {
    pub qr_svg: String,
    pub secret_text: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
    /// Where to go next (after a sign-in that required setting up, the organization).
    pub continue_to: Option<String>,
}

#[cfg(feature = "ssr")]
mod pending {
    //! The session marker between the password and the second step.

    use serde::{Deserialize, Serialize};
    use traceless::accounts::{self, User, UserId};

    use crate::error::AppError;
    use crate::ssr;

    const KEY: &str = "two_step_pending";
    /// Time to open the app and type a code.
    const CODE_SECS: i64 = 5 * 60;
    /// Time to install an app and scan a code.
    const SETUP_SECS: i64 = 15 * 60;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Next {
        /// Two-step verification is on: the code step.
        Code,
        /// The organization requires it and it is off: setting it up.
        Setup,
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct PendingSignIn {
        user_id: uuid::Uuid,
        next: Next,
        passed_at: i64,
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    pub async fn keep(user: &User, next: Next) -> Result<(), AppError> {
        ssr::keep_in_session(
            KEY,
            PendingSignIn {
                user_id: user.id.0,
                next,
                passed_at: now(),
            },
        )
        .await
    }

    /// The user whose password step passed, waiting for `next`, if the marker is still fresh.
    /// It stays in the session (`forget` ends it).
    pub async fn user(next: Next) -> Result<Option<User>, AppError> {
        let Some(pending) = ssr::take_from_session::<PendingSignIn>(KEY).await? else {
            return Ok(None);
        };
        let lifetime = match pending.next {
            Next::Code => CODE_SECS,
            Next::Setup => SETUP_SECS,
        };
        if now() - pending.passed_at > lifetime {
            // Stale: left out of the session.
            return Ok(None);
        }
        ssr::keep_in_session(KEY, &pending).await?;
        if pending.next != next {
            return Ok(None);
        }
        Ok(accounts::active_user(&ssr::pool()?, UserId(pending.user_id)).await?)
    }

    pub async fn forget() -> Result<(), AppError> {
        ssr::take_from_session::<PendingSignIn>(KEY).await?;
        Ok(())
    }
}

#[cfg(feature = "ssr")]
pub(crate) use pending::Next;

/// After a correct password: signs in, or asks for the second step, or sends the person to set
/// it up when their organization requires it.
#[cfg(feature = "ssr")]
pub(crate) async fn after_password(user: User) -> Result<(), AppError> {
    let pool = ssr::pool()?;
    if traceless::mfa::enabled(&pool, &user).await? {
        pending::keep(&user, Next::Code).await?;
        leptos_axum::redirect("/signin/code");
    } else if traceless::mfa::setup_outstanding(&pool, &user).await? {
        pending::keep(&user, Next::Setup).await?;
        leptos_axum::redirect("/account/two-step");
    } else {
        signed_in(&user, Method::Password).await?;
        leptos_axum::redirect("/organization");
    }
    Ok(())
}

/// Logs a refused password for an existing account, off the request's path so the answer
/// takes the same time whether or not the account exists.
#[cfg(feature = "ssr")]
pub(crate) async fn password_refused(email: &str) {
    let Ok(pool) = ssr::pool() else { return };
    let client = ssr::client_address().await;
    let email = email.to_owned();
    leptos::task::spawn(async move {
        if let Err(error) = sign_in_log::password_refused(&pool, &email, client).await {
            tracing::error!(error = %error, "logging a refused sign-in");
        }
    });
}

#[cfg(feature = "ssr")]
async fn signed_in(user: &User, method: Method) -> Result<(), AppError> {
    ssr::start_session(user).await?;
    sign_in_log::signed_in(&ssr::pool()?, user, method, ssr::client_address().await).await?;
    tracing::info!(user = %user.id, "signed in");
    Ok(())
}

/// The person setting up two-step verification: signed in, or part-way through a sign-in that
/// requires it.
#[cfg(feature = "ssr")]
async fn setting_up() -> Result<(User, bool), AppError> {
    if let Some(user) = ssr::current_account().await? {
        return Ok((user, false));
    }
    match pending::user(Next::Setup).await? {
        Some(user) => Ok((user, true)),
        None => Err(AppError::Unauthenticated),
    }
}

#[cfg(feature = "ssr")]
fn two_step(state: &ssr::AppState) -> TwoStep<'_> {
    TwoStep::new(&state.pool, state.microsoft.token_key())
}

#[cfg(feature = "ssr")]
async fn caller(user: &User) -> Caller<'_> {
    Caller {
        user,
        client: ssr::client_address().await,
    }
}

#[server(endpoint = "two_step_status")]
pub async fn two_step_status() -> Result<TwoStepState, AppError> {
    ssr::respond(
        async {
            let (user, setting_up_to_sign_in) = setting_up().await?;
            let state = ssr::state()?;
            let status = two_step(&state).status(&user).await?;
            Ok(TwoStepState {
                enabled: status.enabled,
                recovery_codes_left: status.recovery_codes_left,
                required: status.required,
                setting_up_to_sign_in,
            })
        }
        .await,
    )
}

/// A new secret to add to an authenticator app; nothing changes until a code from it is entered.
#[server(endpoint = "begin_two_step_setup")]
pub async fn begin_two_step_setup() -> Result<TwoStepSetup, AppError> {
    ssr::respond(
        async {
            let (user, _) = setting_up().await?;
            let state = ssr::state()?;
            let setup = two_step(&state).begin_setup(&user, "Traceless").await?;
            Ok(TwoStepSetup {
                qr_svg: traceless::qr::svg(&setup.uri).unwrap_or_default(),
                secret_text: setup.secret_text,
            })
        }
        .await,
    )
}

/// Turns two-step verification on with a code from the app (proof it is set up), and
/// returns the recovery codes. Finishes a sign-in that was waiting for it.
#[server(endpoint = "enable_two_step")]
pub async fn enable_two_step(code: String) -> Result<RecoveryCodes, AppError> {
    ssr::respond(
        async {
            let (user, signing_in) = setting_up().await?;
            let state = ssr::state()?;
            state.limits.mfa_code_per_account.check(&user.id.0)?;
            let codes = two_step(&state).enable(caller(&user).await, &code).await?;
            if signing_in {
                pending::forget().await?;
                signed_in(&user, Method::PasswordAndCode).await?;
            }
            Ok(RecoveryCodes {
                codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
                continue_to: signing_in.then(|| "/organization".to_owned()),
            })
        }
        .await,
    )
}

/// Turns two-step verification off: the password, and a code or a recovery code.
#[server(endpoint = "disable_two_step")]
pub async fn disable_two_step(
    password: String,
    code: String,
    #[server(default)] recovery: Option<String>,
) -> Result<(), AppError> {
    ssr::respond(
        async {
            let user = ssr::require_account().await?;
            let state = ssr::state()?;
            state.limits.mfa_code_per_account.check(&user.id.0)?;
            let proof = proof(&code, recovery.as_deref());
            two_step(&state)
                .disable(caller(&user).await, &password, proof)
                .await?;
            Ok(())
        }
        .await,
    )
}

/// New recovery codes (the old ones stop working); needs a code from the app.
#[server(endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(code: String) -> Result<RecoveryCodes, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_account().await?;
            let state = ssr::state()?;
            state.limits.mfa_code_per_account.check(&user.id.0)?;
            let codes = two_step(&state)
                .regenerate_recovery_codes(caller(&user).await, &code)
                .await?;
            Ok(RecoveryCodes {
                codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
                continue_to: None,
            })
        }
        .await,
    )
}

/// The second step of signing in: a code from the app, or a recovery code.
#[server(endpoint = "sign_in_code")]
pub async fn sign_in_code(
    code: String,
    #[server(default)] recovery: Option<String>,
) -> Result<(), AppError> {
    ssr::respond(
        async {
            let user = pending::user(Next::Code).await?.ok_or_else(|| {
                AppError::invalid(
                    None,
                    "Your sign-in has timed out. Sign in again with your email and password.",
                )
            })?;
            let state = ssr::state()?;
            state.limits.mfa_code_per_account.check(&user.id.0)?;
            let proof = proof(&code, recovery.as_deref());
            two_step(&state).check(caller(&user).await, proof).await?;
            pending::forget().await?;
            let method = match proof {
                Proof::Code(_) => Method::PasswordAndCode,
                Proof::RecoveryCode(_) => Method::PasswordAndRecoveryCode,
            };
            signed_in(&user, method).await?;
            leptos_axum::redirect("/organization");
            Ok(())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn proof<'a>(code: &'a str, recovery: Option<&str>) -> Proof<'a> {
    if recovery.is_some_and(|r| !r.is_empty() && r != "false") {
        Proof::RecoveryCode(code)
    } else {
        Proof::Code(code)
    }
}

/// Whether the administrator's organization requires two-step verification of everyone.
#[server(endpoint = "set_two_step_required")]
pub async fn set_two_step_required(required: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let required = match required.as_str() {
                "on" | "true" => true,
                "off" | "false" => false,
                _ => {
                    return Err(AppError::invalid(
                        Some("required"),
                        "Choose whether to require two-step verification.",
                    ));
                }
            };
            let state = ssr::state()?;
            two_step(&state)
                .set_required(caller(&admin).await, required)
                .await?;
            Ok(())
        }
        .await,
    )
}
