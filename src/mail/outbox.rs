//! SQL for the outbox. A message is enqueued inside the transaction of its cause; the worker
//! claims a due message by pushing its next attempt past a lease (so two processes never
//! send it at the same moment), then records the outcome.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{DeliveryState, Mail, Message, MessageId, MessageKind};
use crate::accounts::OrganizationId;

const COLUMNS: &str = "id, organization_id, verification_id, ticket_id, kind, recipient, subject, body_text, body_html, \
     state, attempts, next_attempt_at, last_error, transport, created_at, delivered_at";

fn message_from_row(row: &SqliteRow) -> Result<Message, sqlx::Error> {
    let decode = |what: &str| sqlx::Error::Decode(format!("outbox {what}").into());
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        organization_id: OrganizationId(row.try_get("organization_id")?),
        verification_id: row.try_get("verification_id")?,
        ticket_id: row.try_get("ticket_id")?,
        kind: MessageKind::parse(&kind).ok_or_else(|| decode("kind"))?,
        mail: Mail {
            to: row.try_get("recipient")?,
            subject: row.try_get("subject")?,
            text: row.try_get("body_text")?,
            html: row.try_get("body_html")?,
        },
        state: DeliveryState::parse(&state).ok_or_else(|| decode("state"))?,
        attempts: row.try_get::<i64, _>("attempts")?.max(0) as u32,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        transport: row.try_get("transport")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
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
    conn: &mut SqliteConnection,
    new: NewMessage<'_>,
) -> Result<MessageId, sqlx::Error> {
    let id = Uuid::new_v4();
    let now = OffsetDateTime::now_utc();
    sqlx::query(
        "INSERT INTO outbox_messages (id, organization_id, verification_id, ticket_id, kind, recipient, subject,
           body_text, body_html, state, attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
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

/// Pending messages whose next attempt is due, oldest first.
pub async fn due(
    conn: &mut SqliteConnection,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM outbox_messages WHERE state = 'pending' AND next_attempt_at <= ?
         ORDER BY next_attempt_at, created_at LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(message_from_row).collect()
}

/// Takes `message` for one attempt: its next attempt moves to `lease_until`, so should this
/// process die mid-send, another try comes then. False when someone else took it first.
pub async fn claim(
    conn: &mut SqliteConnection,
    message: &Message,
    lease_until: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE outbox_messages SET next_attempt_at = ?, attempts = attempts + 1
         WHERE id = ? AND state = 'pending' AND attempts = ?",
    )
    .bind(lease_until)
    .bind(message.id.0)
    .bind(i64::from(message.attempts))
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn mark_delivered(
    conn: &mut SqliteConnection,
    id: MessageId,
    transport: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox_messages SET state = 'delivered', transport = ?, delivered_at = ?, last_error = NULL
         WHERE id = ?",
    )
    .bind(transport)
    .bind(OffsetDateTime::now_utc())
    .bind(id.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// The attempt failed: try again at `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut SqliteConnection,
    id: MessageId,
    next_attempt_at: OffsetDateTime,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox_messages SET next_attempt_at = ?, last_error = ? WHERE id = ?")
        .bind(next_attempt_at)
        .bind(error)
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every attempt failed: give up.
pub async fn mark_failed(
    conn: &mut SqliteConnection,
    id: MessageId,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox_messages SET state = 'failed', last_error = ? WHERE id = ?")
        .bind(error)
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// The organization's messages delivered to the development mailbox, newest first.
pub async fn mailbox(
    conn: &mut SqliteConnection,
    organization_id: OrganizationId,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM outbox_messages
         WHERE organization_id = ? AND transport = 'mailbox'
         ORDER BY delivered_at DESC, created_at DESC LIMIT ?"
    ))
    .bind(organization_id.0)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(message_from_row).collect()
}
