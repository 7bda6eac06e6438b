//! `AppError` as an axum response, for plain routes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppError;

/// The same error as an axum response, for plain routes (event streams, the cross-site
/// guard): one status mapping and one wire shape (the JSON server functions return), with
/// `Retry-After` where there is a wait. Microsoft's callback keeps the answers Microsoft's
/// samples document (`verified_id_callback.rs`); rate-limit refusals render their own page.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = match &self {
            AppError::TooManyRequests {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            AppError::Upstream {
                retry_after_secs: Some(secs),
                ..
            } => Some(u64::from(*secs)),
            _ => None,
        };
        let mut response = (status, axum::Json(self)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
