//! The state changes: an input applied to a verification through the state machine
//! (`status`), stored with its event and its reactions in one transaction, then announced
//! on the live relay.

use time::OffsetDateTime;
use url::Url;

use super::alignment::Evidence;
use super::errors::VerificationError;
use super::hooks::{EventRecord, Reactions};
use super::service::Verifier;
use super::status::{self, EventKind, Input, MAX_FAILED_ATTEMPTS, Outcome, Status};
use super::{Verification, store};
use crate::db;
use crate::live::{Announcement, Topic};

impl Verifier {
    /// `actor`: the agent who caused it, when one did (with their own words in `message`).
    pub(super) async fn transition(
        &self,
        verification: &Verification,
        input: Input,
        evidence: Option<&Evidence>,
        message: Option<&str>,
        actor: Option<&str>,
    ) -> Result<(), VerificationError> {
        let mut tx = store::begin_on(&self.pool, verification.id).await?;
        let current = store::by_id(&mut tx, verification.organization_id, verification.id)
            .await?
            .ok_or(VerificationError::NotFound)?;
        let announced = match message {
            Some(message) => {
                apply_with_message(
                    &mut tx,
                    self.reactions.as_ref(),
                    &current,
                    input,
                    evidence,
                    message,
                    actor,
                )
                .await?
            }
            None => {
                apply(
                    &mut tx,
                    self.reactions.as_ref(),
                    &current,
                    input,
                    evidence,
                    None,
                )
                .await?
            }
        };
        tx.commit().await?;
        if let Some(event) = announced {
            self.announce(&current, event);
        }
        Ok(())
    }

    /// Wakes the verification's streams and, when it belongs to one, its ticket's (the
    /// relay fans out by id; a ticket's id is its stream's key).
    pub(super) fn announce(&self, verification: &Verification, event_id: i64) {
        self.relay.publish(Announcement {
            topic: Topic(verification.id),
            event_id,
        });
        if let Some(ticket) = verification.ticket_id {
            self.relay.publish(Announcement {
                topic: Topic(ticket),
                event_id,
            });
        }
    }
}

/// Applies `input` to `verification` inside a transaction; returns the stored event's id.
pub(super) async fn apply(
    conn: &mut impl db::Connection,
    reactions: &dyn Reactions,
    verification: &Verification,
    input: Input,
    evidence: Option<&Evidence>,
    request_expiry: Option<&OffsetDateTime>,
) -> Result<Option<i64>, VerificationError> {
    let message = default_message(verification, input, evidence, request_expiry);
    apply_with_message(
        conn,
        reactions,
        verification,
        input,
        evidence,
        &message,
        None,
    )
    .await
}

pub(super) async fn apply_with_message(
    conn: &mut impl db::Connection,
    reactions: &dyn Reactions,
    verification: &Verification,
    input: Input,
    evidence: Option<&Evidence>,
    message: &str,
    actor: Option<&str>,
) -> Result<Option<i64>, VerificationError> {
    let is_callback = matches!(
        input,
        Input::Retrieved | Input::Presented(_) | Input::Refused(_)
    );
    let (status, attempts, kind, message) = match status::next(
        verification.status,
        input,
        verification.failed_attempts,
    ) {
        Outcome::Move(status) => {
            let (kind, message) = match status {
                Status::Failed(_) => (EventKind::moved_to(status), format!("Failed: {message}")),
                other => (EventKind::moved_to(other), message.to_owned()),
            };
            (status, verification.failed_attempts, kind, message)
        }
        Outcome::Retry(reason) => {
            let attempts = verification.failed_attempts + 1;
            let message = format!(
                "This try failed: {message} They can try again on the same link ({attempts} of {MAX_FAILED_ATTEMPTS} tries used)."
            );
            (
                Status::Opened,
                attempts,
                EventKind::AttemptFailed(reason),
                message,
            )
        }
        Outcome::Ignore(why) => {
            // Callbacks are recorded even when they change nothing; page loads are not.
            if !is_callback {
                return Ok(None);
            }
            let event = record_event(
                conn,
                reactions,
                verification,
                EventKind::Ignored,
                verification.status,
                &format!("Ignored a callback: {why}"),
                None,
                None,
            )
            .await?;
            return Ok(Some(event));
        }
    };
    if !store::update_status(conn, verification, status, attempts, evidence).await? {
        // Someone else moved it first; their event tells the story.
        return Ok(None);
    }
    Ok(Some(
        record_event(
            conn,
            reactions,
            verification,
            kind,
            status,
            &message,
            actor,
            None,
        )
        .await?,
    ))
}

/// Stores a verification event and, in the same transaction, everything that follows from
/// it ([`Reactions::on_event`]: ticket timeline, outbox, webhooks). Every event of every
/// verification method is stored through here.
#[allow(clippy::too_many_arguments)] // each is one fact about the event; a struct would only rename them
pub(super) async fn record_event(
    conn: &mut impl crate::db::Connection,
    reactions: &dyn Reactions,
    verification: &Verification,
    kind: EventKind,
    status: Status,
    message: &str,
    actor: Option<&str>,
    link: Option<&Url>,
) -> Result<i64, sqlx::Error> {
    let event_id = store::insert_event(conn, verification, kind, status, message).await?;
    reactions
        .on_event(
            conn,
            &EventRecord {
                verification,
                event_id,
                kind,
                status,
                message,
                actor,
                link,
            },
        )
        .await?;
    Ok(event_id)
}

pub(super) fn default_message(
    verification: &Verification,
    input: Input,
    evidence: Option<&Evidence>,
    request_expiry: Option<&OffsetDateTime>,
) -> String {
    match input {
        Input::PageOpened => "The person opened the verification link".into(),
        Input::RequestCreated => match request_expiry {
            Some(at) => format!(
                "A QR code from Microsoft is shown, valid until {:02}:{:02}:{:02} UTC",
                at.hour(),
                at.minute(),
                at.second()
            ),
            None => "A QR code from Microsoft is shown".into(),
        },
        Input::Retrieved => "Scanned: the person is finishing in Microsoft Authenticator".into(),
        Input::Presented(Ok(())) => {
            let who = evidence
                .map(|e| {
                    format!(
                        "{} ({})",
                        e.display_name.as_deref().unwrap_or("unnamed"),
                        e.email.as_deref().unwrap_or("no email")
                    )
                })
                .unwrap_or_default();
            format!(
                "Verified: the credential of {who} matches {}",
                verification.recipient
            )
        }
        // `apply_with_message` says whether it is the end or a try the person may repeat.
        Input::Presented(Err(reason)) | Input::Refused(reason) => reason.for_agent().to_owned(),
        Input::LinkExpired => "The link expired before the person was verified".into(),
        Input::Cancelled => "Cancelled: the Microsoft Verified ID integration was removed".into(),
    }
}
