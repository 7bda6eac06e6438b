//! Server-sent events: one stream per verification, for the person (by link token)
//! and for the agent (by session, organization-scoped). Each event's id is its stored
//! id; a client reconnecting with `Last-Event-ID` gets everything it missed from the
//! database. The stream ends after a terminal event, and when the server stops: then it
//! first sends a `retry:` hint, so the page reconnects (to the next process) by itself.

use std::collections::VecDeque;
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
use serde::Deserialize;
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
    // Subscribe before reading the database, so nothing falls between the two.
    let subscription = verifier.relay().subscribe(verification_id);
    let events = VerificationEvents {
        verifier,
        verification_id,
        audience,
    };
    live(events, subscription, after, shutdown)
}

/// What a live stream relays: the stored items after a given id, each sent as an event.
trait Timeline: Send + 'static {
    type Item: Send;
    /// The items stored after `after`, oldest first; `None` when the database failed
    /// (logged here), which ends the stream: the page reconnects and resumes.
    fn read(&self, after: i64) -> impl Future<Output = Option<Vec<Self::Item>>> + Send;
    fn id_of(item: &Self::Item) -> i64;
    /// Whether nothing can follow this item (the stream then ends).
    fn is_last(item: &Self::Item) -> bool;
    fn to_sse(&self, item: Self::Item) -> SseEvent;
}

/// A verification's stored events, for the person or the agent.
struct VerificationEvents {
    verifier: Arc<Verifier>,
    verification_id: Uuid,
    audience: Audience,
}

impl Timeline for VerificationEvents {
    type Item = Event;

    async fn read(&self, after: i64) -> Option<Vec<Event>> {
        match self
            .verifier
            .events_after(self.verification_id, after)
            .await
        {
            Ok(events) => Some(events),
            Err(error) => {
                tracing::error!(%error, "reading verification events");
                None
            }
        }
    }

    fn id_of(event: &Event) -> i64 {
        event.id
    }

    fn is_last(event: &Event) -> bool {
        event.is_terminal()
    }

    fn to_sse(&self, event: Event) -> SseEvent {
        to_sse(&event, self.audience)
    }
}

/// Answers with the server-sent events of `timeline`, driven by `subscription` (taken
/// before anything was read), from the item after `after` on.
fn live<T: Timeline>(
    timeline: T,
    subscription: Subscription,
    after: i64,
    shutdown: Shutdown,
) -> Response {
    let relay = Relay {
        timeline,
        subscription,
        last: after,
        shutdown,
        unsent: VecDeque::new(),
        stage: Stage::Read,
    };
    Sse::new(futures_util::stream::unfold(relay, Relay::next))
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        )
        .into_response()
}

/// One open stream, polled by the connection that carries it: no task and no channel
/// of its own, so an idle page costs its connection, this struct and a subscription.
/// A page that leaves drops the response body, and with it the subscription.
struct Relay<T: Timeline> {
    timeline: T,
    subscription: Subscription,
    /// The newest item sent (or the one the page already showed).
    last: i64,
    shutdown: Shutdown,
    /// Items read from the database and not yet sent.
    unsent: VecDeque<T::Item>,
    stage: Stage,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Read what is new since `last` from the database.
    Read,
    /// Wait for news, or for the server to stop.
    Wait,
    /// A last item was sent, the stop hint was sent, or the database failed.
    Done,
}

impl<T: Timeline> Relay<T> {
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        loop {
            if let Some(item) = self.unsent.pop_front() {
                self.last = T::id_of(&item);
                if T::is_last(&item) {
                    self.stage = Stage::Done;
                }
                let sse = self.timeline.to_sse(item);
                return Some((Ok(sse), self));
            }
            match self.stage {
                Stage::Done => return None,
                Stage::Read => {
                    // Boxed: the database read's state is large and short-lived; inline,
                    // every idle stream would keep room for it.
                    let read = Box::pin(self.timeline.read(self.last));
                    match read.await {
                        Some(items) => self.unsent = items.into(),
                        None => return None,
                    }
                    self.stage = Stage::Wait;
                }
                Stage::Wait => {
                    // An idle stream keeps no buffer from its last read.
                    self.unsent = VecDeque::new();
                    // The news itself is read from the database (Stage::Read), so a wake
                    // for a burst of announcements still delivers every item, in order.
                    tokio::select! {
                        biased;
                        () = self.shutdown.triggered() => {
                            // Ending the stream lets graceful shutdown finish; the hint
                            // makes the page reconnect with Last-Event-ID.
                            self.stage = Stage::Done;
                            let hint = reconnect_hint(self.subscription.verification_id());
                            return Some((Ok(hint), self));
                        }
                        () = self.subscription.changed() => self.stage = Stage::Read,
                    }
                }
            }
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
    use app::api::tickets::{TICKET_NOT_FOUND, parse_ticket_id};
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
    // Subscribe before reading the database, so nothing falls between the two.
    let subscription = state.verifier.relay().subscribe(id.0);
    let entries = TicketEntries {
        pool: state.pool.clone(),
        organization: user.organization_id,
        id,
    };
    live(
        entries,
        subscription,
        last_event_id(&headers, &resume),
        shutdown,
    )
}

/// A ticket's timeline entries; a ticket is never finished.
struct TicketEntries {
    pool: traceless::db::Pool,
    organization: traceless::accounts::OrganizationId,
    id: traceless::tickets::TicketId,
}

impl Timeline for TicketEntries {
    type Item = traceless::tickets::TimelineEntry;

    async fn read(&self, after: i64) -> Option<Vec<Self::Item>> {
        match traceless::tickets::timeline(&self.pool, self.organization, self.id, after).await {
            Ok(entries) => Some(entries),
            Err(error) => {
                tracing::warn!(%error, "reading a ticket's timeline");
                None
            }
        }
    }

    fn id_of(entry: &Self::Item) -> i64 {
        entry.id
    }

    fn is_last(_: &Self::Item) -> bool {
        false
    }

    fn to_sse(&self, entry: Self::Item) -> SseEvent {
        SseEvent::default()
            .id(entry.id.to_string())
            .event("entry")
            .json_data(app::api::tickets::entry(entry))
            .unwrap_or_else(|_| SseEvent::default().comment("unserializable entry"))
    }
}
