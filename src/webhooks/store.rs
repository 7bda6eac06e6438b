//! SQL for webhook endpoints, deliveries and attempts. Reads for admins take the
//! organization id; the worker's reads span organizations (it sends for all of them).

use crate::db::{self, Connection, Word};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Attempt, Delivery, DeliveryState, Endpoint, EventType};
use crate::accounts::OrganizationId;

const ENDPOINT_COLUMNS: &str = "id, organization_id, url, event_types, verification_id, created_by_name, created_at, \
     failing_since, disabled_at, disabled_reason";

fn event_types(stored: &str) -> Vec<EventType> {
    stored
        .split_whitespace()
        .filter_map(EventType::parse)
        .collect()
}

/// A `webhook_endpoints` row as read ([`ENDPOINT_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: Uuid,
    organization_id: Uuid,
    url: String,
    event_types: String,
    verification_id: Option<Uuid>,
    created_by_name: String,
    created_at: OffsetDateTime,
    failing_since: Option<OffsetDateTime>,
    disabled_at: Option<OffsetDateTime>,
    disabled_reason: Option<String>,
}

impl From<EndpointRow> for Endpoint {
    fn from(row: EndpointRow) -> Self {
        Endpoint {
            id: row.id,
            organization_id: OrganizationId(row.organization_id),
            url: row.url,
            event_types: event_types(&row.event_types),
            verification_id: row.verification_id,
            created_by_name: row.created_by_name,
            created_at: row.created_at,
            failing_since: row.failing_since,
            disabled_at: row.disabled_at,
            disabled_reason: row.disabled_reason,
        }
    }
}

pub async fn insert_endpoint(
    conn: &mut impl Connection,
    endpoint: &Endpoint,
    secret: &str,
) -> Result<(), sqlx::Error> {
    let types: Vec<&str> = endpoint.event_types.iter().map(|t| t.as_str()).collect();
    db::query(
        "INSERT INTO webhook_endpoints (id, organization_id, url, event_types, secret, verification_id, created_by_name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(endpoint.id)
    .bind(endpoint.organization_id.0)
    .bind(&endpoint.url)
    .bind(types.join(" "))
    .bind(secret)
    .bind(endpoint.verification_id)
    .bind(&endpoint.created_by_name)
    .bind(endpoint.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn endpoints_of_organization(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Vec<Endpoint>, sqlx::Error> {
    let rows = db::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
         WHERE organization_id = $1 AND verification_id IS NULL ORDER BY created_at DESC"
    ))
    .bind(organization_id.0)
    .fetch_all_as::<EndpointRow>(conn)
    .await?;
    Ok(rows.into_iter().map(Endpoint::from).collect())
}

pub async fn endpoint(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    id: Uuid,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND organization_id = $2"
    ))
    .bind(id)
    .bind(organization_id.0)
    .fetch_optional_as::<EndpointRow>(conn)
    .await?;
    Ok(row.map(Endpoint::from))
}

pub async fn delete_endpoint(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    id: Uuid,
) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM webhook_endpoints WHERE id = $1 AND organization_id = $2")
        .bind(id)
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Clears the endpoint's failure record and reschedules its waiting deliveries now.
pub async fn enable_endpoint(
    conn: &mut impl Connection,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    db::query(
        "UPDATE webhook_deliveries SET next_attempt_at = $1, retry_from = $2
         WHERE endpoint_id = $3 AND state = 'pending'",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Enabled endpoints that want `event_type` for this verification: the organization's own,
/// and the verification's per-request one.
pub async fn subscribed_endpoints(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    verification_id: Uuid,
    event_type: EventType,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = db::query(
        "SELECT id, event_types FROM webhook_endpoints
         WHERE organization_id = $1 AND disabled_at IS NULL
           AND (verification_id IS NULL OR verification_id = $2)",
    )
    .bind(organization_id.0)
    .bind(verification_id)
    .fetch_all_as(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, types): &(Uuid, String)| event_types(types).contains(&event_type))
        .map(|(id, _)| id)
        .collect())
}

pub struct NewDelivery<'a> {
    pub organization_id: OrganizationId,
    pub endpoint_id: Uuid,
    pub verification_id: Uuid,
    pub event_seq: i64,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub payload: &'a str,
    pub now: OffsetDateTime,
}

