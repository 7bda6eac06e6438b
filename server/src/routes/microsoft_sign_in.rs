//! "Sign in with Microsoft": `GET /sign-in/microsoft` sends the browser to Microsoft with a
//! fresh `state`, nonce and PKCE verifier kept in its own session; `GET
//! /sign-in/microsoft/callback` is where Microsoft sends it back. Plain routes: the browser's
//! own navigation calls them, not our UI's server functions.

use app::ssr::{AppState, MICROSOFT_SIGN_IN_CALLBACK_PATH, start_session_on};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use tower_sessions::Session;
use traceless::integrations::CallbackParams;
use traceless::integrations::sign_in::{self, SignInRefusal};
use traceless::microsoft::PendingSignIn;
use url::Url;

/// This browser's sign-in in progress: one at a time, used once.
const PENDING_KEY: &str = "microsoft_sign_in";

fn redirect_uri(state: &AppState) -> Option<Url> {
    state
        .settings
        .public_url
        .join(MICROSOFT_SIGN_IN_CALLBACK_PATH)
        .ok()
}

pub async fn start(State(state): State<AppState>, session: Session) -> Response {
    let Some(redirect_uri) = redirect_uri(&state) else {
        return refused(&SignInRefusal::Internal);
    };
    let request = state.microsoft.sign_in_request(&redirect_uri);
    if let Err(error) = session.insert(PENDING_KEY, &request.pending).await {
        tracing::error!(%error, "keeping the Microsoft sign-in in the session");
        return refused(&SignInRefusal::Internal);
    }
    Redirect::to(request.url.as_str()).into_response()
}

pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<CallbackParams>,
) -> Response {
    // Single use: whatever happens, this browser's sign-in is over.
    let pending: Option<PendingSignIn> = session.remove(PENDING_KEY).await.ok().flatten();
    let Some(redirect_uri) = redirect_uri(&state) else {
        return refused(&SignInRefusal::Internal);
    };
    match sign_in::finish_sign_in(
        &state.pool,
        &state.microsoft,
        pending,
        params,
        &redirect_uri,
    )
    .await
    {
        Ok(user) => match start_session_on(&session, &user).await {
            Ok(()) => Redirect::to("/organization").into_response(),
            Err(_) => refused(&SignInRefusal::Internal),
        },
        Err(refusal) => {
            tracing::info!(cause = refusal.code(), "refused a Microsoft sign-in");
            refused(&refusal)
        }
    }
}

/// The refusal page: the app's stylesheet, phone-sized, what happened and what to do next.
fn refused(refusal: &SignInRefusal) -> Response {
    let status = match refusal {
        SignInRefusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        SignInRefusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        SignInRefusal::NotConnected | SignInRefusal::NotAMember { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = html_escape(&refusal.to_string());
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>You are not signed in · Traceless</title>
<link rel="stylesheet" href="/pkg/traceless.css">
</head>
<body>
<main id="main" class="narrow">
<section class="panel" aria-labelledby="refused-title" data-testid="microsoft-sign-in-refused" data-cause="{cause}">
<h1 id="refused-title">You are not signed in</h1>
<p role="alert">{message}</p>
<div class="actions">
<a class="button-secondary" href="/signin">Back to sign in</a>
</div>
</section>
</main>
</body>
</html>"#,
        cause = refusal.code(),
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
