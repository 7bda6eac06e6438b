//! What follows from a verification's events, outside the verification itself: ticket
//! timeline entries, outbox mail and webhook deliveries, written in the event's own
//! transaction. [`Effects`] implements the seam the verification use cases call
//! ([`Reactions`], declared by `verification` so that it imports none of its listeners) and
//! is wired in at start-up (`server/src/startup.rs`).
//!
//! Adding an effect: add it to `Effects::react`, writing only inside `conn` (the event's
//! open transaction); deliver afterwards from a worker, like `crate::mail::worker` does.

mod webhook;

use url::Url;

use crate::db::{self, Connection};
use crate::mail::{MessageKind, compose, outbox};
use crate::tickets::{self, EntryKind, TicketId};
use crate::verification::Verification;
pub use crate::verification::hooks::{EventRecord, Reacting, Reactions};
use crate::verification::status::{EventKind, Status};

/// Ticket timeline entries, outbox mail and webhook deliveries: what a stored verification
/// event sets off. Built at start-up and handed to the `Verifier`.
#[derive(Debug, Clone)]
pub struct Effects {
    /// To link the agent's mail to the verification's page.
    public_url: Url,
}

impl Effects {
    pub fn new(public_url: Url) -> Self {
        Self { public_url }
    }

    async fn react(
        &self,
        conn: &mut impl Connection,
        event: &EventRecord<'_>,
    ) -> Result<(), sqlx::Error> {
        let v = event.verification;
        webhook::record_deliveries(conn, event).await?;
        // The link ended: the working link is erased from its mails (docs/operations.md: what we keep).
        if event.status.is_terminal() {
            outbox::link_ended(conn, v.id).await?;
        }
        let Some(kind) = timeline_kind(event.kind) else {
            return Ok(());
        };
        let ticket = match v.ticket_id {
            Some(id) => tickets::store::by_id(conn, v.organization_id, TicketId(id)).await?,
            None => None,
        };
        if let Some(ticket) = &ticket {
            let actor = match kind {
                EntryKind::Sent => v.created_by_name.clone(),
                EntryKind::Emailed => event.actor.unwrap_or(&v.created_by_name).to_owned(),
                EntryKind::Expired => "Traceless".to_owned(),
                EntryKind::Cancelled => event.actor.unwrap_or("Traceless").to_owned(),
                EntryKind::PassIssued | EntryKind::PassRefused => "Traceless".to_owned(),
                _ => v.recipient.to_string(),
            };
            tickets::store::insert_entry(
                conn,
                tickets::store::NewEntry {
                    ticket_id: ticket.id,
                    organization_id: v.organization_id,
                    verification_id: Some(v.id),
                    kind,
                    actor: &actor,
                    detail: event.message,
                },
            )
            .await?;
        }
        let reference = ticket.as_ref().map(|t| t.reference.as_str());
        match kind {
            EntryKind::Emailed => {
                let Some(link) = event.link else {
                    tracing::warn!(verification = %v.id, "a link_emailed event without its link: no mail");
                    return Ok(());
                };
                let organization = organization_name(conn, v).await?;
                let mail = compose::link(&compose::LinkMail {
                    to: v.recipient.as_str(),
                    organization: &organization,
                    asked_by: event.actor.unwrap_or(&v.created_by_name),
                    ticket_reference: reference,
                    ticket_subject: ticket.as_ref().and_then(|t| t.subject.as_deref()),
                    link,
                    expires_at: v.link_expires_at,
                });
                self.enqueue(conn, v, MessageKind::Link, &mail).await?;
            }
            EntryKind::Verified | EntryKind::Failed | EntryKind::Expired => {
                let Some(agent) = agent_email(conn, v).await? else {
                    return Ok(()); // started by a tool, or the agent was removed
                };
                let (outcome, detail, message_kind) = match event.status {
                    Status::Verified => ("Verified", event.message, MessageKind::Result),
                    Status::Failed(reason) => ("Failed", reason.for_agent(), MessageKind::Result),
                    _ => ("Expired", event.message, MessageKind::Expiry),
                };
                let page = self
                    .public_url
                    .join(&format!("organization/verifications/{}", v.id))
                    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                let mail = compose::outcome(&compose::OutcomeMail {
                    to: &agent,
                    recipient: v.recipient.as_str(),
                    ticket_reference: reference,
                    outcome,
                    detail,
                    page: &page,
                });
                self.enqueue(conn, v, message_kind, &mail).await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn enqueue(
        &self,
        conn: &mut impl Connection,
        v: &Verification,
        kind: MessageKind,
        mail: &crate::mail::Mail,
    ) -> Result<(), sqlx::Error> {
        outbox::enqueue(
            conn,
            outbox::NewMessage {
                organization_id: v.organization_id,
                verification_id: Some(v.id),
                ticket_id: v.ticket_id,
                kind,
                mail,
            },
        )
        .await?;
        Ok(())
    }
}

impl Reactions for Effects {
    fn on_event<'a>(
        &'a self,
        conn: &'a mut dyn Connection,
        event: &'a EventRecord<'_>,
    ) -> Reacting<'a> {
        Box::pin(async move {
            let mut conn = conn;
            self.react(&mut conn, event).await
        })
    }
}

/// The timeline's entry for a stored event kind; `None` for events a ticket does not show
/// (a QR code shown, a callback ignored).
fn timeline_kind(kind: EventKind) -> Option<EntryKind> {
    Some(match kind {
        EventKind::Created => EntryKind::Sent,
        EventKind::LinkEmailed => EntryKind::Emailed,
        EventKind::Opened => EntryKind::Opened,
        EventKind::Scanned => EntryKind::Scanned,
        EventKind::Verified => EntryKind::Verified,
        EventKind::Expired => EntryKind::Expired,
        EventKind::Cancelled => EntryKind::Cancelled,
        EventKind::Failed(_) => EntryKind::Failed,
        EventKind::AttemptFailed(_) => EntryKind::TryFailed,
        EventKind::PassIssued => EntryKind::PassIssued,
        EventKind::PassRefused => EntryKind::PassRefused,
        EventKind::Requested | EventKind::Ignored | EventKind::FaceCheckNotEnabled => return None,
    })
}

async fn organization_name(
    conn: &mut impl Connection,
    v: &Verification,
) -> Result<String, sqlx::Error> {
    db::query("SELECT name FROM organizations WHERE id = $1")
        .bind(v.organization_id.0)
        .fetch_one(conn)
        .await?
        .try_get(0)
}

/// The address of the agent who started `v`, while they are still on the team.
async fn agent_email(
    conn: &mut impl Connection,
    v: &Verification,
) -> Result<Option<String>, sqlx::Error> {
    let Some(user) = v.created_by else {
        return Ok(None);
    };
    let row = db::query("SELECT email FROM users WHERE id = $1 AND organization_id = $2")
        .bind(user.0)
        .bind(v.organization_id.0)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get("email")).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::verification::status::FailureReason;

    #[test]
    fn the_timeline_reads_only_the_state_machines_vocabulary() {
        assert_eq!(timeline_kind(EventKind::Created), Some(EntryKind::Sent));
        assert_eq!(
            timeline_kind(EventKind::Failed(FailureReason::DifferentEmail)),
            Some(EntryKind::Failed)
        );
        assert_eq!(
            timeline_kind(EventKind::AttemptFailed(FailureReason::AuthenticatorError)),
            Some(EntryKind::TryFailed)
        );
        assert_eq!(timeline_kind(EventKind::Requested), None);
        assert_eq!(timeline_kind(EventKind::Ignored), None);
    }
}
