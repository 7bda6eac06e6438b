//! Which verification events are sent, under which names, and the hook that turns a stored
//! event into deliveries inside the event's own transaction: a delivery is written with
//! the state change or not at all, so none is lost between the two.

use crate::db::Connection;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::store::{self, NewDelivery};
use crate::accounts::OrganizationId;
use crate::verification::resource::{TicketResource, VerificationResource, rfc3339};
use crate::verification::status::EventKind;
use crate::verification::{Verification, store as verification_store};

/// A webhook event's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Created,
    Opened,
    /// A Microsoft request (QR code) is shown; again each time a fresh one replaces it.
    Requested,
    Scanned,
    /// One try failed; the person may try again on the same link.
    AttemptFailed,
    Verified,
    Failed,
    Expired,
    Cancelled,
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::Created,
        EventType::Opened,
        EventType::Requested,
        EventType::Scanned,
        EventType::AttemptFailed,
        EventType::Verified,
        EventType::Failed,
        EventType::Expired,
        EventType::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "verification.created",
            EventType::Opened => "verification.opened",
            EventType::Requested => "verification.requested",
            EventType::Scanned => "verification.scanned",
            EventType::AttemptFailed => "verification.attempt_failed",
            EventType::Verified => "verification.verified",
            EventType::Failed => "verification.failed",
            EventType::Expired => "verification.expired",
            EventType::Cancelled => "verification.cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// For the admin's checkboxes.
    pub fn describe(self) -> &'static str {
        match self {
            EventType::Created => "A verification was started",
            EventType::Opened => "The person opened the link",
            EventType::Requested => "A QR code from Microsoft is shown (again for each fresh code)",
            EventType::Scanned => "The person scanned the QR code",
            EventType::AttemptFailed => "A try failed; the person may try again",
            EventType::Verified => "The person was verified",
            EventType::Failed => "The verification failed",
            EventType::Expired => "The link expired",
            EventType::Cancelled => "The verification was cancelled",
        }
    }

    /// The webhook type of a stored verification event's kind; `None` for events that
    /// change nothing (an ignored callback) or that tools are not sent (the link's mail).
    pub fn of_kind(kind: EventKind) -> Option<Self> {
        Some(match kind {
            EventKind::Created => EventType::Created,
            EventKind::Opened => EventType::Opened,
            EventKind::Requested => EventType::Requested,
            EventKind::Scanned => EventType::Scanned,
            EventKind::AttemptFailed(_) => EventType::AttemptFailed,
            EventKind::Verified => EventType::Verified,
            EventKind::Failed(_) => EventType::Failed,
            EventKind::Expired => EventType::Expired,
            EventKind::Cancelled => EventType::Cancelled,
            EventKind::LinkEmailed | EventKind::Ignored | EventKind::FaceCheckNotEnabled => {
                return None;
            }
        })
    }
}

/// What an endpoint receives.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    /// The same for every endpoint and every retry: receivers de-duplicate on it.
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub created: String,
    pub verification: &'a VerificationResource,
    pub ticket: Option<&'a TicketResource>,
}

/// Called in the transaction that stored event `event_seq` of a verification: writes one
/// delivery per enabled endpoint of the organization that wants this event type (and the
/// verification's own per-request endpoint). Returns how many were written.
pub async fn record_event(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    verification_id: Uuid,
    event_seq: i64,
    kind: EventKind,
) -> Result<usize, sqlx::Error> {
    let Some(event_type) = EventType::of_kind(kind) else {
        return Ok(0);
    };
    let endpoints =
        store::subscribed_endpoints(conn, organization_id, verification_id, event_type).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let Some(verification) =
        verification_store::by_id(conn, organization_id, verification_id).await?
    else {
        return Ok(0);
    };
    let subject = match verification.ticket_id {
        Some(id) => {
            crate::tickets::store::by_id(conn, organization_id, crate::tickets::TicketId(id))
                .await?
                .and_then(|t| t.subject)
        }
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    let event_id = Uuid::new_v4().to_string();
    let payload = payload_json(
        &verification,
        subject.as_deref(),
        &event_id,
        event_type,
        now,
    );
    for endpoint_id in &endpoints {
        store::insert_delivery(
            conn,
            NewDelivery {
                organization_id,
                endpoint_id: *endpoint_id,
                verification_id,
                event_seq,
                event_id: &event_id,
                event_type: event_type.as_str(),
                payload: &payload,
                now,
            },
        )
        .await?;
    }
    Ok(endpoints.len())
}

fn payload_json(
    verification: &Verification,
    ticket_subject: Option<&str>,
    event_id: &str,
    event_type: EventType,
    now: OffsetDateTime,
) -> String {
    let resource = VerificationResource::of(verification, ticket_subject);
    serde_json::to_string(&Payload {
        id: event_id,
        kind: event_type.as_str(),
        created: rfc3339(now),
        verification: &resource,
        ticket: resource.ticket.as_ref(),
    })
    .expect("a payload serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_change_has_a_type_and_ignored_callbacks_have_none() {
        for (kind, expected) in [
            ("created", Some(EventType::Created)),
            ("failed.different_email", Some(EventType::Failed)),
            (
                "attempt_failed.authenticator_error",
                Some(EventType::AttemptFailed),
            ),
            ("verified", Some(EventType::Verified)),
            ("ignored", None),
        ] {
            let kind: EventKind = kind.parse().unwrap();
            assert_eq!(EventType::of_kind(kind), expected, "{kind}");
        }
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }
}
