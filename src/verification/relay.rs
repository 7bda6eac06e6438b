//! The live relay: a stored verification event is announced to every open page.
//! `Publisher` is the seam; `InProcess` serves one machine (a PostgreSQL LISTEN/NOTIFY
//! implementation would forward notifications into the same local channel).

use std::sync::Arc;

use tokio::sync::broadcast;
use uuid::Uuid;

/// "Verification X has a new stored event, with id N": the event itself is read
/// from the database, so a subscriber never sees something that was not committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement {
    pub verification_id: Uuid,
    pub event_id: i64,
}

pub trait Publisher: Send + Sync + 'static {
    /// Announces an event that is already committed.
    fn publish(&self, announcement: Announcement);
    /// Every announcement from now on; a lagging receiver re-reads from the database.
    fn subscribe(&self) -> broadcast::Receiver<Announcement>;
}

/// Publishes to subscribers in this process.
pub struct InProcess {
    sender: broadcast::Sender<Announcement>,
}

impl InProcess {
    pub fn new() -> Arc<Self> {
        let (sender, _) = broadcast::channel(1024);
        Arc::new(Self { sender })
    }
}

impl Publisher for InProcess {
    fn publish(&self, announcement: Announcement) {
        // No subscriber is fine: nobody is watching.
        let _ = self.sender.send(announcement);
    }

    fn subscribe(&self) -> broadcast::Receiver<Announcement> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_receive_what_is_published_after_they_subscribe() {
        let relay = InProcess::new();
        relay.publish(Announcement {
            verification_id: Uuid::nil(),
            event_id: 1,
        });
        let mut receiver = relay.subscribe();
        let announcement = Announcement {
            verification_id: Uuid::new_v4(),
            event_id: 2,
        };
        relay.publish(announcement);
        assert_eq!(receiver.recv().await.unwrap(), announcement);
    }
}
