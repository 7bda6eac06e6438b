//! Server-sent events: one stream per verification, for the person (by link token)
//! and for the agent (by session, organization-scoped). Each event's id is its stored
//! id; a client reconnecting with `Last-Event-ID` gets everything it missed from the
//! database. The stream ends after a terminal event, and when the server stops: then it
//! first sends a `retry:` hint, so the page reconnects (to the next process) by itself.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use app::api::verifications::EXPIRED_LINK;
use app::error::AppError;
use app::model::LiveEvent;
use app::ssr::{AppState, user_of_session};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tower_sessions::Session;
use traceless::verification::relay::Subscription;
use traceless::verification::{Event, Verifier};
use uuid::Uuid;

use crate::shutdown::Shutdown;

/// The soonest a page reconnects after a stop. Each verification adds its own share of
/// [`RECONNECT_SPREAD`], so thousands of pages do not all knock on the new process at once.
pub const RECONNECT_AFTER: Duration = Duration::from_millis(1000);
const RECONNECT_SPREAD: Duration = Duration::from_millis(2000);

#[derive(Debug, Deserialize)]
pub struct Resume {
    /// For the first connection: the last event the server-rendered page already showed.
    after: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// The person being verified: statuses only.
    Recipient,
    /// The agent: statuses and the timeline's words.
    Agent,
}

pub async fn recipient(
    State(state): State<AppState>,
    Extension(shutdown): Extension<Shutdown>,
    Path(token): Path<String>,
    Query(resume): Query<Resume>,
    headers: HeaderMap,
) -> Response {
    match state.verifier.by_token(&token).await {
        Ok(verification) => stream(
            state.verifier.clone(),
            verification.id,
            last_event_id(&headers, &resume),
            Audience::Recipient,
            shutdown,
        ),
        Err(_) => AppError::NotFound(EXPIRED_LINK.into()).into_response(),
    }
}

pub async fn agent(
    State(state): State<AppState>,
    Extension(shutdown): Extension<Shutdown>,
    session: Session,
    Path(id): Path<String>,
    Query(resume): Query<Resume>,
    headers: HeaderMap,
) -> Response {
    let Some(user) = user_of_session(&state.pool, &session).await else {
        return AppError::Unauthenticated.into_response();
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found().into_response();
    };
    // Organization-scoped: another organization's verification is simply not found.
    match state.verifier.get(&user, id).await {
        Ok(verification) => stream(
            state.verifier.clone(),
            verification.id,
            last_event_id(&headers, &resume),
            Audience::Agent,
            shutdown,
        ),
        Err(_) => not_found().into_response(),
    }
}

fn not_found() -> AppError {
    AppError::NotFound("That verification was not found in your organization.".into())
}

fn last_event_id(headers: &HeaderMap, resume: &Resume) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or(resume.after)
        .unwrap_or(0)
        .max(0)
}

fn stream(
    verifier: Arc<Verifier>,
    verification_id: Uuid,
    after: i64,
    audience: Audience,
    shutdown: Shutdown,
) -> Response {
    let (sender, receiver) = mpsc::channel(32);
    // Subscribe before reading the database, so nothing falls between the two.
    let subscription = verifier.relay().subscribe(verification_id);
    tokio::spawn(relay(
        verifier,
        after,
        audience,
        subscription,
        sender,
        shutdown,
    ));
    Sse::new(stream_of(receiver))
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        )
        .into_response()
}

fn stream_of(
    receiver: mpsc::Receiver<SseEvent>,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    use futures_util::StreamExt;
    ReceiverStream::new(receiver).map(Ok)
}

