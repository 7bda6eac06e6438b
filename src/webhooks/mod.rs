//! Signed webhooks to integrated tools: admins register endpoints (a URL, the event types
//! they want, a signing secret shown once); every verification state change becomes a
//! delivery per subscribed endpoint, written in the event's own transaction
//! ([`record_deliveries`], called by `crate::reactions`), then sent by the [`worker`] with retries, in order per verification.

pub mod address;
mod endpoint_url;
mod events;
pub mod guard;
pub mod signature;
mod store;
pub mod worker;

pub use endpoint_url::{EndpointUrl, InvalidUrl, MAX_URL_CHARS};
pub use events::{EventType, NewEvent, record_deliveries, subscribers};
pub use guard::Guard;

pub use crate::config::{HostOverrides, WebhookSettings};

use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::{OrganizationId, User};
use crate::audit::{self, Action};
use crate::db::{self, Pool};

impl WebhookSettings {
    /// The checks every webhook URL and connection goes through.
    pub fn guard(&self) -> Guard {
        Guard::new(self.allow_private, self.host_overrides.clone())
    }
}

/// The longest wait between two attempts.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub url: String,
    pub event_types: Vec<EventType>,
    /// Set for the `webhook_url` of one API request.
    pub verification_id: Option<Uuid>,
    pub created_by_name: String,
    pub created_at: OffsetDateTime,
    pub failing_since: Option<OffsetDateTime>,
    pub disabled_at: Option<OffsetDateTime>,
    pub disabled_reason: Option<String>,
}

/// An endpoint just registered, with its signing secret (shown once).
pub struct CreatedEndpoint {
    pub endpoint: Endpoint,
    pub secret: String,
}

pub use vocabulary::DeliveryState;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub verification_id: Uuid,
    /// The payload's `id`.
    pub event_id: String,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub delivery_id: Uuid,
    pub attempted_at: OffsetDateTime,
    /// `None`: no HTTP answer (refused, timed out).
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    pub response_excerpt: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("Only organization administrators can do this.")]
    NotAdmin,
    #[error(transparent)]
    InvalidUrl(#[from] InvalidUrl),
    #[error("Choose at least one event to send.")]
    NoEventTypes,
    #[error("{0:?} is not an event Traceless sends.")]
    UnknownEventType(String),
    #[error("That webhook endpoint was not found in your organization.")]
    NotFound,
    #[error("That delivery was not found in your organization.")]
    DeliveryNotFound,
    #[error("The endpoint is disabled: enable it first, then redeliver.")]
    EndpointDisabled,
    #[error(
        "This delivery is older than the retention period: its content was erased, so it cannot be sent again."
    )]
    Erased,
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

fn require_admin(user: &User) -> Result<(), WebhookError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(WebhookError::NotAdmin)
    }
}

