//! Verifying a person with Microsoft Verified ID: the durable link an agent sends,
//! the short-lived Microsoft presentation requests behind it, Microsoft's callbacks,
//! identity alignment, and the event history that live pages follow.

pub mod alignment;
mod callback;
pub mod callback_key;
pub mod create;
mod errors;
mod group_commit;
pub mod hooks;
mod idempotent;
mod recipient;
pub mod resource;
mod service;
pub mod status;
pub(crate) mod store;
pub mod throttle;
mod transitions;

pub use crate::accounts::Initiator;
pub use callback::AuthorizedCallback;
pub use create::{After, Delivery, NewVerification, RecoveryPermit, RequestWebhook};
pub use errors::{AtStep, CallbackError, RemovalError, VerificationError};
pub use idempotent::{Idempotency, Once, OnceError};
pub use recipient::{LiveRequest, RecipientView};
pub use service::*;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::{OrganizationId, UserId};
use crate::email::EmailAddress;
use alignment::Evidence;
use status::{EventKind, Status, StatusName};

#[derive(Debug, Clone)]
pub struct Verification {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    /// The teammate who started it; `None` for a tool (or a teammate since removed).
    pub created_by: Option<UserId>,
    pub created_by_name: String,
    pub recipient: EmailAddress,
    pub ticket_reference: Option<String>,
    /// The ticket it belongs to (`crate::tickets`).
    pub ticket_id: Option<Uuid>,
    pub note: Option<String>,
    pub link_expires_at: OffsetDateTime,
    pub status: Status,
    pub failed_attempts: u32,
    pub evidence: Option<Evidence>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

/// Which verifications a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub ticket_reference: Option<String>,
    pub status: Option<StatusName>,
}

/// One stored event; its id is the server-sent event id.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    /// The verification's status after the event.
    pub status: StatusName,
    pub message: String,
    pub at: OffsetDateTime,
}

impl Event {
    /// Whether no event can follow this one.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}
