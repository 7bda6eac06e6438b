//! `POST /microsoft/verified-id/callback`: Microsoft's presentation callbacks. Answers
//! fast (Authenticator waits on us); refusals change nothing.

use app::ssr::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use traceless::verification::CallbackError;

/// Microsoft's FAQ gives 10 MB as the callback size limit (without a receipt); a presentation
/// carries the credential's photo and, with Face Check, more. Only this route takes that much.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let api_key = headers.get("api-key").and_then(|v| v.to_str().ok());
    match state.verifier.handle_callback(api_key, &body).await {
        Ok(()) => (StatusCode::OK, ""),
        Err(error) => {
            tracing::warn!(%error, "refused a Verified ID callback");
            match error {
                CallbackError::Unauthorized => {
                    (StatusCode::UNAUTHORIZED, "api-key wrong or missing")
                }
                CallbackError::Malformed(_) => (
                    StatusCode::BAD_REQUEST,
                    "not a Verified ID presentation callback",
                ),
                CallbackError::UnknownState => (StatusCode::BAD_REQUEST, "unknown state"),
                CallbackError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
            }
        }
    }
}
