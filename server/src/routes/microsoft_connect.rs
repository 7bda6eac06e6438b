//! `GET /organization/integrations/microsoft/callback`: where Microsoft sends the admin
//! back after sign-in and consent. The outcome goes into the session and the admin
//! lands on the connection card, which shows it once; nothing secret is in any URL.

use app::api::integrations::{CONNECT_ATTEMPT_KEY, CONNECT_OUTCOME_KEY};
use app::model::ConnectOutcome;
use app::ssr::{AppState, user_of_session};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;
use traceless::integrations::{self, CallbackParams, Returning};
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
        Returning {
            user: user.as_ref(),
            attempt_id,
        },
        params,
        &state.microsoft_redirect_uri,
    )
    .await
    {
        Ok(_) => ConnectOutcome::Connected,
        Err(failure) => ConnectOutcome::Failed {
            code: failure.code().to_owned(),
            detail: failure.explain(),
        },
    };
    if let Err(error) = session.insert(CONNECT_OUTCOME_KEY, outcome).await {
        tracing::error!(%error, "storing the connect outcome in the session");
    }
    Redirect::to("/organization/integrations").into_response()
}
