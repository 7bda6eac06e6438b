//! Which verification events are sent, under which names, and the deliveries a stored
//! event turns into, inside the event's own transaction: a delivery is written with the
//! state change or not at all, so none is lost between the two. The payload is built by
//! the caller (`crate::reactions`), so this module reads no verification.

use crate::db::Connection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::store::{self, NewDelivery};
use crate::accounts::OrganizationId;
use vocabulary::EventKind;

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
    /// After a verified result, a Temporary Access Pass was issued (never the pass itself).
    PassIssued,
    /// After a verified result, no Temporary Access Pass was issued, with why.
    PassRefused,
}

impl EventType {
    pub const ALL: [EventType; 11] = [
        EventType::Created,
        EventType::Opened,
        EventType::Requested,
        EventType::Scanned,
        EventType::AttemptFailed,
        EventType::Verified,
        EventType::Failed,
        EventType::Expired,
        EventType::Cancelled,
        EventType::PassIssued,
        EventType::PassRefused,
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
            EventType::PassIssued => "verification.temporary_access_pass_issued",
            EventType::PassRefused => "verification.temporary_access_pass_refused",
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
            EventType::PassIssued => {
                "A Temporary Access Pass was issued to the verified person (never the pass)"
            }
            EventType::PassRefused => "No Temporary Access Pass was issued, with why",
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
            EventKind::PassIssued => EventType::PassIssued,
            EventKind::PassRefused => EventType::PassRefused,
            EventKind::LinkEmailed | EventKind::Ignored | EventKind::FaceCheckNotEnabled => {
                return None;
            }
        })
    }
}

/// The endpoints that want a stored event of this kind (the organization's enabled
/// endpoints subscribed to its type, and the verification's own per-request endpoint), with
/// the event's type; `None` when no delivery follows (an event that changes nothing, or
/// nobody subscribed).
pub async fn subscribers(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    verification_id: Uuid,
    kind: EventKind,
) -> Result<Option<(EventType, Vec<Uuid>)>, sqlx::Error> {
    let Some(event_type) = EventType::of_kind(kind) else {
        return Ok(None);
    };
    let endpoints =
        store::subscribed_endpoints(conn, organization_id, verification_id, event_type).await?;
    Ok((!endpoints.is_empty()).then_some((event_type, endpoints)))
}

/// One event's deliveries, as the caller built its payload (the same bytes for every
/// endpoint and every retry).
pub struct NewEvent<'a> {
    pub organization_id: OrganizationId,
    pub verification_id: Uuid,
    /// The stored verification event's id: deliveries go out in this order.
    pub event_seq: i64,
    pub event_type: EventType,
    /// The payload's `id`: receivers de-duplicate on it.
    pub event_id: &'a str,
    pub payload: &'a str,
    pub now: OffsetDateTime,
}

/// Called in the transaction that stored the event: writes one delivery per endpoint.
pub async fn record_deliveries(
    conn: &mut impl Connection,
    endpoints: &[Uuid],
    event: &NewEvent<'_>,
) -> Result<(), sqlx::Error> {
    for endpoint_id in endpoints {
        store::insert_delivery(
            conn,
            NewDelivery {
                organization_id: event.organization_id,
                endpoint_id: *endpoint_id,
                verification_id: event.verification_id,
                event_seq: event.event_seq,
                event_id: event.event_id,
                event_type: event.event_type.as_str(),
                payload: event.payload,
                now: event.now,
            },
        )
        .await?;
    }
    Ok(())
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
