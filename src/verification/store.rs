//! SQL for verifications, their Microsoft requests and their events. Reads of
//! organization data take the organization id; lookups by link or request id are
//! lookups by a capability (a secret or our own random id).

use time::OffsetDateTime;
use uuid::Uuid;

use super::alignment::Evidence;
use super::status::{EventKind, FailureReason, RequestState, Status, StatusName};
use super::{Event, Verification};
use crate::accounts::{OrganizationId, UserId};
use crate::db::{self, Connection, Word};
use crate::email::EmailAddress;

const COLUMNS: &str = "id, organization_id, created_by, ticket_id, created_by_name, recipient_email, ticket_reference, note, link_expires_at, \
     status, failure_reason, failed_attempts, evidence, created_at, updated_at, completed_at";

/// A `verifications` row as stored ([`COLUMNS`]).
#[derive(sqlx::FromRow)]
struct VerificationRow {
    id: Uuid,
    organization_id: Uuid,
    created_by: Option<Uuid>,
    ticket_id: Option<Uuid>,
    created_by_name: String,
    recipient_email: String,
    ticket_reference: Option<String>,
    note: Option<String>,
    link_expires_at: OffsetDateTime,
    status: Word<StatusName>,
    failure_reason: Option<Word<FailureReason>>,
    failed_attempts: i64,
    evidence: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    completed_at: Option<OffsetDateTime>,
}

impl TryFrom<VerificationRow> for Verification {
    type Error = sqlx::Error;

    fn try_from(row: VerificationRow) -> Result<Self, sqlx::Error> {
        let decode = |what: &str| sqlx::Error::Decode(format!("verification {what}").into());
        Ok(Verification {
            id: row.id,
            organization_id: OrganizationId(row.organization_id),
            created_by: row.created_by.map(UserId),
            ticket_id: row.ticket_id,
            created_by_name: row.created_by_name,
            recipient: EmailAddress::parse(&row.recipient_email).map_err(|_| decode("email"))?,
            ticket_reference: row.ticket_reference,
            note: row.note,
            link_expires_at: row.link_expires_at,
            status: Status::from_stored(row.status.0, row.failure_reason.map(|r| r.0))
                .ok_or_else(|| decode("status"))?,
            failed_attempts: row.failed_attempts as u32,
            evidence: row
                .evidence
                .map(|json| serde_json::from_str::<Evidence>(&json))
                .transpose()
                .map_err(|_| decode("evidence"))?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            completed_at: row.completed_at,
        })
    }
}

/// The statuses a verification can still leave, as SQL (checked against the vocabulary by a
/// test below).
const ACTIVE: &str = "'created', 'opened', 'requested', 'scanned'";

fn verifications(rows: Vec<VerificationRow>) -> Result<Vec<Verification>, sqlx::Error> {
    rows.into_iter().map(Verification::try_from).collect()
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

/// "Then issue a Temporary Access Pass", decided at send time: the recovery is requested
/// (`crate::recovery` moves it on once the person's page asks for the pass).
pub async fn insert_recovery_request(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    verification_id: Uuid,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO verification_recoveries (verification_id, organization_id, state, updated_at)
         VALUES ($1, $2, 'requested', $3)",
    )
    .bind(verification_id)
    .bind(organization_id.0)
    .bind(OffsetDateTime::now_utc())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn by_link_hash(
    conn: &mut impl Connection,
    link_hash: &str,
) -> Result<Option<Verification>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {COLUMNS} FROM verifications WHERE link_hash = $1"
    ))
    .bind(link_hash)
    .fetch_optional_as::<VerificationRow>(conn)
    .await?;
    row.map(Verification::try_from).transpose()
}

