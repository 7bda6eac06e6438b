//! `GET /verify/{token}/status`: where a link's verification stands, as JSON. Our own page
//! follows the event stream; this is for clients that poll, as Microsoft's samples do (and
//! for the benchmark that compares the two). Read-only, and rate-limited like the link.

use app::error::{AppError, ForRecipient};
use app::ssr::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Serialize)]
struct LinkStatus {
    status: &'static str,
    /// The newest event's id: changes with every event, also those that keep the status.
    last_event_id: i64,
}

pub async fn link_status(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.verifier.link_status(&token).await {
        Ok((status, last_event_id)) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(LinkStatus {
                status: status.as_str(),
                last_event_id,
            }),
        )
            .into_response(),
        Err(error) => AppError::from(ForRecipient(error)).into_response(),
    }
}
