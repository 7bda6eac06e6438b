//! Server-sent events: one stream per verification, for the person (by link token)
//! and for the agent (by session, organization-scoped). Each event's id is its stored
//! id; a client reconnecting with `Last-Event-ID` gets everything it missed from the
//! database. The stream ends after a terminal event, and when the server stops: then it
//! first sends a `retry:` hint, so the page reconnects (to the next process) by itself.
//!
//! Streams are bounded: a finished verification's stream sends what is left and ends (a
//! 204 when nothing is left, which tells `EventSource` to stop reconnecting); a resume
//! point beyond the newest event is clamped to it; every stream ends (with the
//! same hint) after [`MAX_LIFETIME`] or when its link runs out; and each client holds at
//! most its share of open streams ([`super::stream_slots`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use app::error::{AppError, EXPIRED_LINK};
use app::model::LiveEvent;
use app::ssr::{AppState, member_of_session};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;
use traceless::live::{Subscription, Topic};
use traceless::verification::{Event, Verifier};
use uuid::Uuid;

use super::stream_slots::{Holder, Slot, StreamSlots};
use crate::rate_limit::ClientAddr;
use crate::shutdown::Shutdown;

/// The soonest a page reconnects after a stop. Each verification adds its own share of
/// [`RECONNECT_SPREAD`], so thousands of pages do not all knock on the new process at once.
pub const RECONNECT_AFTER: Duration = Duration::from_millis(1000);
const RECONNECT_SPREAD: Duration = Duration::from_millis(2000);

/// The longest a stream stays open: then the page reconnects (with `Last-Event-ID`, so it
/// misses nothing), and a connection is never held on the strength of an old check.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// The shortest: a link past its expiry is marked expired within seconds (the sweep runs
/// every 5 s), and its stream waits for that event rather than reconnecting in a loop.
const MIN_LIFETIME: Duration = Duration::from_secs(30);

/// How long a verification's stream may stay open: the link's remaining lifetime, within
/// [`MIN_LIFETIME`] and [`MAX_LIFETIME`].
fn lifetime_of(verification: &traceless::verification::Verification) -> Duration {
    lifetime_until(verification.link_expires_at)
}

fn lifetime_until(expires_at: time::OffsetDateTime) -> Duration {
    let left = expires_at - time::OffsetDateTime::now_utc();
    Duration::try_from(left)
        .unwrap_or(Duration::ZERO)
        .clamp(MIN_LIFETIME, MAX_LIFETIME)
}

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
    Extension(slots): Extension<Arc<StreamSlots>>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Path(token): Path<String>,
    Query(resume): Query<Resume>,
    headers: HeaderMap,
) -> Response {
    // Counted before any database work: a refused stream costs nothing.
    let slot = match slots.take(Holder::Client(client.into())) {
        Ok(slot) => slot,
        Err(full) => return refused(full),
    };
    match state.verifier.by_token(&token).await {
        Ok(verification) => {
            stream(
                state.verifier.clone(),
                &verification,
                last_event_id(&headers, &resume),
                Audience::Recipient,
                Bounds {
                    slot,
                    lifetime: lifetime_of(&verification),
                    shutdown,
                },
            )
            .await
        }
        Err(_) => AppError::NotFound(EXPIRED_LINK.into()).into_response(),
    }
}

fn refused(full: super::stream_slots::Full) -> Response {
    tracing::warn!(?full, "refused an event stream: too many open");
    full.into_response()
}

/// The slot of signed-in pages' streams: by session.
fn session_holder(session: &Session, user: &traceless::accounts::User) -> Holder {
    Holder::Session(
        session
            .id()
            .map(|id| id.to_string())
            .unwrap_or_else(|| format!("user {}", user.id.0)),
    )
}

pub async fn agent(
    State(state): State<AppState>,
    Extension(shutdown): Extension<Shutdown>,
    Extension(slots): Extension<Arc<StreamSlots>>,
    session: Session,
    Path(id): Path<String>,
    Query(resume): Query<Resume>,
    headers: HeaderMap,
) -> Response {
    // 401 for nobody, 403 for an account whose address is not confirmed yet.
    let user = match member_of_session(&state.pool, &session).await {
        Ok(user) => user,
        Err(refusal) => return refusal.into_response(),
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found().into_response();
    };
    let slot = match slots.take(session_holder(&session, &user)) {
        Ok(slot) => slot,
        Err(full) => return refused(full),
    };
    // Organization-scoped: another organization's verification is simply not found.
    match state.verifier.get(&user, id).await {
        Ok(verification) => {
            stream(
                state.verifier.clone(),
                &verification,
                last_event_id(&headers, &resume),
                Audience::Agent,
                Bounds {
                    slot,
                    lifetime: lifetime_of(&verification),
                    shutdown,
                },
            )
            .await
        }
        Err(_) => not_found().into_response(),
    }
}