/// Begins a write on one verification: its row is locked `FOR UPDATE` before anything is
/// read (PostgreSQL), so changes to one verification (callbacks, page loads, cancels, the
/// expiry sweep, which skips rows held here) run one at a time and changes to others in
/// parallel; the ticket's row is then locked by the first timeline entry
/// (`tickets::store::insert_entry`), always after the verification's, never before.
/// SQLite's `BEGIN IMMEDIATE` is its only writer: nothing to add there.
pub async fn begin_on(pool: &db::Pool, id: Uuid) -> Result<db::WriteTx, sqlx::Error> {
    let mut tx = db::begin_write(pool, db::Lock::Rows).await?;
    if let db::Handle::Postgres(conn) = tx.handle() {
        sqlx::query("SELECT 1 FROM verifications WHERE id = $1 FOR UPDATE")
            .bind(id)
            .execute(conn)
            .await?;
    }
    Ok(tx)
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
    .fetch_optional_as::<VerificationRow>(conn)
    .await?;
    row.map(Verification::try_from).transpose()
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
    .fetch_all_as(conn)
    .await?;
    verifications(rows)
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
    .fetch_all_as(conn)
    .await?;
    verifications(rows)
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
             WHERE status IN ({ACTIVE}) AND link_expires_at <= $1
             ORDER BY link_expires_at LIMIT $2"
        ),
        &format!(
            "SELECT {COLUMNS} FROM verifications
             WHERE status IN ({ACTIVE}) AND link_expires_at <= $1
             ORDER BY link_expires_at LIMIT $2
             FOR UPDATE SKIP LOCKED"
        ),
    )
    .bind(now)
    .bind(limit)
    .fetch_all_as(conn)
    .await?;
    verifications(rows)
}

pub async fn active_of_organization(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Vec<Verification>, sqlx::Error> {
    // Locked (PostgreSQL): a callback under way finishes first, and none starts on these
    // until the caller's transaction ends, so each is moved from the status it has.
    let sql = format!(
        "SELECT {COLUMNS} FROM verifications
         WHERE organization_id = $1 AND status IN ({ACTIVE}) ORDER BY id"
    );
    let rows = db::query_per_backend(&sql, &format!("{sql} FOR UPDATE"))
        .bind(organization_id.0)
        .fetch_all_as(conn)
        .await?;
    verifications(rows)
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
    .bind(Word(status.name()))
    .bind(status.failure_reason().map(Word))
    .bind(failed_attempts as i64)
    .bind(evidence)
    .bind(now)
    .bind(status.is_terminal().then_some(now))
    .bind(verification.id)
    .bind(Word(verification.status.name()))
    .bind(verification.failed_attempts as i64)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn insert_event(
    conn: &mut impl Connection,
    verification: &Verification,
    kind: EventKind,
    status: Status,
    message: &str,
) -> Result<i64, sqlx::Error> {
    // PostgreSQL: the event and its notice to every instance in one statement, so the
    // notice goes out exactly when (and only if) the event commits. See `live::postgres`.
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
    .bind(Word(kind))
    .bind(Word(status.name()))
    .bind(message)
    .bind(OffsetDateTime::now_utc())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// A `verification_events` row as read.
#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    kind: Word<EventKind>,
    status: Word<StatusName>,
    message: String,
    created_at: OffsetDateTime,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        Event {
            id: row.id,
            kind: row.kind.0,
            status: row.status.0,
            message: row.message,
            at: row.created_at,
        }
    }
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
    .fetch_all_as::<EventRow>(conn)
    .await?;
    Ok(rows.into_iter().map(Event::from).collect())
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
    .fetch_optional_as::<EventRow>(conn)
    .await?;
    Ok(row.map(Event::from))
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
    pub state: RequestState,
    /// The Face Check threshold the request asked for, if any.
    pub face_check_threshold: Option<u8>,
}

/// A `presentation_requests` row as stored ([`REQUEST_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct RequestRow {
    id: Uuid,
    verification_id: Uuid,
    organization_id: Uuid,
    microsoft_request_id: String,
    api_key_hash: String,
    url: String,
    expires_at: OffsetDateTime,
    state: Word<RequestState>,
    face_check_threshold: Option<i64>,
}

impl From<RequestRow> for StoredRequest {
    fn from(row: RequestRow) -> Self {
        StoredRequest {
            id: row.id,
            verification_id: row.verification_id,
            organization_id: OrganizationId(row.organization_id),
            microsoft_request_id: row.microsoft_request_id,
            api_key_hash: row.api_key_hash,
            url: row.url,
            expires_at: row.expires_at,
            state: row.state.0,
            face_check_threshold: row.face_check_threshold.and_then(|t| u8::try_from(t).ok()),
        }
    }
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
    .fetch_optional_as::<RequestRow>(conn)
    .await?;
    Ok(row.map(StoredRequest::from))
}

