//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use app::ssr::AppState;
use axum::extract::State;
use axum::http::StatusCode;

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if traceless::db::ping(&state.pool).await {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}
