//! Server-side plumbing for server functions: the shared state, the session and the
//! signed-in user, and the HTTP status of a server function's error (domain errors become an
//! `AppError` in `crate::error`).

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use tower_sessions::Session;
use traceless::accounts::sessions::{SessionKey, USER_KEY};
use traceless::accounts::{self, User, UserId};
use traceless::config::Settings;
use traceless::db::Pool;
use traceless::microsoft::MicrosoftClient;
use traceless::rate_limit::{ClientKey, RateLimits};
use traceless::shared_limits::SharedLimits;

use crate::error::AppError;

/// Everything a request handler or server function needs, cloned cheaply per request.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    /// Microsoft (or the built-in emulator: only base URLs differ).
    pub microsoft: Arc<MicrosoftClient>,
    /// Where Microsoft sends the admin back after sign-in and consent.
    pub microsoft_redirect_uri: url::Url,
    /// The account-recovery app registration's client; `None`: not configured (issue 21).
    pub recovery: Option<Arc<traceless::microsoft::RecoveryClient>>,
    pub verifier: Arc<traceless::verification::Verifier>,
    pub limits: Arc<RateLimits>,
    /// Limits counted in the database when instances share it (sign-in failures, API keys).
    pub shared_limits: Arc<SharedLimits>,
    /// The development mailbox is on: no SMTP server is configured, so delivered mail
    /// stays readable in the app (admins only).
    pub mailbox: bool,
}

/// Where Microsoft posts presentation callbacks.
pub const VERIFIED_ID_CALLBACK_PATH: &str = "/microsoft/verified-id/callback";

/// The route Microsoft redirects back to; registered on the app in Entra.
pub const MICROSOFT_CALLBACK_PATH: &str = "/organization/integrations/microsoft/callback";

/// Where Microsoft sends the admin back after "Enable account recovery" (the recovery app
/// registration's admin consent); registered on that app in Entra.
pub const RECOVERY_CONSENT_CALLBACK_PATH: &str =
    "/organization/integrations/microsoft/recovery/callback";

/// "Sign in with Microsoft" starts here (a plain route: it only redirects to Microsoft).
pub const MICROSOFT_SIGN_IN_PATH: &str = "/sign-in/microsoft";

/// Where Microsoft sends a person back after "Sign in with Microsoft"; registered on the app
/// in Entra next to [`MICROSOFT_CALLBACK_PATH`].
pub const MICROSOFT_SIGN_IN_CALLBACK_PATH: &str = "/sign-in/microsoft/callback";

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("AppState missing from the Leptos context"))
}

pub fn pool() -> Result<Pool, AppError> {
    Ok(state()?.pool)
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| internal(format!("no session layer: {e:?}")))
}

/// The account signed in on `session`, confirmed or not, re-read from the database on every
/// call so that a removed teammate or a changed role takes effect at once. Only for what is
/// the account's own (who am I, its password, sessions, two-step verification).
async fn signed_in_account(pool: &Pool, session: &Session) -> Result<Option<User>, AppError> {
    let id: Option<UserId> = session
        .get::<uuid::Uuid>(USER_KEY)
        .await
        .map_err(|e| internal(format!("reading the session: {e}")))?
        .map(UserId);
    let Some(id) = id else { return Ok(None) };
    let user = accounts::active_user(pool, id).await.map_err(internal)?;
    let Some(user) = user else {
        // The account is gone: forget it rather than fail on every request.
        let _ = session.flush().await;
        return Ok(None);
    };
    // Their organization now requires two-step verification and they have not set it up:
    // signed in no longer (signing in again leads them to set it up).
    if traceless::mfa::setup_outstanding(pool, &user)
        .await
        .map_err(internal)?
    {
        return Ok(None);
    }
    Ok(Some(user))
}

/// The signed-in member, for everything that reads or changes organization data: the one
/// gate between a session and the organization. An account whose address is not confirmed
/// yet is refused here (403, `AppError::EmailUnconfirmed`), whatever it asks for.
async fn signed_in_user(pool: &Pool, session: &Session) -> Result<Option<User>, AppError> {
    match signed_in_account(pool, session).await? {
        Some(user) if !user.email_confirmed => Err(AppError::EmailUnconfirmed {
            email: user.email.to_string(),
        }),
        member => Ok(member),
    }
}

/// The signed-in member, for plain axum routes (failures are logged and count as nobody;
/// an unconfirmed account is nobody here).
pub async fn user_of_session(pool: &Pool, session: &Session) -> Option<User> {
    signed_in_user(pool, session).await.ok().flatten()
}