/// A callback's request and its verification, as the decision reads them.
pub struct CallbackSubject {
    pub request: StoredRequest,
    pub verification: Verification,
}

/// A `presentation_requests` row joined to its `verifications` row ([`SUBJECT_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct SubjectRow {
    request_id: Uuid,
    microsoft_request_id: String,
    api_key_hash: String,
    url: String,
    expires_at: OffsetDateTime,
    request_state: Word<RequestState>,
    request_face_check_threshold: Option<i64>,
    #[sqlx(flatten)]
    verification: VerificationRow,
}

const SUBJECT_COLUMNS: &str = "r.id AS request_id, r.microsoft_request_id, r.api_key_hash, r.url, r.expires_at, \
     r.state AS request_state, r.face_check_threshold AS request_face_check_threshold, \
     v.id, v.organization_id, v.created_by, v.ticket_id, v.created_by_name, v.recipient_email, v.ticket_reference, \
     v.note, v.link_expires_at, v.status, v.failure_reason, v.failed_attempts, v.evidence, v.created_at, \
     v.updated_at, v.completed_at";

/// Everything a callback's decision reads, in one statement: the request and its
/// verification. Called under the write lock (`begin_on`, or the SQLite group writer's
/// transaction), so both are what the previous writer committed. On PostgreSQL the lock is
/// taken by its own statement first: a `FOR UPDATE` on this join would hand back the
/// request's row as it was before the wait. `None`: the request or its verification is gone.
pub async fn callback_subject(
    conn: &mut impl Connection,
    request_id: Uuid,
) -> Result<Option<CallbackSubject>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {SUBJECT_COLUMNS} FROM presentation_requests r
         JOIN verifications v ON v.id = r.verification_id AND v.organization_id = r.organization_id
         WHERE r.id = $1"
    ))
    .bind(request_id)
    .fetch_optional_as::<SubjectRow>(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let verification = Verification::try_from(row.verification)?;
    let subject = CallbackSubject {
        request: StoredRequest {
            id: row.request_id,
            verification_id: verification.id,
            organization_id: verification.organization_id,
            microsoft_request_id: row.microsoft_request_id,
            api_key_hash: row.api_key_hash,
            url: row.url,
            expires_at: row.expires_at,
            state: row.request_state.0,
            face_check_threshold: row
                .request_face_check_threshold
                .and_then(|t| u8::try_from(t).ok()),
        },
        verification,
    };
    Ok(Some(subject))
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
    .fetch_optional_as::<RequestRow>(conn)
    .await?;
    Ok(row.map(StoredRequest::from))
}

/// Moves a request from `from` to `to`; false when it was no longer in `from`.
pub async fn set_request_state(
    conn: &mut impl Connection,
    id: Uuid,
    from: RequestState,
    to: RequestState,
) -> Result<bool, sqlx::Error> {
    let result =
        db::query("UPDATE presentation_requests SET state = $1 WHERE id = $2 AND state = $3")
            .bind(Word(to))
            .bind(id)
            .bind(Word(from))
            .execute(conn)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// The organization's verification settings: link lifetime (hours) and Face Check threshold.
pub async fn organization_settings(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<(i64, Option<i64>, String), sqlx::Error> {
    db::query("SELECT verification_link_hours, face_check_threshold, name FROM organizations WHERE id = $1")
        .bind(organization_id.0)
        .fetch_one_as(conn)
        .await
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
        query = query.bind(Word(status));
    }
    if let Some((at, id)) = after {
        query = query.bind(at).bind(id);
    }
    let rows = query.bind(limit).fetch_all_as(conn).await?;
    verifications(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_active_statuses_in_sql_are_the_vocabularys() {
        let active: Vec<String> = StatusName::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .map(|s| format!("'{s}'"))
            .collect();
        assert_eq!(ACTIVE, active.join(", "));
    }
}
