//! Messages: mail is written to the outbox in the transaction of the event that causes it
//! (`outbox::enqueue`), then delivered by the [`worker`] at least once, with retries and
//! exponential backoff. Each message keeps one id from its first write to its last retry:
//! it is the mail's `Message-ID`, so a receiver can drop a duplicate.
//!
//! Transports: SMTP (`lettre`, configured with `TRACELESS_SMTP_*`), or, when SMTP is not
//! configured, the development mailbox: delivered mail stays readable in the app.

pub mod compose;
pub mod outbox;
pub mod transport;
pub mod worker;

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::OrganizationId;

/// A message's stable id; `Display` gives the `Message-ID` header's value without brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(pub Uuid);

impl MessageId {
    /// `<id@domain>`, as the `Message-ID` header carries it.
    pub fn header(&self, domain: &str) -> String {
        format!("<{}@{domain}>", self.0)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// The verification link, to the person.
    Link,
    /// The verification's result, to the agent who started it.
    Result,
    /// The link expired unused, to the agent who started it.
    Expiry,
    /// Something about the organization's setup, to its administrators (a domain left the
    /// Microsoft tenant).
    Notice,
    /// To a person about their own account: confirming their address, a sign-up with an
    /// address that already has an account, a link to set a new password.
    Account,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Link => "link",
            MessageKind::Result => "result",
            MessageKind::Expiry => "expiry",
            MessageKind::Notice => "notice",
            MessageKind::Account => "account",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            MessageKind::Link,
            MessageKind::Result,
            MessageKind::Expiry,
            MessageKind::Notice,
            MessageKind::Account,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }

    /// For the ticket's timeline: what was delivered.
    pub fn describe(self) -> &'static str {
        match self {
            MessageKind::Link => "The link mail",
            MessageKind::Result => "The result mail",
            MessageKind::Expiry => "The expiry notice",
            MessageKind::Notice => "The notice to administrators",
            MessageKind::Account => "The mail about their account",
        }
    }
}

/// A composed mail: plain text plus a simple HTML alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub use vocabulary::DeliveryState;

/// One stored message.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: MessageId,
    pub organization_id: OrganizationId,
    pub verification_id: Option<Uuid>,
    pub ticket_id: Option<Uuid>,
    pub kind: MessageKind,
    pub mail: Mail,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub transport: Option<String>,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
}