pub async fn insert_delivery(
    conn: &mut impl Connection,
    new: NewDelivery<'_>,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO webhook_deliveries (id, organization_id, endpoint_id, verification_id, event_seq, event_id,
           event_type, payload, state, next_attempt_at, created_at, retry_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11)",
    )
    .bind(Uuid::new_v4())
    .bind(new.organization_id.0)
    .bind(new.endpoint_id)
    .bind(new.verification_id)
    .bind(new.event_seq)
    .bind(new.event_id)
    .bind(new.event_type)
    .bind(new.payload)
    .bind(new.now)
    .bind(new.now)
    .bind(new.now)
    .execute(conn)
    .await?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, d.verification_id, d.event_id, d.event_type, d.state, d.attempts, \
     d.next_attempt_at, d.created_at, d.delivered_at";

/// A `webhook_deliveries` row as read ([`DELIVERY_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: Uuid,
    endpoint_id: Uuid,
    verification_id: Uuid,
    event_id: String,
    event_type: String,
    state: Word<DeliveryState>,
    attempts: i64,
    next_attempt_at: OffsetDateTime,
    created_at: OffsetDateTime,
    delivered_at: Option<OffsetDateTime>,
}

impl From<DeliveryRow> for Delivery {
    fn from(row: DeliveryRow) -> Self {
        Delivery {
            id: row.id,
            endpoint_id: row.endpoint_id,
            verification_id: row.verification_id,
            event_id: row.event_id,
            event_type: row.event_type,
            state: row.state.0,
            attempts: row.attempts as u32,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
        }
    }
}

pub async fn delivery(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    id: Uuid,
) -> Result<Option<Delivery>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = $1 AND d.organization_id = $2"
    ))
    .bind(id)
    .bind(organization_id.0)
    .fetch_optional_as::<DeliveryRow>(conn)
    .await?;
    Ok(row.map(Delivery::from))
}

pub async fn deliveries_of_endpoint(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    endpoint_id: Uuid,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = db::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
         WHERE d.endpoint_id = $1 AND d.organization_id = $2
         ORDER BY d.created_at DESC, d.event_seq DESC LIMIT $3"
    ))
    .bind(endpoint_id)
    .bind(organization_id.0)
    .bind(limit)
    .fetch_all_as::<DeliveryRow>(conn)
    .await?;
    Ok(rows.into_iter().map(Delivery::from).collect())
}

/// A `webhook_attempts` row as read.
#[derive(sqlx::FromRow)]
struct AttemptRow {
    delivery_id: Uuid,
    attempted_at: OffsetDateTime,
    status_code: Option<i64>,
    latency_ms: i64,
    response_excerpt: String,
}

impl From<AttemptRow> for Attempt {
    fn from(row: AttemptRow) -> Self {
        Attempt {
            delivery_id: row.delivery_id,
            attempted_at: row.attempted_at,
            status_code: row.status_code.and_then(|c| u16::try_from(c).ok()),
            latency_ms: row.latency_ms.max(0) as u64,
            response_excerpt: row.response_excerpt,
        }
    }
}

pub async fn attempts_of(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    delivery_ids: &[Uuid],
) -> Result<Vec<Attempt>, sqlx::Error> {
    let mut attempts = Vec::new();
    for id in delivery_ids {
        let rows = db::query(
            "SELECT delivery_id, attempted_at, status_code, latency_ms, response_excerpt FROM webhook_attempts
             WHERE delivery_id = $1 AND organization_id = $2 ORDER BY id",
        )
        .bind(id)
        .bind(organization_id.0)
        .fetch_all_as::<AttemptRow>(&mut *conn)
        .await?;
        attempts.extend(rows.into_iter().map(Attempt::from));
    }
    Ok(attempts)
}

