//! Delivers the outbox: due messages are claimed, sent, and marked delivered, or retried
//! with exponential backoff until they are given up. At least once: a message is marked
//! delivered only after the transport took it, so a crash in between sends it again, with
//! the same `Message-ID`. Each delivery (or final failure) of a ticket's message goes on the
//! ticket's timeline.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::transport::Transport;
use super::{Message, MessageKind, outbox};
use crate::config::MailSettings;
use crate::db::{self, Pool};
use crate::live::{Announcement, Publisher, Topic};
use crate::tickets::{self, EntryKind, TicketId};

/// How often the outbox is looked at for due messages.
const POLL: Duration = Duration::from_millis(500);
/// A claimed message is tried again after this if its attempt never reported back.
const LEASE: Duration = Duration::from_secs(120);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
const BATCH: i64 = 20;

pub struct Deliverer {
    pool: Pool,
    transport: Transport,
    relay: Arc<dyn Publisher>,
    retry_base: Duration,
    max_attempts: u32,
}

impl Deliverer {
    pub fn new(
        pool: Pool,
        transport: Transport,
        relay: Arc<dyn Publisher>,
        settings: &MailSettings,
    ) -> Self {
        Self {
            pool,
            transport,
            relay,
            retry_base: settings.retry_base,
            max_attempts: settings.max_attempts,
        }
    }

    /// Delivers until `stop` resolves. An attempt in flight when it does is finished first.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        loop {
            match self.deliver_due().await {
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "reading the outbox failed; trying again"),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One round: every message due now gets one attempt. Returns how many were delivered.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let now = OffsetDateTime::now_utc();
        let mut delivered = 0;
        for _ in 0..BATCH {
            // Each message is claimed just before its attempt, and the claim committed
            // first: other instances skip it until its lease runs out, and no row stays
            // locked while the transport works. Only what was due when the round began:
            // a message retried meanwhile waits for the next round.
            let mut tx = db::begin_claim(&self.pool).await?;
            let claimed =
                outbox::claim_next(&mut tx, now, OffsetDateTime::now_utc() + LEASE).await?;
            tx.commit().await?;
            let Some(message) = claimed else {
                break;
            };
            let attempt = message.attempts + 1;
            let sent = self.transport.send(&message).await;
            crate::observe::delivery_attempt(crate::observe::Queue::Mail, sent.is_ok());
            match sent {
                Ok(()) => {
                    self.delivered(&message).await?;
                    delivered += 1;
                }
                Err(error) if attempt >= self.max_attempts => {
                    tracing::warn!(message = %message.id, attempt, %error, "giving up on a mail");
                    self.gave_up(&message, &error.to_string()).await?;
                }
                Err(error) => {
                    let wait = backoff(self.retry_base, attempt);
                    tracing::warn!(message = %message.id, attempt, retry_in = ?wait, %error, "mail not delivered; will retry");
                    let mut conn = self.pool.acquire().await?;
                    outbox::mark_retry(
                        &mut conn,
                        message.id,
                        OffsetDateTime::now_utc() + wait,
                        &error.to_string(),
                    )
                    .await?;
                }
            }
        }
        Ok(delivered)
    }

    async fn delivered(&self, message: &Message) -> Result<(), sqlx::Error> {
        // The claimed message's row; the ticket's row through its timeline entry.
        let mut tx = db::begin_write(&self.pool, db::Lock::Rows).await?;
        outbox::mark_delivered(&mut tx, message.id, self.transport.name()).await?;
        // Sent by SMTP, the link is in the person's mailbox: our copy has no use. The
        // development mailbox keeps it until the link ends, for the developer to click.
        if message.kind == MessageKind::Link && !self.transport.is_mailbox() {
            outbox::remove_link(&mut tx, message.id).await?;
        }
        let detail = format!(
            "{} to {} was delivered to {}",
            message.kind.describe(),
            message.mail.to,
            self.transport.describe()
        );
        let ticket = self
            .timeline(&mut tx, message, EntryKind::MailDelivered, &detail)
            .await?;
        tx.commit().await?;
        tracing::info!(message = %message.id, kind = message.kind.as_str(), transport = self.transport.name(), "mail delivered");
        self.announce(message, ticket);
        Ok(())
    }

    async fn gave_up(&self, message: &Message, error: &str) -> Result<(), sqlx::Error> {
        // The claimed message's row; the ticket's row through its timeline entry.
        let mut tx = db::begin_write(&self.pool, db::Lock::Rows).await?;
        outbox::mark_failed(&mut tx, message.id, error).await?;
        // Never to be sent: the link in it has no use any more.
        if message.kind == MessageKind::Link {
            outbox::remove_link(&mut tx, message.id).await?;
        }
        let detail = format!(
            "{} to {} could not be delivered: {error}",
            message.kind.describe(),
            message.mail.to
        );
        let ticket = self
            .timeline(&mut tx, message, EntryKind::MailFailed, &detail)
            .await?;
        tx.commit().await?;
        self.announce(message, ticket);
        Ok(())
    }

    async fn timeline(
        &self,
        conn: &mut impl crate::db::Connection,
        message: &Message,
        kind: EntryKind,
        detail: &str,
    ) -> Result<Option<TicketId>, sqlx::Error> {
        let Some(ticket) = message.ticket_id.map(TicketId) else {
            return Ok(None);
        };
        tickets::store::insert_entry(
            conn,
            tickets::store::NewEntry {
                ticket_id: ticket,
                organization_id: message.organization_id,
                verification_id: message.verification_id,
                kind,
                actor: "Traceless",
                detail,
            },
        )
        .await?;
        Ok(Some(ticket))
    }

    fn announce(&self, _message: &Message, ticket: Option<TicketId>) {
        if let Some(ticket) = ticket {
            // The ticket's stream is keyed by the ticket's id (see `Verifier::announce`).
            self.relay.publish(Announcement {
                topic: Topic(ticket.0),
                event_id: 0,
            });
        }
    }
}

/// The wait after the `attempt`-th failure: `base`, then doubling, at most [`MAX_BACKOFF`].
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(5);
        assert_eq!(backoff(base, 1), Duration::from_secs(5));
        assert_eq!(backoff(base, 2), Duration::from_secs(10));
        assert_eq!(backoff(base, 4), Duration::from_secs(40));
        assert_eq!(backoff(base, 30), MAX_BACKOFF);
    }
}
