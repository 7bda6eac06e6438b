//! SQL for the outbox. A message is enqueued inside the transaction of its cause; the worker
//! claims a due message by pushing its next attempt past a lease (so two processes never
//! send it at the same moment), then records the outcome.

use crate::db::{self, Connection, Word};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{DeliveryState, Mail, Message, MessageId, MessageKind, compose};
use crate::accounts::OrganizationId;

const COLUMNS: &str = "id, organization_id, verification_id, ticket_id, kind, recipient, subject, body_text, body_html, \
     state, attempts, next_attempt_at, last_error, transport, created_at, delivered_at";

/// An `outbox_messages` row as stored ([`COLUMNS`]).
#[derive(sqlx::FromRow)]
struct MessageRow {
    id: Uuid,
    organization_id: OrganizationId,
    verification_id: Option<Uuid>,
    ticket_id: Option<Uuid>,
    kind: String,
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
    state: Word<DeliveryState>,
    attempts: i64,
    next_attempt_at: OffsetDateTime,
    last_error: Option<String>,
    transport: Option<String>,
    created_at: OffsetDateTime,
    delivered_at: Option<OffsetDateTime>,
}

impl TryFrom<MessageRow> for Message {
    type Error = sqlx::Error;

    fn try_from(row: MessageRow) -> Result<Self, sqlx::Error> {
        Ok(Message {
            id: MessageId(row.id),
            organization_id: row.organization_id,
            verification_id: row.verification_id,
            ticket_id: row.ticket_id,
            kind: MessageKind::parse(&row.kind)
                .ok_or_else(|| sqlx::Error::Decode("outbox kind".into()))?,
            mail: Mail {
                to: row.recipient,
                subject: row.subject,
                text: row.body_text,
                html: row.body_html,
            },
            state: row.state.0,
            attempts: row.attempts.max(0) as u32,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            transport: row.transport,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
        })
    }
}

pub struct NewMessage<'a> {
    pub organization_id: OrganizationId,
    pub verification_id: Option<Uuid>,
    pub ticket_id: Option<Uuid>,
    pub kind: MessageKind,
    pub mail: &'a Mail,
}

/// Writes a message, due now. Call it inside the transaction of the event that causes it.
pub async fn enqueue(
    conn: &mut impl Connection,
    new: NewMessage<'_>,
) -> Result<MessageId, sqlx::Error> {
    let id = Uuid::new_v4();
    let now = OffsetDateTime::now_utc();
    db::query(
        "INSERT INTO outbox_messages (id, organization_id, verification_id, ticket_id, kind, recipient, subject,
           body_text, body_html, state, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11)",
    )
    .bind(id)
    .bind(new.organization_id.0)
    .bind(new.verification_id)
    .bind(new.ticket_id)
    .bind(new.kind.as_str())
    .bind(&new.mail.to)
    .bind(&new.mail.subject)
    .bind(&new.mail.text)
    .bind(&new.mail.html)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(MessageId(id))
}

