//! SQL for tickets and their timeline entries. Every read takes the organization id.

use crate::db::{self, Connection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{EntryKind, Ticket, TicketId, TicketInput, TimelineEntry};
use crate::accounts::OrganizationId;

const COLUMNS: &str =
    "id, organization_id, reference, subject, requester_email, source, created_at, updated_at";

/// A `ticket_entries` row as read.
#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    verification_id: Option<Uuid>,
    kind: String,
    actor: String,
    detail: String,
    created_at: OffsetDateTime,
}

impl TryFrom<EntryRow> for TimelineEntry {
    type Error = sqlx::Error;

    fn try_from(row: EntryRow) -> Result<Self, sqlx::Error> {
        Ok(TimelineEntry {
            id: row.id,
            verification_id: row.verification_id,
            kind: EntryKind::parse(&row.kind)
                .ok_or_else(|| sqlx::Error::Decode("ticket entry kind".into()))?,
            actor: row.actor,
            detail: row.detail,
            at: row.created_at,
        })
    }
}

/// The organization's ticket with this reference, made now when there is none. A subject
/// or requester fills in what an earlier verification left empty, never overwrites.
pub async fn find_or_create(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    input: &TicketInput,
    default_requester: &str,
    source: &str,
) -> Result<TicketId, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    let requester = input
        .requester
        .as_ref()
        .map_or(default_requester, |r| r.as_str());
    // One statement, so two verifications of a new reference made at once (any instance)
    // meet at the unique (organization, reference) and share one ticket, never two.
    let id: Uuid = db::query(
        "INSERT INTO tickets (id, organization_id, reference, subject, requester_email, source, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (organization_id, reference) DO UPDATE SET
           subject = COALESCE(tickets.subject, excluded.subject),
           requester_email = COALESCE(tickets.requester_email, excluded.requester_email),
           updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(organization_id.0)
    .bind(input.reference.as_str())
    .bind(input.subject.as_deref())
    .bind(requester)
    .bind(source)
    .bind(now)
    .fetch_one(conn)
    .await?
    .try_get("id")?;
    Ok(TicketId(id))
}

pub async fn by_id(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    id: TicketId,
) -> Result<Option<Ticket>, sqlx::Error> {
    db::query(&format!(
        "SELECT {COLUMNS} FROM tickets WHERE id = $1 AND organization_id = $2"
    ))
    .bind(id.0)
    .bind(organization_id.0)
    .fetch_optional_as(conn)
    .await
}

pub async fn by_reference(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    reference: &str,
) -> Result<Option<Ticket>, sqlx::Error> {
    db::query(&format!(
        "SELECT {COLUMNS} FROM tickets WHERE organization_id = $1 AND reference = $2"
    ))
    .bind(organization_id.0)
    .bind(reference)
    .fetch_optional_as(conn)
    .await
}

/// The organization's tickets, most recently active first; `search` matches the start of
/// the reference, case-insensitively: `LOWER` on both sides, since SQLite's `LIKE` ignores
/// ASCII case and PostgreSQL's does not.
pub async fn recent(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    search: Option<&str>,
    limit: i64,
) -> Result<Vec<Ticket>, sqlx::Error> {
    let pattern = search.map(|s| {
        let escaped = s
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("{escaped}%")
    });
    db::query(&format!(
        "SELECT {COLUMNS} FROM tickets
         WHERE organization_id = $1 AND ($2 IS NULL OR LOWER(reference) LIKE LOWER($3) ESCAPE '\\')
         ORDER BY updated_at DESC LIMIT $4"
    ))
    .bind(organization_id.0)
    .bind(pattern.as_deref())
    .bind(pattern.as_deref())
    .bind(limit)
    .fetch_all_as(conn)
    .await
}

pub struct NewEntry<'a> {
    pub ticket_id: TicketId,
    pub organization_id: OrganizationId,
    pub verification_id: Option<Uuid>,
    pub kind: EntryKind,
    pub actor: &'a str,
    pub detail: &'a str,
}

pub async fn insert_entry(
    conn: &mut impl Connection,
    entry: NewEntry<'_>,
) -> Result<i64, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    // The ticket's row first: entries of one ticket (from its several verifications, each
    // under its own lock) are then numbered in the order they commit, so a stream that
    // resumes after an id never skips one committed later with a smaller id.
    db::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(entry.ticket_id.0)
        .execute(&mut *conn)
        .await?;
    // PostgreSQL: the entry and its notice to every instance in one statement (the ticket's
    // stream is keyed by the ticket's id in the relay), sent when the entry commits. See
    // `live::postgres`.
    let id: i64 = db::query_per_backend(
        "INSERT INTO ticket_entries (ticket_id, organization_id, verification_id, kind, actor, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        "WITH entry AS (
           INSERT INTO ticket_entries (ticket_id, organization_id, verification_id, kind, actor, detail, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, ticket_id
         )
         SELECT id, pg_notify('traceless_verification_events', ticket_id::text || ' ' || id::text)
         FROM entry",
    )
    .bind(entry.ticket_id.0)
    .bind(entry.organization_id.0)
    .bind(entry.verification_id)
    .bind(entry.kind.as_str())
    .bind(entry.actor)
    .bind(entry.detail)
    .bind(now)
    .fetch_one(conn)
    .await?
    .try_get("id")?;
    Ok(id)
}

/// The id of a ticket's newest entry (0 when it has none): where a live stream that was
/// asked to resume after a later id is clamped to.
pub async fn last_entry_id(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    ticket_id: TicketId,
) -> Result<i64, sqlx::Error> {
    db::query(
        "SELECT COALESCE(MAX(id), 0) AS last FROM ticket_entries
         WHERE ticket_id = $1 AND organization_id = $2",
    )
    .bind(ticket_id.0)
    .bind(organization_id.0)
    .fetch_one(conn)
    .await?
    .try_get("last")
}

/// A ticket's entries with an id above `after`, oldest first.
pub async fn entries_after(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    ticket_id: TicketId,
    after: i64,
) -> Result<Vec<TimelineEntry>, sqlx::Error> {
    let rows = db::query(
        "SELECT id, verification_id, kind, actor, detail, created_at FROM ticket_entries
         WHERE ticket_id = $1 AND organization_id = $2 AND id > $3 ORDER BY id",
    )
    .bind(ticket_id.0)
    .bind(organization_id.0)
    .bind(after)
    .fetch_all_as::<EntryRow>(conn)
    .await?;
    rows.into_iter().map(TimelineEntry::try_from).collect()
}
