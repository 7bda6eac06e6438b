//! A stored event's webhook deliveries: the payload (the verification as the REST API shows
//! it, and its ticket) is built here, so that `webhooks` reads no verification.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::EventRecord;
use crate::db::Connection;
use crate::tickets::{self, TicketId};
use crate::verification::Verification;
use crate::verification::resource::{TicketResource, VerificationResource, rfc3339};
use crate::verification::store as verification_store;
use crate::webhooks::{self, EventType, NewEvent};

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

/// One delivery per endpoint that wants this event; nothing read when nobody does.
pub(super) async fn record_deliveries(
    conn: &mut impl Connection,
    event: &EventRecord<'_>,
) -> Result<(), sqlx::Error> {
    let v = event.verification;
    let Some((event_type, endpoints)) =
        webhooks::subscribers(conn, v.organization_id, v.id, event.kind).await?
    else {
        return Ok(());
    };
    // Read again in the transaction: the payload shows the status after the event.
    let Some(verification) = verification_store::by_id(conn, v.organization_id, v.id).await? else {
        return Ok(());
    };
    let subject = match verification.ticket_id {
        Some(id) => tickets::store::by_id(conn, v.organization_id, TicketId(id))
            .await?
            .and_then(|t| t.subject),
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
    webhooks::record_deliveries(
        conn,
        &endpoints,
        &NewEvent {
            organization_id: v.organization_id,
            verification_id: v.id,
            event_seq: event.event_id,
            event_type,
            event_id: &event_id,
            payload: &payload,
            now,
        },
    )
    .await
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
