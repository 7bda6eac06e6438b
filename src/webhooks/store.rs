//! SQL for webhook endpoints, deliveries and attempts. Reads for admins take the
//! organization id; the worker's reads span organizations (it sends for all of them).

use crate::db::{self, Connection, Row};
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

fn endpoint_from_row(row: &Row) -> Result<Endpoint, sqlx::Error> {
    let types: String = row.try_get("event_types")?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        organization_id: OrganizationId(row.try_get("organization_id")?),
        url: row.try_get("url")?,
        event_types: event_types(&types),
        verification_id: row.try_get("verification_id")?,
        created_by_name: row.try_get("created_by_name")?,
        created_at: row.try_get("created_at")?,
        failing_since: row.try_get("failing_since")?,
        disabled_at: row.try_get("disabled_at")?,
        disabled_reason: row.try_get("disabled_reason")?,
    })
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
    .fetch_all(conn)
    .await?;
    rows.iter().map(endpoint_from_row).collect()
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
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(endpoint_from_row).transpose()
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
    .fetch_all(conn)
    .await?;
    let mut ids = Vec::new();
    for row in rows {
        let types: String = row.try_get("event_types")?;
        if event_types(&types).contains(&event_type) {
            ids.push(row.try_get("id")?);
        }
    }
    Ok(ids)
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

fn delivery_from_row(row: &Row) -> Result<Delivery, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        verification_id: row.try_get("verification_id")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| sqlx::Error::Decode("delivery state".into()))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        next_attempt_at: row.try_get("next_attempt_at")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
    })
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
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(delivery_from_row).transpose()
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
    .fetch_all(conn)
    .await?;
    rows.iter().map(delivery_from_row).collect()
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
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            attempts.push(Attempt {
                delivery_id: row.try_get("delivery_id")?,
                attempted_at: row.try_get("attempted_at")?,
                status_code: row
                    .try_get::<Option<i64>, _>("status_code")?
                    .and_then(|c| u16::try_from(c).ok()),
                latency_ms: row.try_get::<i64, _>("latency_ms")?.max(0) as u64,
                response_excerpt: row.try_get("response_excerpt")?,
            });
        }
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
#[derive(Debug, Clone)]
pub struct Due {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub endpoint_id: Uuid,
    pub url: String,
    pub secret: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
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
    .fetch_all(conn)
    .await?;
    rows.iter().map(|row| row.try_get("endpoint_id")).collect()
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
    let row = db::query_per_backend(DUE_SQL, &format!("{DUE_SQL} FOR UPDATE OF d SKIP LOCKED"))
        .bind(endpoint_id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let due = Due {
        id: row.try_get("id")?,
        organization_id: OrganizationId(row.try_get("organization_id")?),
        endpoint_id: row.try_get("endpoint_id")?,
        url: row.try_get("url")?,
        secret: row.try_get("secret")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        payload: row.try_get("payload")?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        retry_from: row.try_get("retry_from")?,
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