async fn relay(
    verifier: Arc<Verifier>,
    mut last: i64,
    audience: Audience,
    mut subscription: Subscription,
    sender: mpsc::Sender<SseEvent>,
    shutdown: Shutdown,
) {
    let verification_id = subscription.verification_id();
    loop {
        let events = match verifier.events_after(verification_id, last).await {
            Ok(events) => events,
            Err(error) => {
                tracing::error!(%error, "reading verification events");
                return;
            }
        };
        let mut finished = false;
        for event in events {
            last = event.id;
            finished = event.is_terminal();
            if sender.send(to_sse(&event, audience)).await.is_err() {
                return; // the page went away
            }
        }
        if finished {
            return;
        }
        // Wait for news about this verification (or the page leaving, or the server
        // stopping); the news itself is read from the database above.
        tokio::select! {
            biased;
            () = shutdown.triggered() => {
                // Ending the stream lets graceful shutdown finish; the hint makes the page
                // reconnect with Last-Event-ID. A page too slow to take even this one is
                // simply cut off (it reconnects all the same, after its default delay).
                let _ = sender.try_send(reconnect_hint(verification_id));
                return;
            }
            () = sender.closed() => return,
            () = subscription.changed() => {}
        }
    }
}

/// An event with only a `retry:` field: browsers take the delay and dispatch nothing.
fn reconnect_hint(verification_id: Uuid) -> SseEvent {
    let spread = RECONNECT_SPREAD.as_millis() as u64;
    let share = (verification_id.as_u128() % u128::from(spread)) as u64;
    SseEvent::default().retry(RECONNECT_AFTER + Duration::from_millis(share))
}

fn to_sse(event: &Event, audience: Audience) -> SseEvent {
    let live = LiveEvent {
        id: event.id,
        kind: event.kind.clone(),
        status: event.status.clone(),
        message: (audience == Audience::Agent).then(|| event.message.clone()),
        at: event.at.unix_timestamp(),
    };
    SseEvent::default()
        .id(event.id.to_string())
        .event("status")
        .json_data(&live)
        .unwrap_or_else(|_| SseEvent::default().comment("unserializable event"))
}

/// A ticket's timeline, live: every entry after `Last-Event-ID` (or `?after=`), then each new
/// one as it is stored. Woken through the relay by the ticket's id (`Verifier::announce`
/// and the mail worker publish under it). A ticket is never finished: the stream ends only
/// when the page leaves or the server stops.
pub async fn ticket(
    State(state): State<AppState>,
    Extension(shutdown): Extension<Shutdown>,
    session: Session,
    Path(id): Path<String>,
    Query(resume): Query<Resume>,
    headers: HeaderMap,
) -> Response {
    use app::api::tickets::{TICKET_NOT_FOUND, entry, parse_ticket_id};
    use traceless::tickets;

    let Some(user) = user_of_session(&state.pool, &session).await else {
        return AppError::Unauthenticated.into_response();
    };
    let not_found = || AppError::NotFound(TICKET_NOT_FOUND.into()).into_response();
    let Ok(id) = parse_ticket_id(&id) else {
        return not_found();
    };
    match tickets::get(&state.pool, user.organization_id, id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(error) => return app::ssr::internal(error).into_response(),
    }
    let organization = user.organization_id;
    let mut last = last_event_id(&headers, &resume);
    let (sender, receiver) = mpsc::channel(32);
    // Subscribe before reading the database, so nothing falls between the two.
    let mut subscription = state.verifier.relay().subscribe(id.0);
    let pool = state.pool.clone();
    tokio::spawn(async move {
        loop {
            let entries = match tickets::timeline(&pool, organization, id, last).await {
                Ok(entries) => entries,
                Err(error) => {
                    tracing::warn!(%error, "reading a ticket's timeline");
                    return;
                }
            };
            for e in entries {
                last = e.id;
                let event = SseEvent::default()
                    .id(e.id.to_string())
                    .event("entry")
                    .json_data(entry(e))
                    .unwrap_or_else(|_| SseEvent::default().comment("unserializable entry"));
                if sender.send(event).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                biased;
                () = shutdown.triggered() => {
                    let _ = sender.try_send(reconnect_hint(id.0));
                    return;
                }
                () = sender.closed() => return,
                () = subscription.changed() => {}
            }
        }
    });
    Sse::new(stream_of(receiver))
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        )
        .into_response()
}