/// Parses the chosen event types (their `as_str` names).
pub fn parse_event_types<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<EventType>, WebhookError> {
    let mut types = Vec::new();
    for name in names {
        let kind =
            EventType::parse(name).ok_or_else(|| WebhookError::UnknownEventType(name.into()))?;
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    if types.is_empty() {
        return Err(WebhookError::NoEventTypes);
    }
    Ok(types)
}

/// An admin registers an endpoint. A URL that can only lead into a private network is
/// refused here, with the reason ([`Guard::admit`]).
pub async fn add_endpoint(
    pool: &Pool,
    guard: &Guard,
    admin: &User,
    url: &str,
    event_types: Vec<EventType>,
) -> Result<CreatedEndpoint, WebhookError> {
    require_admin(admin)?;
    let url = guard.admit(url).await?;
    if event_types.is_empty() {
        return Err(WebhookError::NoEventTypes);
    }
    let secret = crate::api_keys::new_webhook_secret();
    let endpoint = Endpoint {
        id: Uuid::new_v4(),
        organization_id: admin.organization_id,
        url: url.as_str().to_owned(),
        event_types,
        verification_id: None,
        created_by_name: admin.display_name.clone(),
        created_at: OffsetDateTime::now_utc(),
        failing_since: None,
        disabled_at: None,
        disabled_reason: None,
    };
    // A new endpoint: nothing to exclude.
    let mut tx = db::begin_write(pool, db::Lock::Rows).await?;
    store::insert_endpoint(&mut tx, &endpoint, &secret).await?;
    audit::record(
        &mut tx,
        admin.organization_id,
        Some(admin),
        Action::WebhookEndpointAdded,
        &endpoint.url,
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedEndpoint { endpoint, secret })
}

/// The endpoint for one API request's `webhook_url`, signed with the API key's webhook
/// secret; written in the transaction that creates the verification.
pub async fn add_request_endpoint(
    conn: &mut impl crate::db::Connection,
    organization_id: OrganizationId,
    verification_id: Uuid,
    url: &EndpointUrl,
    secret: &str,
    created_by_name: &str,
) -> Result<(), sqlx::Error> {
    let endpoint = Endpoint {
        id: Uuid::new_v4(),
        organization_id,
        url: url.as_str().to_owned(),
        event_types: EventType::ALL.to_vec(),
        verification_id: Some(verification_id),
        created_by_name: created_by_name.to_owned(),
        created_at: OffsetDateTime::now_utc(),
        failing_since: None,
        disabled_at: None,
        disabled_reason: None,
    };
    store::insert_endpoint(conn, &endpoint, secret).await
}

/// The organization's endpoints (not the per-request ones), newest first.
pub async fn endpoints(pool: &Pool, admin: &User) -> Result<Vec<Endpoint>, WebhookError> {
    require_admin(admin)?;
    let mut conn = pool.acquire().await?;
    Ok(store::endpoints_of_organization(&mut conn, admin.organization_id).await?)
}

pub async fn remove_endpoint(pool: &Pool, admin: &User, id: Uuid) -> Result<(), WebhookError> {
    require_admin(admin)?;
    // The organization's lock: the endpoint's state is read, then changed with its audit line.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(admin.organization_id.0)),
    )
    .await?;
    let endpoint = store::endpoint(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(WebhookError::NotFound)?;
    store::delete_endpoint(&mut tx, admin.organization_id, id).await?;
    audit::record(
        &mut tx,
        admin.organization_id,
        Some(admin),
        Action::WebhookEndpointRemoved,
        &endpoint.url,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Turns a disabled endpoint back on: its waiting deliveries are tried again at once,
/// with a fresh retry window.
pub async fn enable_endpoint(pool: &Pool, admin: &User, id: Uuid) -> Result<(), WebhookError> {
    require_admin(admin)?;
    // The organization's lock: the endpoint's state is read, then changed with its audit line.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(admin.organization_id.0)),
    )
    .await?;
    let endpoint = store::endpoint(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(WebhookError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    store::enable_endpoint(&mut tx, id, now).await?;
    audit::record(
        &mut tx,
        admin.organization_id,
        Some(admin),
        Action::WebhookEndpointEnabled,
        &endpoint.url,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The newest deliveries of one endpoint with their attempts, newest first.
pub async fn deliveries(
    pool: &Pool,
    admin: &User,
    endpoint_id: Uuid,
    limit: i64,
) -> Result<Vec<(Delivery, Vec<Attempt>)>, WebhookError> {
    require_admin(admin)?;
    let mut conn = pool.acquire().await?;
    store::endpoint(&mut conn, admin.organization_id, endpoint_id)
        .await?
        .ok_or(WebhookError::NotFound)?;
    let deliveries =
        store::deliveries_of_endpoint(&mut conn, admin.organization_id, endpoint_id, limit).await?;
    let mut attempts = store::attempts_of(
        &mut conn,
        admin.organization_id,
        &deliveries.iter().map(|d| d.id).collect::<Vec<_>>(),
    )
    .await?;
    Ok(deliveries
        .into_iter()
        .map(|d| {
            let (mine, rest): (Vec<Attempt>, Vec<Attempt>) =
                attempts.drain(..).partition(|a| a.delivery_id == d.id);
            attempts = rest;
            (d, mine)
        })
        .collect())
}

/// "Redeliver": sends a delivery again now (same payload and event id), whatever became of
/// it, with a fresh retry window.
pub async fn redeliver(pool: &Pool, admin: &User, delivery_id: Uuid) -> Result<(), WebhookError> {
    require_admin(admin)?;
    // The organization's lock: the endpoint's state is read, then changed with its audit line.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(admin.organization_id.0)),
    )
    .await?;
    let delivery = store::delivery(&mut tx, admin.organization_id, delivery_id)
        .await?
        .ok_or(WebhookError::DeliveryNotFound)?;
    let endpoint = store::endpoint(&mut tx, admin.organization_id, delivery.endpoint_id)
        .await?
        .ok_or(WebhookError::DeliveryNotFound)?;
    if endpoint.disabled_at.is_some() {
        return Err(WebhookError::EndpointDisabled);
    }
    if store::payload_erased(&mut tx, delivery_id).await? {
        return Err(WebhookError::Erased);
    }
    let now = OffsetDateTime::now_utc();
    store::reschedule(&mut tx, delivery_id, now).await?;
    tx.commit().await?;
    Ok(())
}
