//! The live relay: a stored event is announced to the open pages of its topic (a
//! verification, or a ticket's timeline), and only to them.
//!
//! `Publisher` is the seam: [`InProcess`] serves one machine; a multi-instance
//! implementation (PostgreSQL `LISTEN/NOTIFY`) forwards what it hears into the same
//! local [`Fanout`]. An announcement carries no event: a woken stream reads what is new
//! from the database, so it never shows an event that was not committed, and a stream
//! woken once for several announcements still gets all of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::Topic;
use tokio::sync::watch;

/// "Topic X has a new stored event (or timeline entry), with id N", sent after the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    pub topic: Topic,
    pub event_id: i64,
}

pub trait Publisher: Send + Sync + 'static {
    /// Announces an event that is already committed.
    fn publish(&self, announcement: Announcement);
    /// Wakes on every announcement about `topic` made from now on.
    fn subscribe(&self, topic: Topic) -> Subscription;
}

/// The subscribers of this process, by topic: an announcement costs the same
/// whether ten or ten thousand other pages are open.
///
/// Each open topic holds one `watch` channel whose value is a wake counter; a
/// subscriber keeps nothing but a receiver (a few dozen bytes), and a burst of
/// announcements while a stream is busy collapses into one wake, never a lag.
#[derive(Default)]
pub struct Fanout {
    slots: Mutex<HashMap<Topic, watch::Sender<u64>>>,
}

impl Fanout {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn subscribe(self: &Arc<Self>, topic: Topic) -> Subscription {
        let receiver = self
            .lock()
            .entry(topic)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        Subscription {
            fanout: Arc::clone(self),
            topic,
            receiver: Some(receiver),
        }
    }

    /// Wakes the subscribers of the announced topic; nobody watching is fine.
    pub fn announce(&self, announcement: Announcement) {
        if let Some(slot) = self.lock().get(&announcement.topic) {
            slot.send_modify(|wakes| *wakes = wakes.wrapping_add(1));
        }
    }

    /// Wakes every subscriber: for when announcements may have been lost (a dropped
    /// connection to the database that carries them). Each re-reads from the database.
    pub fn wake_all(&self) {
        for slot in self.lock().values() {
            slot.send_modify(|wakes| *wakes = wakes.wrapping_add(1));
        }
    }

    /// How many topics have at least one subscriber here.
    pub fn watched(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Topic, watch::Sender<u64>>> {
        // The map stays consistent even if a holder panicked: every change is one call.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open page's interest in one topic; leaving removes the topic's slot when it was
/// the last subscriber.
pub struct Subscription {
    fanout: Arc<Fanout>,
    topic: Topic,
    receiver: Option<watch::Receiver<u64>>,
}

impl Subscription {
    /// Waits for the next announcement (or several, collapsed) made since the last wake
    /// or since subscribing.
    pub async fn changed(&mut self) {
        if let Some(receiver) = self.receiver.as_mut() {
            // The sender lives in the map for as long as this receiver exists.
            if receiver.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    pub fn topic(&self) -> Topic {
        self.topic
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Drop the receiver before counting, under the lock that `subscribe` also takes,
        // so a page arriving at the same moment either keeps the slot or makes a new one.
        let mut slots = self.fanout.lock();
        self.receiver = None;
        if slots
            .get(&self.topic)
            .is_some_and(|slot| slot.receiver_count() == 0)
        {
            slots.remove(&self.topic);
        }
    }
}

/// Publishes to subscribers in this process.
pub struct InProcess {
    fanout: Arc<Fanout>,
}

impl InProcess {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            fanout: Fanout::new(),
        })
    }

    pub fn fanout(&self) -> &Arc<Fanout> {
        &self.fanout
    }
}

impl Publisher for InProcess {
    fn publish(&self, announcement: Announcement) {
        self.fanout.announce(announcement);
    }

    fn subscribe(&self, topic: Topic) -> Subscription {
        self.fanout.subscribe(topic)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;

    fn topic() -> Topic {
        Topic(Uuid::new_v4())
    }

    fn announcement(topic: Topic, event_id: i64) -> Announcement {
        Announcement { topic, event_id }
    }

    async fn woken(subscription: &mut Subscription) -> bool {
        tokio::time::timeout(Duration::from_millis(50), subscription.changed())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_subscriber_is_woken_by_its_own_topic_only() {
        let relay = InProcess::new();
        let (mine, other) = (topic(), topic());
        let mut subscription = relay.subscribe(mine);
        let mut bystander = relay.subscribe(other);

        relay.publish(announcement(mine, 1));

        assert!(woken(&mut subscription).await);
        assert!(!woken(&mut bystander).await, "another topic's news");
    }

    #[tokio::test]
    async fn announcements_made_before_subscribing_do_not_wake() {
        let relay = InProcess::new();
        let id = topic();
        let _keeps_the_slot = relay.subscribe(id);
        relay.publish(announcement(id, 1));

        let mut late = relay.subscribe(id);

        assert!(!woken(&mut late).await);
    }

    #[tokio::test]
    async fn a_burst_while_busy_is_one_wake_and_none_is_lost() {
        let relay = InProcess::new();
        let id = topic();
        let mut subscription = relay.subscribe(id);
        for event_id in 1..=5_000 {
            relay.publish(announcement(id, event_id));
        }

        assert!(woken(&mut subscription).await, "woken after the burst");
        assert!(!woken(&mut subscription).await, "one wake for the burst");
        relay.publish(announcement(id, 5_001));
        assert!(woken(&mut subscription).await, "and again for the next");
    }

    #[tokio::test]
    async fn every_subscriber_of_a_topic_is_woken() {
        let relay = InProcess::new();
        let id = topic();
        let mut person = relay.subscribe(id);
        let mut agent = relay.subscribe(id);

        relay.publish(announcement(id, 7));

        assert!(woken(&mut person).await);
        assert!(woken(&mut agent).await);
    }

    #[tokio::test]
    async fn the_last_subscriber_leaving_removes_the_slot() {
        let relay = InProcess::new();
        let id = topic();
        let first = relay.subscribe(id);
        let second = relay.subscribe(id);
        let _elsewhere = relay.subscribe(topic());
        assert_eq!(relay.fanout().watched(), 2);

        drop(first);
        assert_eq!(relay.fanout().watched(), 2, "one page still open");
        drop(second);
        assert_eq!(relay.fanout().watched(), 1);
    }

    #[tokio::test]
    async fn wake_all_reaches_every_topic() {
        let relay = InProcess::new();
        let mut one = relay.subscribe(topic());
        let mut two = relay.subscribe(topic());

        relay.fanout().wake_all();

        assert!(woken(&mut one).await);
        assert!(woken(&mut two).await);
    }
}