/// Claims the oldest pending message due by `due_by` for one attempt: its next attempt
/// moves to `lease_until` (so should this process die mid-send, another try comes then) and
/// its attempts count goes up by one. Returns the message as it was before the claim.
///
/// Call it in a [`db::begin_claim`] transaction and commit before sending: on PostgreSQL a
/// message another instance is claiming is skipped, not waited for, so instances take
/// different messages; SQLite's transaction is the only writer already.
pub async fn claim_next(
    conn: &mut impl Connection,
    due_by: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<Option<Message>, sqlx::Error> {
    let row = db::query_per_backend(
        &format!(
            "SELECT {COLUMNS} FROM outbox_messages WHERE state = 'pending' AND next_attempt_at <= $1
             ORDER BY next_attempt_at, created_at LIMIT 1"
        ),
        &format!(
            "SELECT {COLUMNS} FROM outbox_messages WHERE state = 'pending' AND next_attempt_at <= $1
             ORDER BY next_attempt_at, created_at LIMIT 1
             FOR UPDATE SKIP LOCKED"
        ),
    )
    .bind(due_by)
    .fetch_optional_as::<MessageRow>(&mut *conn)
    .await?;
    let Some(message) = row.map(Message::try_from).transpose()? else {
        return Ok(None);
    };
    db::query(
        "UPDATE outbox_messages SET next_attempt_at = $1, attempts = attempts + 1 WHERE id = $2",
    )
    .bind(lease_until)
    .bind(message.id.0)
    .execute(conn)
    .await?;
    Ok(Some(message))
}

pub async fn mark_delivered(
    conn: &mut impl Connection,
    id: MessageId,
    transport: &str,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE outbox_messages SET state = 'delivered', transport = $1, delivered_at = $2, last_error = NULL
         WHERE id = $3",
    )
    .bind(transport)
    .bind(OffsetDateTime::now_utc())
    .bind(id.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Blanks one message's body (a link mail delivered by SMTP, or given up).
pub async fn remove_link(conn: &mut impl Connection, id: MessageId) -> Result<(), sqlx::Error> {
    db::query("UPDATE outbox_messages SET body_text = $1, body_html = $2 WHERE id = $3")
        .bind(compose::LINK_REMOVED)
        .bind(compose::placeholder_html(compose::LINK_REMOVED))
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// The verification's link ended (verified, failed, expired, cancelled): its link mails
/// lose the link, wherever they are (the development mailbox shows them until now, so a
/// developer can click it). One still waiting to be sent is not sent any more: a dead
/// link helps no one. Returns how many mails were changed.
pub async fn link_ended(
    conn: &mut impl Connection,
    verification_id: Uuid,
) -> Result<u64, sqlx::Error> {
    db::query(
        "UPDATE outbox_messages SET state = 'failed', last_error = $1
         WHERE verification_id = $2 AND kind = 'link' AND state = 'pending'",
    )
    .bind("The link ended before the mail was delivered.")
    .bind(verification_id)
    .execute(&mut *conn)
    .await?;
    let done = db::query(
        "UPDATE outbox_messages SET body_text = $1, body_html = $2
         WHERE verification_id = $3 AND kind = 'link' AND body_text <> $4",
    )
    .bind(compose::LINK_REMOVED)
    .bind(compose::placeholder_html(compose::LINK_REMOVED))
    .bind(verification_id)
    .bind(compose::LINK_REMOVED)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The attempt failed: try again at `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut impl Connection,
    id: MessageId,
    next_attempt_at: OffsetDateTime,
    error: &str,
) -> Result<(), sqlx::Error> {
    db::query("UPDATE outbox_messages SET next_attempt_at = $1, last_error = $2 WHERE id = $3")
        .bind(next_attempt_at)
        .bind(error)
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every attempt failed: give up.
pub async fn mark_failed(
    conn: &mut impl Connection,
    id: MessageId,
    error: &str,
) -> Result<(), sqlx::Error> {
    db::query("UPDATE outbox_messages SET state = 'failed', last_error = $1 WHERE id = $2")
        .bind(error)
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// The organization's messages delivered to the development mailbox, newest first.
pub async fn mailbox(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM outbox_messages
         WHERE organization_id = $1 AND transport = 'mailbox'
         ORDER BY delivered_at DESC, created_at DESC LIMIT $2"
    ))
    .bind(organization_id.0)
    .bind(limit)
    .fetch_all_as::<MessageRow>(conn)
    .await?;
    rows.into_iter().map(Message::try_from).collect()
}

/// The mails about their own account delivered to the development mailbox for `recipient`,
/// newest first: what an account whose address is not confirmed yet may read there (its
/// confirmation link), and nothing else of the organization's.
pub async fn account_mailbox(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    recipient: &str,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM outbox_messages
         WHERE organization_id = $1 AND recipient = $2 AND kind = 'account' AND transport = 'mailbox'
         ORDER BY delivered_at DESC, created_at DESC LIMIT $3"
    ))
    .bind(organization_id.0)
    .bind(recipient)
    .bind(limit)
    .fetch_all_as::<MessageRow>(conn)
    .await?;
    rows.into_iter().map(Message::try_from).collect()
}
