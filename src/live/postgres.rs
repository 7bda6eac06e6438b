//! The relay across instances: PostgreSQL `LISTEN/NOTIFY` carries "topic X has event N"
//! to every instance, each of which wakes its own streams through its local
//! [`Fanout`].
//!
//! The notice is sent by the statement that stores the event (`pg_notify` in
//! `store::insert_event`), not after the commit: PostgreSQL delivers a notification only
//! when its transaction commits, and never if it rolls back, so no instance hears of an
//! event it cannot read yet, and a process that dies right after its commit has still
//! told everyone. Notices are not durable: while the listening connection is down they are
//! lost, so after every (re)connection each open stream of this instance is woken to
//! re-read from the database, where nothing is lost.

use std::sync::Arc;
use std::time::Duration;

use super::{Announcement, Fanout, Publisher, Subscription, Topic};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::AbortHandle;

/// The channel `verification::store::insert_event` notifies on; the payload is
/// `"{verification} {event}"`. `tickets::store::insert_entry` notifies on it too, as
/// `"{ticket} {entry}"`: the first word is the topic. (The channel keeps its first name, so
/// that instances of different versions hear each other during a rolling update.)
pub const CHANNEL: &str = "traceless_verification_events";

/// How long to wait before connecting again after the listening connection failed, and
/// at most between tries while PostgreSQL stays unreachable.
const RECONNECT_FIRST: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Publishes through PostgreSQL; hears every instance's events (its own included).
pub struct PostgresRelay {
    fanout: Arc<Fanout>,
    listener: AbortHandle,
}

impl PostgresRelay {
    /// Starts listening on `pool` (one connection of it, for as long as this lives).
    pub fn start(pool: PgPool) -> Arc<Self> {
        let fanout = Fanout::new();
        let listener = tokio::spawn(listen(pool, fanout.clone())).abort_handle();
        Arc::new(Self { fanout, listener })
    }

    pub fn fanout(&self) -> &Arc<Fanout> {
        &self.fanout
    }
}

impl Drop for PostgresRelay {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Publisher for PostgresRelay {
    /// The notice to every instance went out with the commit; this wakes the streams of
    /// this instance at once, without the round trip (the notice then wakes them again:
    /// they find nothing new, which costs one small read).
    fn publish(&self, announcement: Announcement) {
        self.fanout.announce(announcement);
    }

    fn subscribe(&self, topic: Topic) -> Subscription {
        self.fanout.subscribe(topic)
    }
}

/// Listens until aborted: forwards each notice into `fanout`; on a lost connection,
/// connects again (backing off while PostgreSQL is away), then wakes every stream.
async fn listen(pool: PgPool, fanout: Arc<Fanout>) {
    let mut pause = RECONNECT_FIRST;
    loop {
        match listen_once(&pool, &fanout).await {
            Ok(()) => {
                tracing::warn!("the PostgreSQL event listener lost its connection: reconnecting");
                pause = RECONNECT_FIRST;
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?pause, "the PostgreSQL event listener cannot listen");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RECONNECT_MAX);
    }
}

/// One listening connection's life. Returns `Ok` when the connection was lost after it
/// listened, `Err` when it could not start.
async fn listen_once(pool: &PgPool, fanout: &Fanout) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Listening from here on. Anything committed before this moment and not yet seen (the
    // connection was down, or this is the first start) is in the database: re-read it.
    fanout.wake_all();
    tracing::debug!(channel = CHANNEL, "listening for verification events");
    loop {
        // `try_recv` (unlike `recv`) says when the connection is gone, instead of
        // reconnecting silently and losing what was sent meanwhile.
        match listener.try_recv().await? {
            Some(notification) => match parse(notification.payload()) {
                Some(announcement) => fanout.announce(announcement),
                None => tracing::warn!(
                    payload = notification.payload(),
                    "ignored an unreadable verification event notice"
                ),
            },
            None => return Ok(()),
        }
    }
}

fn parse(payload: &str) -> Option<Announcement> {
    let (topic, event) = payload.split_once(' ')?;
    Some(Announcement {
        topic: Topic(topic.parse().ok()?),
        event_id: event.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_notice_names_the_topic_and_the_event() {
        let id = Uuid::new_v4();
        assert_eq!(
            parse(&format!("{id} 42")),
            Some(Announcement {
                topic: Topic(id),
                event_id: 42
            })
        );
        assert_eq!(parse("not-a-uuid 42"), None);
        assert_eq!(parse(&format!("{id}")), None);
        assert_eq!(parse(&format!("{id} x")), None);
    }
}
