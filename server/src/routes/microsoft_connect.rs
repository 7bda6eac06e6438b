//! `GET /organization/integrations/microsoft/callback`: where Microsoft sends the admin
//! back, twice: after the admin consent (then on to sign in), and after the sign-in. The
//! outcome goes into the session and the admin lands on the connection card, which shows it
//! once; nothing secret is in any URL.

use app::api::integrations::{CONNECT_ATTEMPT_KEY, CONNECT_OUTCOME_KEY};
use app::model::ConnectOutcome;
use app::ssr::{AppState, user_of_session};
use axum::extract::{Query, State};
use std::time::Duration;

use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use tower_sessions::Session;
use traceless::integrations::{
    self, CallbackParams, ConnectFailure, ConnectProgress, Finishing, Returning,
};
use uuid::Uuid;

pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<CallbackParams>,
) -> Response {
    let user = user_of_session(&state.pool, &session).await;
    // Single use: whatever happens, this browser's attempt is over.
    let attempt_id: Option<Uuid> = session.remove(CONNECT_ATTEMPT_KEY).await.ok().flatten();
    let outcome = match integrations::finish_connect(
        &state.pool,
        &state.microsoft,
        state.verifier.identity(),
        Returning {
            user: user.as_ref(),
            attempt_id,
        },
        params,
        &state.microsoft_redirect_uri,
    )
    .await
    {
        Ok(ConnectProgress::SignIn { attempt_id, url }) => {
            // The sign-in leg must come back to this same browser session.
            return match session.insert(CONNECT_ATTEMPT_KEY, attempt_id).await {
                Ok(()) => Redirect::to(url.as_str()).into_response(),
                Err(error) => {
                    tracing::error!(%error, "storing the sign-in attempt in the session");
                    let outcome = ConnectOutcome::Failed {
                        code: ConnectFailure::Internal.code().to_owned(),
                        detail: ConnectFailure::Internal.explain(),
                    };
                    let _ = session.insert(CONNECT_OUTCOME_KEY, outcome).await;
                    Redirect::to("/organization/integrations").into_response()
                }
            };
        }
        // Microsoft is still spreading the consent: the waiting page takes over.
        Ok(ConnectProgress::FinishingConsent) => {
            return Redirect::to(FINISHING_PATH).into_response();
        }
        Ok(progress) => outcome_of(Ok(progress)),
        Err(failure) => outcome_of(Err(failure)),
    };
    if let Err(error) = session.insert(CONNECT_OUTCOME_KEY, outcome).await {
        tracing::error!(%error, "storing the connect outcome in the session");
    }
    Redirect::to("/organization/integrations").into_response()
}

/// "Microsoft is finishing your consent": each visit asks Microsoft once more (see
/// `integrations::consent`); the page reloads itself after the back-off (a meta refresh, so
/// it moves on without JavaScript), and once the connect ends it goes to the card, which shows
/// the outcome.
pub const FINISHING_PATH: &str = "/organization/integrations/microsoft/finishing";

fn outcome_of(result: Result<ConnectProgress, ConnectFailure>) -> ConnectOutcome {
    match result {
        Ok(ConnectProgress::ChoiceNeeded) => ConnectOutcome::ChoiceNeeded,
        Ok(_) => ConnectOutcome::Connected,
        Err(failure) => ConnectOutcome::Failed {
            code: failure.code().to_owned(),
            detail: failure.explain(),
        },
    }
}

pub async fn finishing(State(state): State<AppState>, session: Session) -> Response {
    let Some(user) = user_of_session(&state.pool, &session).await else {
        return Redirect::to("/signin").into_response();
    };
    match integrations::consent::finish_waiting(&state.pool, &state.microsoft, &user).await {
        Finishing::Idle => Redirect::to("/organization/integrations").into_response(),
        Finishing::Waiting { retry_in } => waiting_page(retry_in),
        Finishing::Done(result) => {
            if let Err(error) = session
                .insert(CONNECT_OUTCOME_KEY, outcome_of(result))
                .await
            {
                tracing::error!(%error, "storing the connect outcome in the session");
            }
            Redirect::to("/organization/integrations").into_response()
        }
    }
}

/// The waiting page: the app's stylesheet, phone-sized, its news in a live region, and a
/// link for those who do not want to wait for the reload.
fn waiting_page(retry_in: Duration) -> Response {
    let seconds = retry_in.as_secs().max(1);
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{seconds}">
<title>Microsoft is finishing your consent · Traceless</title>
<link rel="stylesheet" href="/pkg/traceless.css">
</head>
<body>
<main id="main" class="narrow">
<section class="panel" aria-labelledby="finishing-title" data-testid="consent-finishing">
<p class="eyebrow">Microsoft Entra Verified ID</p>
<h1 id="finishing-title">Microsoft is finishing your consent</h1>
<p role="status" aria-live="polite">Microsoft has recorded your consent but is still passing it on to its services. This usually takes a few seconds; this page checks again by itself in {seconds} seconds and then moves on.</p>
<p class="muted small">You don't need to do anything. If nothing happens after a minute, Traceless will tell you what is missing.</p>
<div class="actions">
<a class="button-secondary" href="{FINISHING_PATH}" data-testid="check-again">Check again now</a>
<a class="button-quiet" href="/organization/integrations">Back to Integrations</a>
</div>
</section>
</main>
</body>
</html>"#
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}
