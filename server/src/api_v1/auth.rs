//! Who calls the API: an organization API key as a bearer token. A missing, unknown or
//! revoked key is a 401; each key, and each client address, has its own rate limit.

use app::ssr::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use traceless::api_keys::{self, Authenticated};
use traceless::rate_limit::ClientKey;

use super::error::ApiError;

/// The API key behind a request.
pub struct Caller {
    pub key: Authenticated,
    /// The bearer token as presented: it unseals remembered links (idempotent retries).
    pub token: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        let key = api_keys::authenticate(&state.pool, token).await?;
        state
            .shared_limits
            .api_per_key
            .check(&key.key.id)
            .await
            .inspect_err(|_| traceless::observe::rate_limited("API per key"))?;
        Ok(Caller {
            key,
            token: token.to_owned(),
        })
    }
}

/// The per-address limit, before any key is looked up (guessing keys costs a lookup each).
pub async fn limit_per_address(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let ip = crate::rate_limit::client_ip(&request, &state.limits.settings.trusted_proxies);
    if let Err(refusal) = state.limits.api_per_ip.check(&ClientKey::from(ip)) {
        tracing::warn!(client = %ip, limit = "API per address", "rate limited");
        traceless::observe::rate_limited("API per address");
        return ApiError::from(refusal).into_response();
    }
    next.run(request).await
}
