//! `GET /organization/integrations/microsoft/recovery/callback`: where Microsoft sends the
//! admin back from the recovery app registration's admin consent ("Enable account
//! recovery"). The outcome goes to the card as a word in the query (`recovery=enabled`, or
//! `recovery_error=<code>`); nothing secret is in any URL.

use app::ssr::{AppState, user_of_session};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;
use traceless::recovery::{self, ConsentReturn};

/// Where the card is.
const CARD: &str = "/organization/integrations";

pub async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(answer): Query<ConsentReturn>,
) -> Response {
    let Some(user) = user_of_session(&state.pool, &session).await else {
        return Redirect::to("/signin").into_response();
    };
    match recovery::finish_enable(&state.pool, state.recovery.as_deref(), &user, answer).await {
        Ok(()) => Redirect::to(&format!("{CARD}?recovery=enabled")).into_response(),
        Err(failure) => {
            Redirect::to(&format!("{CARD}?recovery_error={}", failure.code())).into_response()
        }
    }
}
