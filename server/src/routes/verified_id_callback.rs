//! `POST /microsoft/verified-id/callback`: Microsoft's presentation callbacks. Answers
//! fast (Authenticator waits on us); refusals change nothing.
//!
//! The `api-key` header is checked before a byte of the body is read (it names our
//! request: `verification::callback_key`), so a stranger's upload costs a header and one
//! indexed read. A body is then read under [`CallbackBudget`]: bytes in flight across
//! all callbacks are bounded, and beyond the bound Microsoft is told to come back later.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::ssr::AppState;
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use traceless::observe::{self, CallbackOutcome};
use traceless::verification::CallbackError;

/// Microsoft's FAQ gives 10 MB as the callback size limit (without a receipt); a presentation
/// carries the credential's photo and, with Face Check, more. Only this route takes that much.
// Learn: https://learn.microsoft.com/en-us/entra/verified-id/verifiable-credentials-faq
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// What a callback refused for want of room is told: bodies are read in well under a
/// second, so room comes back soon. Microsoft retries a callback answered with a 5xx.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(2);

/// The bytes of callback bodies being read (and held, until the callback is handled), at
/// most `TRACELESS_CALLBACK_MAX_INFLIGHT_MB` together.
#[derive(Clone)]
pub struct CallbackBudget {
    bytes: Arc<Semaphore>,
}

impl CallbackBudget {
    pub fn new(bytes: usize) -> Self {
        CallbackBudget {
            bytes: Arc::new(Semaphore::new(bytes)),
        }
    }

    /// Takes room for `len` more bytes, or says there is none now (never waits: a queue
    /// of uploads would hold their connections open).
    fn take(&self, len: usize) -> Option<OwnedSemaphorePermit> {
        let len = u32::try_from(len).ok()?;
        Arc::clone(&self.bytes).try_acquire_many_owned(len).ok()
    }
}

pub async fn callback(
    State(state): State<AppState>,
    Extension(budget): Extension<CallbackBudget>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let arrived = Instant::now();
    let response = answer(&state, &budget, &headers, body).await;
    let outcome = match response.status() {
        StatusCode::OK => CallbackOutcome::Accepted,
        StatusCode::SERVICE_UNAVAILABLE => CallbackOutcome::Busy,
        status if status.is_server_error() => CallbackOutcome::Failed,
        _ => CallbackOutcome::Refused,
    };
    observe::callback(outcome, arrived.elapsed());
    response
}

async fn answer(
    state: &AppState,
    budget: &CallbackBudget,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let api_key = headers.get("api-key").and_then(|v| v.to_str().ok());
    let authorized = match state.verifier.authorize_callback(api_key).await {
        Ok(authorized) => authorized,
        // Answered without reading the body: the connection is closed after it.
        Err(error) => return refused(error),
    };
    let body = match read_body(headers, body, budget).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    match state
        .verifier
        .handle_callback(authorized, &body.bytes)
        .await
    {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => refused(error),
    }
}

fn refused(error: CallbackError) -> Response {
    tracing::warn!(%error, "refused a Verified ID callback");
    let (status, words) = match error {
        CallbackError::Unauthorized => (StatusCode::UNAUTHORIZED, "api-key wrong or missing"),
        CallbackError::Malformed(_) => (
            StatusCode::BAD_REQUEST,
            "not a Verified ID presentation callback",
        ),
        CallbackError::UnknownState => (StatusCode::BAD_REQUEST, "unknown state"),
        CallbackError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    };
    (status, words).into_response()
}

/// A read body and the room it takes in the budget, given back when both are dropped.
struct ReadBody {
    bytes: Vec<u8>,
    _room: Option<OwnedSemaphorePermit>,
}

/// Reads at most [`MAX_BODY_BYTES`], taking room in the budget before each piece is kept:
/// all of it at once when `Content-Length` says how much, else chunk by chunk.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    budget: &CallbackBudget,
) -> Result<ReadBody, Response> {
    let too_large = || {
        tracing::warn!("refused a Verified ID callback larger than 10 MB");
        (StatusCode::PAYLOAD_TOO_LARGE, "a callback is at most 10 MB").into_response()
    };
    let busy = || {
        tracing::warn!("refused a Verified ID callback: too many callback bytes in flight");
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many callbacks at once; try again shortly",
        )
            .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(BUSY_RETRY_AFTER.as_secs()),
        );
        response
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut room = match declared {
        Some(len) if len > MAX_BODY_BYTES => return Err(too_large()),
        Some(0) => None,
        Some(len) => Some(budget.take(len).ok_or_else(busy)?),
        None => None,
    };
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err((StatusCode::BAD_REQUEST, "the body could not be read").into_response());
        };
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        if declared.is_none() {
            let more = budget.take(chunk.len()).ok_or_else(busy)?;
            match room.as_mut() {
                Some(room) => room.merge(more),
                None => room = Some(more),
            }
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(ReadBody { bytes, _room: room })
}
