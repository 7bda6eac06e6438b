//! SQL for verifications, their Microsoft requests and their events. Reads of
//! organization data take the organization id; lookups by link or request id are
//! lookups by a capability (a secret or our own random id).

use time::OffsetDateTime;
use uuid::Uuid;

use super::alignment::Evidence;
use super::status::Status;
use super::{Event, Verification};
use crate::accounts::{OrganizationId, UserId};
use crate::db::{self, Connection, Row};
use crate::email::EmailAddress;

const COLUMNS: &str = "id, organization_id, created_by, ticket_id, created_by_name, recipient_email, ticket_reference, note, link_expires_at, \
     status, failure_reason, failed_attempts, evidence, created_at, updated_at, completed_at";

fn verification_from_row(row: &Row) -> Result<Verification, sqlx::Error> {
    let decode = |what: &str| sqlx::Error::Decode(format!("verification {what}").into());
    let status: String = row.try_get("status")?;
    let reason: Option<String> = row.try_get("failure_reason")?;
    let email: String = row.try_get("recipient_email")?;
    let evidence: Option<String> = row.try_get("evidence")?;
    Ok(Verification {
        id: row.try_get("id")?,
        organization_id: OrganizationId(row.try_get("organization_id")?),
        created_by: row.try_get::<Option<Uuid>, _>("created_by")?.map(UserId),
        ticket_id: row.try_get("ticket_id")?,
        created_by_name: row.try_get("created_by_name")?,
        recipient: EmailAddress::parse(&email).map_err(|_| decode("email"))?,
        ticket_reference: row.try_get("ticket_reference")?,
        note: row.try_get("note")?,
        link_expires_at: row.try_get("link_expires_at")?,
        status: Status::from_stored(&status, reason.as_deref()).ok_or_else(|| decode("status"))?,
        failed_attempts: row.try_get::<i64, _>("failed_attempts")? as u32,
        evidence: evidence
            .map(|json| serde_json::from_str::<Evidence>(&json))
            .transpose()
            .map_err(|_| decode("evidence"))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        completed_at: row.try_get("completed_at")?,
    })
}

pub struct NewVerification<'a> {
    pub organization_id: OrganizationId,
    pub created_by: Option<UserId>,
    pub created_by_name: &'a str,
    pub recipient: &'a EmailAddress,
    pub ticket_id: Option<Uuid>,
    pub ticket_reference: Option<&'a str>,
    pub note: Option<&'a str>,
    pub link_hash: &'a str,
    pub link_expires_at: OffsetDateTime,
}

pub async fn insert(
    conn: &mut impl Connection,
    new: NewVerification<'_>,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    let now = OffsetDateTime::now_utc();
    db::query(
        "INSERT INTO verifications (id, organization_id, created_by, created_by_name, recipient_email, ticket_id,
           ticket_reference, note, link_hash, link_expires_at, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'created', $11, $12)",
    )
    .bind(id)
    .bind(new.organization_id.0)
    .bind(new.created_by.map(|u| u.0))
    .bind(new.created_by_name)
    .bind(new.recipient.as_str())
    .bind(new.ticket_id)
    .bind(new.ticket_reference)
    .bind(new.note)
    .bind(new.link_hash)
    .bind(new.link_expires_at)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn by_link_hash(
    conn: &mut impl Connection,
    link_hash: &str,
) -> Result<Option<Verification>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM verifications WHERE link_hash = $1"
    ))
    .bind(link_hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(verification_from_row).transpose()
}

pub async fn by_id(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    id: Uuid,
) -> Result<Option<Verification>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM verifications WHERE id = $1 AND organization_id = $2"
    ))
    .bind(id)
    .bind(organization_id.0)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(verification_from_row).transpose()
}

pub async fn recent(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    limit: i64,
) -> Result<Vec<Verification>, sqlx::Error> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM verifications WHERE organization_id = $1 ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(organization_id.0)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(verification_from_row).collect()
}

/// The verifications of one ticket, newest first.
pub async fn of_ticket(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    ticket_id: Uuid,
) -> Result<Vec<Verification>, sqlx::Error> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM verifications WHERE organization_id = $1 AND ticket_id = $2 ORDER BY created_at DESC"
    ))
    .bind(organization_id.0)
    .bind(ticket_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(verification_from_row).collect()
}

