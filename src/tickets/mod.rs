//! Tickets: the help-desk ticket a verification belongs to (an external reference such as
//! `INC-4711`, unique per organization), and its timeline. Timeline entries are written
//! only by the method-neutral event hook (`crate::verification::hooks`) and by the mail
//! worker, never by code special to one verification method.

pub(crate) mod store;

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::OrganizationId;
use crate::db::Pool;
use crate::email::EmailAddress;

/// The longest ticket reference, in characters (the REST API declares it too).
pub const MAX_REFERENCE_CHARS: usize = 100;
/// The longest ticket subject, in characters (the REST API declares it too).
pub const MAX_SUBJECT_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(transparent)]
pub struct TicketId(pub Uuid);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A help desk's ticket reference: trimmed, 1 to 100 printable characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketReference(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTicket {
    #[error("The ticket reference is too long (at most 100 characters).")]
    ReferenceTooLong,
    #[error("The ticket reference cannot contain line breaks or control characters.")]
    ReferenceNotPrintable,
    #[error("The ticket subject is too long (at most 200 characters).")]
    SubjectTooLong,
    #[error("A ticket subject needs a ticket reference: enter the reference too.")]
    SubjectWithoutReference,
}

impl TicketReference {
    /// `Ok(None)` for an empty reference: no ticket.
    pub fn parse(input: &str) -> Result<Option<Self>, InvalidTicket> {
        let value = input.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if value.chars().count() > MAX_REFERENCE_CHARS {
            return Err(InvalidTicket::ReferenceTooLong);
        }
        if value.chars().any(char::is_control) {
            return Err(InvalidTicket::ReferenceNotPrintable);
        }
        Ok(Some(Self(value.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a new verification says about its ticket: found by reference in the organization,
/// or made on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketInput {
    pub reference: TicketReference,
    /// Kept from the first verification that gave one.
    pub subject: Option<String>,
    /// Who raised the ticket; the verification's recipient when not given.
    pub requester: Option<EmailAddress>,
}

impl TicketInput {
    /// From a form's two optional fields; `Ok(None)` when both are empty.
    pub fn parse(reference: &str, subject: Option<&str>) -> Result<Option<Self>, InvalidTicket> {
        let subject = subject.map(str::trim).filter(|s| !s.is_empty());
        if let Some(s) = subject
            && (s.chars().count() > MAX_SUBJECT_CHARS || s.chars().any(char::is_control))
        {
            return Err(InvalidTicket::SubjectTooLong);
        }
        match TicketReference::parse(reference)? {
            Some(reference) => Ok(Some(Self {
                reference,
                subject: subject.map(str::to_owned),
                requester: None,
            })),
            None if subject.is_some() => Err(InvalidTicket::SubjectWithoutReference),
            None => Ok(None),
        }
    }
}

/// Also a `tickets` row as read (`store::COLUMNS`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Ticket {
    pub id: TicketId,
    pub organization_id: OrganizationId,
    pub reference: String,
    pub subject: Option<String>,
    pub requester_email: Option<String>,
    pub source: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What a timeline entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A verification link was made for the person.
    Sent,
    /// The link was handed to the outbox to be mailed to the person.
    Emailed,
    /// A message of this ticket reached the mail server (or the development mailbox).
    MailDelivered,
    /// A message could not be delivered after every retry.
    MailFailed,
    Opened,
    Scanned,
    Verified,
    Failed,
    /// One try failed; the person may try again on the same link.
    TryFailed,
    Expired,
    Cancelled,
    /// After a verified result, a Temporary Access Pass was issued (only until when it works).
    PassIssued,
    /// After a verified result, no Temporary Access Pass was issued, with why.
    PassRefused,
}

impl EntryKind {
    pub const ALL: [EntryKind; 13] = [
        EntryKind::Sent,
        EntryKind::Emailed,
        EntryKind::MailDelivered,
        EntryKind::MailFailed,
        EntryKind::Opened,
        EntryKind::Scanned,
        EntryKind::Verified,
        EntryKind::Failed,
        EntryKind::TryFailed,
        EntryKind::Expired,
        EntryKind::Cancelled,
        EntryKind::PassIssued,
        EntryKind::PassRefused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Sent => "sent",
            EntryKind::Emailed => "emailed",
            EntryKind::MailDelivered => "mail_delivered",
            EntryKind::MailFailed => "mail_failed",
            EntryKind::Opened => "opened",
            EntryKind::Scanned => "scanned",
            EntryKind::Verified => "verified",
            EntryKind::Failed => "failed",
            EntryKind::TryFailed => "try_failed",
            EntryKind::Expired => "expired",
            EntryKind::Cancelled => "cancelled",
            EntryKind::PassIssued => "pass_issued",
            EntryKind::PassRefused => "pass_refused",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The timeline's words for it.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Sent => "Sent",
            EntryKind::Emailed => "Link emailed",
            EntryKind::MailDelivered => "Mail delivered",
            EntryKind::MailFailed => "Mail not delivered",
            EntryKind::Opened => "Opened",
            EntryKind::Scanned => "Scanned",
            EntryKind::Verified => "Verified",
            EntryKind::Failed => "Failed",
            EntryKind::TryFailed => "Try failed",
            EntryKind::Expired => "Expired",
            EntryKind::Cancelled => "Cancelled",
            EntryKind::PassIssued => "Temporary Access Pass issued",
            EntryKind::PassRefused => "No Temporary Access Pass",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TimelineEntry {
    pub id: i64,
    pub verification_id: Option<Uuid>,
    pub kind: EntryKind,
    pub actor: String,
    pub detail: String,
    pub at: OffsetDateTime,
}

/// The organization's tickets whose reference starts with `search` (all when `None`),
/// most recently active first.
pub async fn find(
    pool: &Pool,
    organization_id: OrganizationId,
    search: Option<&str>,
    limit: i64,
) -> Result<Vec<Ticket>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::recent(&mut conn, organization_id, search, limit).await
}

/// One ticket of the organization; another organization's is `None`, like a missing one.
pub async fn get(
    pool: &Pool,
    organization_id: OrganizationId,
    id: TicketId,
) -> Result<Option<Ticket>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::by_id(&mut conn, organization_id, id).await
}

/// The organization's ticket with this exact reference.
pub async fn by_reference(
    pool: &Pool,
    organization_id: OrganizationId,
    reference: &TicketReference,
) -> Result<Option<Ticket>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::by_reference(&mut conn, organization_id, reference.as_str()).await
}

/// The ticket's timeline entries after `after` (0: all), oldest first.
pub async fn timeline(
    pool: &Pool,
    organization_id: OrganizationId,
    id: TicketId,
    after: i64,
) -> Result<Vec<TimelineEntry>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::entries_after(&mut conn, organization_id, id, after).await
}

/// The id of a ticket's newest entry, 0 when it has none.
pub async fn last_entry_id(
    pool: &Pool,
    organization_id: OrganizationId,
    id: TicketId,
) -> Result<i64, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::last_entry_id(&mut conn, organization_id, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_trimmed_and_bounded() {
        assert_eq!(TicketReference::parse("  ").unwrap(), None);
        assert_eq!(
            TicketReference::parse(" INC-4711 ")
                .unwrap()
                .unwrap()
                .as_str(),
            "INC-4711"
        );
        assert_eq!(
            TicketReference::parse(&"x".repeat(101)),
            Err(InvalidTicket::ReferenceTooLong)
        );
        assert_eq!(
            TicketReference::parse("INC\n1"),
            Err(InvalidTicket::ReferenceNotPrintable)
        );
    }

    #[test]
    fn a_subject_needs_a_reference() {
        assert_eq!(TicketInput::parse("", None), Ok(None));
        assert_eq!(
            TicketInput::parse("", Some("Password reset")),
            Err(InvalidTicket::SubjectWithoutReference)
        );
        let input = TicketInput::parse("INC-1", Some(" Password reset "))
            .unwrap()
            .unwrap();
        assert_eq!(input.subject.as_deref(), Some("Password reset"));
    }

    #[test]
    fn entry_kinds_round_trip() {
        for kind in EntryKind::ALL {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
        }
    }
}
