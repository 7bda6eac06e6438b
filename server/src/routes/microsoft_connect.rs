//! `GET /organization/integrations/microsoft/callback`: where Microsoft sends the admin
//! back, twice: after the admin consent (then on to sign in), and after the sign-in. The
//! outcome goes into the session and the admin lands on the connection card, which shows it
//! once; nothing secret is in any URL.

use app::api::integrations::{CONNECT_ATTEMPT_KEY, CONNECT_OUTCOME_KEY};
use app::model::ConnectOutcome;
use app::ssr::{AppState, user_of_session};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;
use traceless::integrations::{self, CallbackParams, ConnectFailure, ConnectProgress, Returning};
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
        Ok(ConnectProgress::Connected(_)) => ConnectOutcome::Connected,
        Ok(ConnectProgress::ChoiceNeeded) => ConnectOutcome::ChoiceNeeded,
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