/// Active verifications whose link has expired, any organization, at most `limit`: the
/// sweeper's batch, locked until its transaction ends. On PostgreSQL rows another sweep
/// (or a callback) holds are skipped, not waited for; SQLite's transaction is the only
/// writer already.
pub async fn claim_overdue(
    conn: &mut impl Connection,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Verification>, sqlx::Error> {
    let rows = db::query_per_backend(
        &format!(
            "SELECT {COLUMNS} FROM verifications
             WHERE status IN ('created', 'opened', 'requested', 'scanned') AND link_expires_at <= $1
             ORDER BY link_expires_at LIMIT $2"
        ),
        &format!(
            "SELECT {COLUMNS} FROM verifications
             WHERE status IN ('created', 'opened', 'requested', 'scanned') AND link_expires_at <= $1
             ORDER BY link_expires_at LIMIT $2
             FOR UPDATE SKIP LOCKED"
        ),
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(verification_from_row).collect()
}

pub async fn active_of_organization(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Vec<Verification>, sqlx::Error> {
    let rows = db::query(&format!(
        "SELECT {COLUMNS} FROM verifications
         WHERE organization_id = $1 AND status IN ('created', 'opened', 'requested', 'scanned')"
    ))
    .bind(organization_id.0)
    .fetch_all(conn)
    .await?;
    rows.iter().map(verification_from_row).collect()
}

/// Writes a new status (and what goes with it). Guarded by the old status, so two
/// concurrent transitions cannot both apply.
pub async fn update_status(
    conn: &mut impl Connection,
    verification: &Verification,
    status: Status,
    failed_attempts: u32,
    evidence: Option<&Evidence>,
) -> Result<bool, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    let evidence = match evidence {
        Some(e) => Some(serde_json::to_string(e).map_err(|e| sqlx::Error::Encode(Box::new(e)))?),
        None => None,
    };
    let result = db::query(
        "UPDATE verifications SET status = $1, failure_reason = $2, failed_attempts = $3,
           evidence = COALESCE($4, evidence), updated_at = $5, completed_at = $6
         WHERE id = $7 AND status = $8 AND failed_attempts = $9",
    )
    .bind(status.as_str())
    .bind(status.failure_reason().map(|r| r.as_str()))
    .bind(failed_attempts as i64)
    .bind(evidence)
    .bind(now)
    .bind(status.is_terminal().then_some(now))
    .bind(verification.id)
    .bind(verification.status.as_str())
    .bind(verification.failed_attempts as i64)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn insert_event(
    conn: &mut impl Connection,
    verification: &Verification,
    kind: &str,
    status: Status,
    message: &str,
) -> Result<i64, sqlx::Error> {
    // PostgreSQL: the event and its notice to every instance in one statement, so the
    // notice goes out exactly when (and only if) the event commits. See `relay`.
    db::query_per_backend(
        "INSERT INTO verification_events (verification_id, organization_id, kind, status, message, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        "WITH event AS (
           INSERT INTO verification_events (verification_id, organization_id, kind, status, message, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, verification_id
         )
         SELECT id, pg_notify('traceless_verification_events', verification_id::text || ' ' || id::text)
         FROM event",
    )
    .bind(verification.id)
    .bind(verification.organization_id.0)
    .bind(kind)
    .bind(status.as_str())
    .bind(message)
    .bind(OffsetDateTime::now_utc())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Events of one verification with an id above `after`, oldest first.
pub async fn events_after(
    conn: &mut impl Connection,
    verification_id: Uuid,
    after: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    let rows = db::query(
        "SELECT id, kind, status, message, created_at FROM verification_events
         WHERE verification_id = $1 AND id > $2 ORDER BY id",
    )
    .bind(verification_id)
    .bind(after)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Event {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                status: row.try_get("status")?,
                message: row.try_get("message")?,
                at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// The id of a verification's newest event (0 when it has none).
pub async fn last_event_id(
    conn: &mut impl Connection,
    verification_id: Uuid,
) -> Result<i64, sqlx::Error> {
    db::query(
        "SELECT COALESCE(MAX(id), 0) AS last FROM verification_events WHERE verification_id = $1",
    )
    .bind(verification_id)
    .fetch_one(conn)
    .await?
    .try_get("last")
}

/// A verification's newest event, if it has any.
pub async fn newest_event(
    conn: &mut impl Connection,
    verification_id: Uuid,
) -> Result<Option<Event>, sqlx::Error> {
    let row = db::query(
        "SELECT id, kind, status, message, created_at FROM verification_events
         WHERE verification_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(verification_id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(Event {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            status: row.try_get("status")?,
            message: row.try_get("message")?,
            at: row.try_get("created_at")?,
        })
    })
    .transpose()
}

pub struct NewRequest<'a> {
    pub id: Uuid,
    pub verification: &'a Verification,
    pub microsoft_request_id: &'a str,
    pub api_key_hash: &'a str,
    pub url: &'a str,
    pub expires_at: OffsetDateTime,
    /// The Face Check threshold asked for, if any.
    pub face_check_threshold: Option<u8>,
}

pub async fn insert_request(
    conn: &mut impl Connection,
    new: NewRequest<'_>,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO presentation_requests (id, verification_id, organization_id, microsoft_request_id, api_key_hash, url, expires_at, created_at, face_check_threshold)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.id)
    .bind(new.verification.id)
    .bind(new.verification.organization_id.0)
    .bind(new.microsoft_request_id)
    .bind(new.api_key_hash)
    .bind(new.url)
    .bind(new.expires_at)
    .bind(OffsetDateTime::now_utc())
    .bind(new.face_check_threshold.map(i64::from))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct StoredRequest {
    pub id: Uuid,
    pub verification_id: Uuid,
    pub organization_id: OrganizationId,
    pub microsoft_request_id: String,
    pub api_key_hash: String,
    pub url: String,
    pub expires_at: OffsetDateTime,
    pub state: String,
    /// The Face Check threshold the request asked for, if any.
    pub face_check_threshold: Option<u8>,
}

fn request_from_row(row: &Row) -> Result<StoredRequest, sqlx::Error> {
    Ok(StoredRequest {
        id: row.try_get("id")?,
        verification_id: row.try_get("verification_id")?,
        organization_id: OrganizationId(row.try_get("organization_id")?),
        microsoft_request_id: row.try_get("microsoft_request_id")?,
        api_key_hash: row.try_get("api_key_hash")?,
        url: row.try_get("url")?,
        expires_at: row.try_get("expires_at")?,
        state: row.try_get("state")?,
        face_check_threshold: row
            .try_get::<Option<i64>, _>("face_check_threshold")?
            .and_then(|t| u8::try_from(t).ok()),
    })
}

const REQUEST_COLUMNS: &str = "id, verification_id, organization_id, microsoft_request_id, api_key_hash, url, expires_at, state, face_check_threshold";

pub async fn request(
    conn: &mut impl Connection,
    id: Uuid,
) -> Result<Option<StoredRequest>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM presentation_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

/// The newest request of a verification, if any.
pub async fn latest_request(
    conn: &mut impl Connection,
    verification_id: Uuid,
) -> Result<Option<StoredRequest>, sqlx::Error> {
    let row = db::query_per_backend(
        &format!("SELECT {REQUEST_COLUMNS} FROM presentation_requests WHERE verification_id = $1 ORDER BY created_at DESC, rowid DESC LIMIT 1"),
        &format!("SELECT {REQUEST_COLUMNS} FROM presentation_requests WHERE verification_id = $1 ORDER BY created_at DESC, seq DESC LIMIT 1"),
    )
    .bind(verification_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

/// Moves a request from `from` to `to`; false when it was no longer in `from`.
pub async fn set_request_state(
    conn: &mut impl Connection,
    id: Uuid,
    from: &str,
    to: &str,
) -> Result<bool, sqlx::Error> {
    let result =
        db::query("UPDATE presentation_requests SET state = $1 WHERE id = $2 AND state = $3")
            .bind(to)
            .bind(id)
            .bind(from)
            .execute(conn)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// The organization's verification settings: link lifetime (hours) and Face Check threshold.
pub async fn organization_settings(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<(i64, Option<i64>, String), sqlx::Error> {
    let row = db::query("SELECT verification_link_hours, face_check_threshold, name FROM organizations WHERE id = $1")
        .bind(organization_id.0)
        .fetch_one(conn)
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}

pub async fn set_organization_settings(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    link_hours: i64,
    face_check_threshold: Option<i64>,
) -> Result<(), sqlx::Error> {
    db::query("UPDATE organizations SET verification_link_hours = $1, face_check_threshold = $2 WHERE id = $3")
        .bind(link_hours)
        .bind(face_check_threshold)
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// One page of an organization's verifications, newest first, optionally of one ticket
/// reference and one status, after the cursor `(created_at, id)` of the previous page's last.
pub async fn page(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    filter: &super::ListFilter,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<Verification>, sqlx::Error> {
    let mut sql = format!("SELECT {COLUMNS} FROM verifications WHERE organization_id = $1");
    let mut n = 1;
    let mut next = || {
        n += 1;
        n
    };
    if filter.ticket_reference.is_some() {
        sql.push_str(&format!(" AND ticket_reference = ${}", next()));
    }
    if filter.status.is_some() {
        sql.push_str(&format!(" AND status = ${}", next()));
    }
    if after.is_some() {
        let (at, id) = (next(), next());
        sql.push_str(&format!(
            " AND (created_at < ${at} OR (created_at = ${at} AND id < ${id}))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT ${}",
        next()
    ));
    let mut query = db::query(&sql).bind(organization_id.0);
    if let Some(ticket) = &filter.ticket_reference {
        query = query.bind(ticket.as_str());
    }
    if let Some(status) = filter.status {
        query = query.bind(status);
    }
    if let Some((at, id)) = after {
        query = query.bind(at).bind(id);
    }
    let rows = query.bind(limit).fetch_all(conn).await?;
    rows.iter().map(verification_from_row).collect()
}
