//! Server functions that change state must come from our own pages. Browsers mark
//! every cross-site POST (`Sec-Fetch-Site`, `Origin`); such requests are refused
//! before any server function runs. Non-browser clients send neither header.

use app::error::AppError;
use app::ssr::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET
        && request.method() != Method::HEAD
        && request.uri().path().starts_with("/api/")
        // The REST API authenticates by bearer key, which a browser never adds by itself.
        && !request.uri().path().starts_with("/api/v1/")
        && is_cross_site(request.headers(), &state)
    {
        tracing::warn!(
            path = request.uri().path(),
            "refused a cross-site server function call"
        );
        return AppError::CrossSite.into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, state: &AppState) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site" || v.as_bytes() == b"same-site")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let public = state.settings.public_url.origin().ascii_serialization();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let same_host = host.is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, origin_host)| origin_host == host)
    });
    origin != public && !same_host
}