/// Whether the retention job erased the delivery's payload (`crate::retention`).
pub async fn payload_erased(conn: &mut impl Connection, id: Uuid) -> Result<bool, sqlx::Error> {
    let payload: String = db::query("SELECT payload FROM webhook_deliveries WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await?
        .try_get(0)?;
    Ok(payload.is_empty())
}

pub async fn reschedule(
    conn: &mut impl Connection,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $1, retry_from = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery the worker may send now, with where and how.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub endpoint_id: Uuid,
    pub url: String,
    pub secret: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    #[sqlx(try_from = "i64")]
    pub attempts: u32,
    pub retry_from: OffsetDateTime,
}

const DUE_SQL: &str = "SELECT d.id, d.organization_id, d.endpoint_id, e.url, e.secret, d.event_id, d.event_type, d.payload,
            d.attempts, d.retry_from
     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
     WHERE d.endpoint_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2 AND e.disabled_at IS NULL
       AND NOT EXISTS (
         SELECT 1 FROM webhook_deliveries earlier
         WHERE earlier.endpoint_id = d.endpoint_id AND earlier.verification_id = d.verification_id
           AND earlier.event_seq < d.event_seq AND earlier.state = 'pending')
     ORDER BY d.next_attempt_at, d.event_seq LIMIT 1";

/// Enabled endpoints with a pending delivery whose time has come, the longest waiting
/// first: each gets a turn of its own in the worker.
pub async fn endpoints_with_due(
    conn: &mut impl Connection,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = db::query(
        "SELECT d.endpoint_id, MIN(d.next_attempt_at) AS waiting_since
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
         WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND e.disabled_at IS NULL
         GROUP BY d.endpoint_id ORDER BY waiting_since LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all_as(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(endpoint_id, _): (Uuid, OffsetDateTime)| endpoint_id)
        .collect())
}

/// Claims the next pending delivery of `endpoint_id` whose time has come, if the endpoint
/// is enabled and no earlier pending delivery of the same verification to it is waiting
/// before (in order), for one attempt: its next attempt moves to `lease_until`. Returned
/// as it was before the claim.
///
/// Call it in a [`db::begin_claim`] transaction and commit before sending: on PostgreSQL a
/// delivery another instance is claiming is skipped, not waited for (only the delivery
/// rows are locked, not their endpoints); an earlier delivery being sent elsewhere is
/// still pending, so the later one waits. SQLite's transaction is the only writer already.
pub async fn claim_due(
    conn: &mut impl Connection,
    endpoint_id: Uuid,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<Option<Due>, sqlx::Error> {
    let due = db::query_per_backend(DUE_SQL, &format!("{DUE_SQL} FOR UPDATE OF d SKIP LOCKED"))
        .bind(endpoint_id)
        .bind(now)
        .fetch_optional_as::<Due>(&mut *conn)
        .await?;
    let Some(due) = due else {
        return Ok(None);
    };
    db::query("UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id = $2")
        .bind(lease_until)
        .bind(due.id)
        .execute(conn)
        .await?;
    Ok(Some(due))
}

pub async fn insert_attempt(
    conn: &mut impl Connection,
    due: &Due,
    attempt: &Attempt,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO webhook_attempts (delivery_id, organization_id, attempted_at, status_code, latency_ms, response_excerpt)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(due.id)
    .bind(due.organization_id.0)
    .bind(attempt.attempted_at)
    .bind(attempt.status_code.map(i64::from))
    .bind(attempt.latency_ms as i64)
    .bind(&attempt.response_excerpt)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_delivered(
    conn: &mut impl Connection,
    due: &Due,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, delivered_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(due.id)
    .execute(&mut *conn)
    .await?;
    db::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
        .bind(due.endpoint_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt (made at `attempted_at`): retried at `retry_at`, or given up
/// (`None`). Returns when the endpoint started failing (the first failed attempt's start).
pub async fn mark_failed(
    conn: &mut impl Connection,
    due: &Due,
    attempted_at: OffsetDateTime,
    retry_at: Option<OffsetDateTime>,
) -> Result<OffsetDateTime, sqlx::Error> {
    match retry_at {
        Some(at) => {
            db::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1 WHERE id = $2",
            )
            .bind(at)
            .bind(due.id)
            .execute(&mut *conn)
            .await?
        }
        None => {
            db::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, state = 'failed' WHERE id = $1",
            )
            .bind(due.id)
            .execute(&mut *conn)
            .await?
        }
    };
    db::query(
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2",
    )
    .bind(attempted_at)
    .bind(due.endpoint_id)
    .execute(&mut *conn)
    .await?;
    db::query("SELECT failing_since FROM webhook_endpoints WHERE id = $1")
        .bind(due.endpoint_id)
        .fetch_one(conn)
        .await?
        .try_get(0)
}

/// Disables an endpoint; false when it already was.
pub async fn disable_endpoint(
    conn: &mut impl Connection,
    id: Uuid,
    now: OffsetDateTime,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let result = db::query(
        "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2 WHERE id = $3 AND disabled_at IS NULL",
    )
    .bind(now)
    .bind(reason)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// When a delivery was first tried since `since` (its retry window's start).
pub async fn first_attempt_since(
    conn: &mut impl Connection,
    delivery_id: Uuid,
    since: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    db::query(
        "SELECT MIN(attempted_at) FROM webhook_attempts WHERE delivery_id = $1 AND attempted_at >= $2",
    )
    .bind(delivery_id)
    .bind(since)
    .fetch_one(conn)
    .await?
    .try_get(0)
}
