//! The seam between a verification's state machine and what follows from its events. The
//! use cases call [`Reactions::on_event`] inside the transaction that stored each event;
//! the implementation (`crate::reactions`, wired at start-up) writes the ticket timeline
//! entries, outbox mail and webhook deliveries, so this module never imports its listeners.
//!
//! It hands over only the method-neutral vocabulary of the state machine (`created`,
//! `opened`, `scanned`, `verified`, `failed.<reason>`, `expired`, `cancelled`, …), never
//! anything special to Microsoft, so any verification method that stores its events through
//! `service::record_event` feeds tickets, mail and webhooks for free.

use std::future::Future;
use std::pin::Pin;

use url::Url;

use super::Verification;
use super::status::{EventKind, Status};
use crate::db::Connection;

/// One verification event, just stored, as the hook sees it.
pub struct EventRecord<'a> {
    /// The verification as it was read in the transaction (its status may be the old one:
    /// the event's `status` is the new one).
    pub verification: &'a Verification,
    pub event_id: i64,
    pub kind: EventKind,
    /// The verification's status after the event.
    pub status: Status,
    /// The event's text for the agent (the timeline's words).
    pub message: &'a str,
    /// Who caused it, when a signed-in agent or a tool did (`None`: the person or Traceless).
    pub actor: Option<&'a str>,
    /// Only on `link_emailed`: the person's link, which exists nowhere else in clear. It goes
    /// into the mail to the person and nowhere else.
    pub link: Option<&'a Url>,
}

/// What reacting to one event returns; boxed so that the use cases can hold any
/// implementation (`Arc<dyn Reactions>`).
pub type Reacting<'a> = Pin<Box<dyn Future<Output = Result<(), sqlx::Error>> + Send + 'a>>;

/// What every stored verification event sets off. Held by the `Verifier`.
pub trait Reactions: Send + Sync + 'static {
    /// Called inside the transaction that stored the event, right after storing it: what
    /// it writes commits (or rolls back) with the event itself. Writes only inside `conn`;
    /// anything sent outside (mail, webhooks) is sent afterwards by a worker.
    fn on_event<'a>(
        &'a self,
        conn: &'a mut dyn Connection,
        event: &'a EventRecord<'_>,
    ) -> Reacting<'a>;
}