fn not_found() -> AppError {
    traceless::verification::VerificationError::NotFound.into()
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

/// What ends a stream besides its last item: its slot among the open streams (given back
/// when it ends), its longest life, and the server stopping.
struct Bounds {
    slot: Slot,
    lifetime: Duration,
    shutdown: Shutdown,
}

async fn stream(
    verifier: Arc<Verifier>,
    verification: &traceless::verification::Verification,
    after: i64,
    audience: Audience,
    bounds: Bounds,
) -> Response {
    // Subscribe before reading the database, so nothing falls between the two.
    let subscription = verifier.relay().subscribe(Topic(verification.id));
    let events = VerificationEvents {
        verifier,
        verification_id: verification.id,
        audience,
    };
    live(events, subscription, after, bounds).await
}

/// Where a timeline stands when a stream starts.
struct Head {
    /// The newest item's id (0 when there is none): a resume point beyond it is clamped
    /// to it, or the stream would skip every item to come.
    last: i64,
    /// Nothing can follow the newest item: the stream sends what is left and ends.
    finished: bool,
}

/// What a live stream relays: the stored items after a given id, each sent as an event.
trait Timeline: Send + 'static {
    type Item: Send;
    /// Where the timeline stands; `None` when the database failed (logged here).
    fn head(&self) -> impl Future<Output = Option<Head>> + Send;
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

    async fn head(&self) -> Option<Head> {
        match self.verifier.newest_event(self.verification_id).await {
            Ok(newest) => Some(Head {
                last: newest.as_ref().map_or(0, |event| event.id),
                finished: newest.as_ref().is_some_and(Event::is_terminal),
            }),
            Err(error) => {
                tracing::error!(%error, "reading a verification's newest event");
                None
            }
        }
    }

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
async fn live<T: Timeline>(
    timeline: T,
    subscription: Subscription,
    after: i64,
    bounds: Bounds,
) -> Response {
    // Where the timeline stands, read after subscribing: nothing falls between the two.
    let Some(head) = timeline.head().await else {
        return AppError::Internal.into_response();
    };
    if head.finished && after >= head.last {
        // Finished, and the page has it all: 204 tells `EventSource` to stop reconnecting.
        return axum::http::StatusCode::NO_CONTENT.into_response();
    }
    let relay = Relay {
        timeline,
        subscription,
        last: after.min(head.last),
        shutdown: bounds.shutdown,
        ends_at: tokio::time::Instant::now() + bounds.lifetime,
        _slot: bounds.slot,
        finished: head.finished,
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
    /// When the stream ends by itself (with a reconnect hint).
    ends_at: tokio::time::Instant,
    /// Its place among the open streams, given back when the body is dropped.
    _slot: Slot,
    /// The timeline was finished when the stream started: after what is left, it ends.
    finished: bool,
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
                    // A finished timeline has nothing more to wait for.
                    self.stage = if self.finished {
                        Stage::Done
                    } else {
                        Stage::Wait
                    };
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
                            let hint = reconnect_hint(self.subscription.topic().0);
                            return Some((Ok(hint), self));
                        }
                        () = tokio::time::sleep_until(self.ends_at) => {
                            // Its life is over: the page reconnects after the hint, resuming
                            // after the last event it got, and is checked afresh.
                            self.stage = Stage::Done;
                            let hint = reconnect_hint(self.subscription.topic().0);
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
        kind: event.kind,
        status: event.status,
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
/// and the mail worker publish under it). A ticket is never finished: the stream ends
/// when the page leaves, the server stops, or after [`MAX_LIFETIME`] (the page reconnects).
pub async fn ticket(
    State(state): State<AppState>,
    Extension(shutdown): Extension<Shutdown>,
    Extension(slots): Extension<Arc<StreamSlots>>,
    session: Session,
    Path(id): Path<String>,
    Query(resume): Query<Resume>,
    headers: HeaderMap,
) -> Response {
    use app::api::tickets::{TICKET_NOT_FOUND, parse_ticket_id};
    use traceless::tickets;

    // 401 for nobody, 403 for an account whose address is not confirmed yet.
    let user = match member_of_session(&state.pool, &session).await {
        Ok(user) => user,
        Err(refusal) => return refusal.into_response(),
    };
    let not_found = || AppError::NotFound(TICKET_NOT_FOUND.into()).into_response();
    let Ok(id) = parse_ticket_id(&id) else {
        return not_found();
    };
    let slot = match slots.take(session_holder(&session, &user)) {
        Ok(slot) => slot,
        Err(full) => return refused(full),
    };
    match tickets::get(&state.pool, user.organization_id, id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(error) => return AppError::from(error).into_response(),
    }
    // Subscribe before reading the database, so nothing falls between the two.
    let subscription = state.verifier.relay().subscribe(Topic(id.0));
    let entries = TicketEntries {
        pool: state.pool.clone(),
        organization: user.organization_id,
        id,
    };
    live(
        entries,
        subscription,
        last_event_id(&headers, &resume),
        Bounds {
            slot,
            lifetime: MAX_LIFETIME,
            shutdown,
        },
    )
    .await
}

/// A ticket's timeline entries; a ticket is never finished.
struct TicketEntries {
    pool: traceless::db::Pool,
    organization: traceless::accounts::OrganizationId,
    id: traceless::tickets::TicketId,
}

impl Timeline for TicketEntries {
    type Item = traceless::tickets::TimelineEntry;

    async fn head(&self) -> Option<Head> {
        match traceless::tickets::last_entry_id(&self.pool, self.organization, self.id).await {
            Ok(last) => Some(Head {
                last,
                finished: false,
            }),
            Err(error) => {
                tracing::warn!(%error, "reading a ticket's newest entry");
                None
            }
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_lives_as_long_as_its_link_within_half_a_minute_and_an_hour() {
        let link_for =
            |left: time::Duration| lifetime_until(time::OffsetDateTime::now_utc() + left);
        assert_eq!(link_for(time::Duration::days(30)), MAX_LIFETIME);
        assert_eq!(link_for(time::Duration::seconds(-5)), MIN_LIFETIME);
        let ten_minutes = link_for(time::Duration::minutes(10));
        assert!(
            ten_minutes <= Duration::from_secs(600) && ten_minutes > Duration::from_secs(590),
            "{ten_minutes:?}"
        );
    }
}