/// The signed-in member, for plain axum routes that answer with the refusal itself: 401 for
/// nobody, 403 for an account whose address is not confirmed.
pub async fn member_of_session(pool: &Pool, session: &Session) -> Result<User, AppError> {
    signed_in_user(pool, session)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// The client's address as the rate-limit layer read it (behind trusted proxies, the
/// forwarded one), for limits a server function counts per address.
pub async fn client() -> Result<ClientKey, AppError> {
    leptos_axum::extract::<axum::Extension<ClientKey>>()
        .await
        .map(|axum::Extension(client)| client)
        .map_err(|e| internal(format!("no client address on the request: {e:?}")))
}

/// The signed-in member, for server functions (an unconfirmed account is refused).
pub async fn current_user() -> Result<Option<User>, AppError> {
    signed_in_user(&pool()?, &session().await?).await
}

/// The signed-in account, confirmed or not: only for what is the account's own.
pub async fn current_account() -> Result<Option<User>, AppError> {
    signed_in_account(&pool()?, &session().await?).await
}

/// [`current_account`], or 401.
pub async fn require_account() -> Result<User, AppError> {
    current_account().await?.ok_or(AppError::Unauthenticated)
}

pub async fn require_user() -> Result<User, AppError> {
    current_user().await?.ok_or(AppError::Unauthenticated)
}

pub async fn require_admin() -> Result<User, AppError> {
    let user = require_user().await?;
    if user.is_admin() {
        Ok(user)
    } else {
        Err(AppError::Forbidden(ADMIN_ONLY.into()))
    }
}

pub const ADMIN_ONLY: &str = "You must be an organization administrator in Traceless to do this. Ask your Traceless organization administrator for the appropriate access.";

/// Signs `user` in. The session id changes here, so an id planted before sign-in
/// (session fixation) is worthless afterwards.
pub async fn start_session(user: &User) -> Result<(), AppError> {
    start_session_on(&session().await?, user).await
}

/// [`start_session`] for a plain axum route that holds the request's `Session`.
pub async fn start_session_on(session: &Session, user: &User) -> Result<(), AppError> {
    session
        .cycle_id()
        .await
        .map_err(|e| internal(format!("cycling the session id: {e}")))?;
    session
        .insert(USER_KEY, user.id.0)
        .await
        .map_err(|e| internal(format!("writing the session: {e}")))
}

/// How this browser's session is stored (`None` before anything was saved for it).
pub async fn session_key() -> Result<Option<SessionKey>, AppError> {
    Ok(session()
        .await?
        .id()
        .map(|id| SessionKey::of_cookie(&id.to_string())))
}

pub async fn end_session() -> Result<(), AppError> {
    session()
        .await?
        .flush()
        .await
        .map_err(|e| internal(format!("clearing the session: {e}")))
}

/// Takes a value out of this browser's session (it is gone afterwards).
pub async fn take_from_session<T: serde::de::DeserializeOwned>(
    key: &str,
) -> Result<Option<T>, AppError> {
    session()
        .await?
        .remove(key)
        .await
        .map_err(|e| internal(format!("reading the session: {e}")))
}

/// Keeps a value in this browser's session.
pub async fn keep_in_session(key: &str, value: impl serde::Serialize) -> Result<(), AppError> {
    session()
        .await?
        .insert(key, value)
        .await
        .map_err(|e| internal(format!("writing the session: {e}")))
}

/// The client's address as the server's rate-limit layer read it, for the audit log.
pub async fn client_address() -> Option<std::net::IpAddr> {
    leptos_axum::extract::<axum::Extension<traceless::rate_limit::ClientAddr>>()
        .await
        .ok()
        .map(|axum::Extension(traceless::rate_limit::ClientAddr(ip))| ip)
}

/// Finishes a server function: an error also sets the HTTP status of the response
/// (the server-function call, or the page being rendered).
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        set_status(error.status());
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = error
            && let Some(options) = use_context::<ResponseOptions>()
        {
            options.insert_header(http::header::RETRY_AFTER, (*retry_after_secs).into());
        }
    }
    result
}

pub fn set_status(status: u16) {
    if let (Some(options), Ok(code)) = (
        use_context::<ResponseOptions>(),
        http::StatusCode::from_u16(status),
    ) {
        options.set_status(code);
    }
}

/// Logs an unexpected failure once, with its cause, and hides it from the person.
pub fn internal(error: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %error, "internal error");
    AppError::Internal
}
