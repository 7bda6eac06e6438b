//! API keys and webhooks for integrated tools, for organization administrators only.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ApiKeyView, NewApiKey, NewWebhookEndpoint, Webhooks};

#[cfg(feature = "ssr")]
use {
    super::convert,
    crate::model::{AttemptView, DeliveryView, EventTypeOption, WebhookEndpointView},
    crate::ssr,
    traceless::api_keys::{self, ApiKeyError},
    traceless::webhooks::{self, EventType, WebhookError},
    uuid::Uuid,
};

/// How many deliveries each endpoint shows.
#[cfg(feature = "ssr")]
const DELIVERIES_SHOWN: i64 = 20;

#[server(endpoint = "api_keys")]
pub async fn api_keys() -> Result<Vec<ApiKeyView>, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let keys = api_keys::list(&ssr::pool()?, &admin).await?;
            Ok(keys
                .into_iter()
                .map(|k| ApiKeyView {
                    id: k.id.to_string(),
                    name: k.name,
                    prefix: k.prefix,
                    created_by: k.created_by_name,
                    created: convert::when(k.created_at),
                    last_used: k.last_used_at.map(convert::when),
                    revoked: k.revoked_at.map(convert::when),
                })
                .collect())
        }
        .await,
    )
}

#[server(endpoint = "create_api_key")]
pub async fn create_api_key(name: String) -> Result<NewApiKey, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let created = api_keys::create(&ssr::pool()?, &admin, &name).await?;
            Ok(NewApiKey {
                name: created.key.name,
                key: created.secret,
                webhook_secret: created.webhook_secret,
            })
        }
        .await,
    )
}

#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let id = parse_id(&id, ApiKeyError::NotFound)?;
            api_keys::revoke(&ssr::pool()?, &admin, id).await?;
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "webhook_endpoints")]
pub async fn webhook_endpoints() -> Result<Webhooks, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let pool = ssr::pool()?;
            let mut endpoints = Vec::new();
            for endpoint in webhooks::endpoints(&pool, &admin).await? {
                let deliveries =
                    webhooks::deliveries(&pool, &admin, endpoint.id, DELIVERIES_SHOWN).await?;
                endpoints.push(WebhookEndpointView {
                    id: endpoint.id.to_string(),
                    url: endpoint.url,
                    event_types: endpoint
                        .event_types
                        .iter()
                        .map(|t| t.as_str().to_owned())
                        .collect(),
                    created_by: endpoint.created_by_name,
                    created: convert::when(endpoint.created_at),
                    failing_since: endpoint.failing_since.map(convert::when),
                    disabled: endpoint.disabled_at.map(|at| {
                        (
                            convert::when(at),
                            endpoint.disabled_reason.unwrap_or_default(),
                        )
                    }),
                    deliveries: deliveries
                        .into_iter()
                        .map(|(d, attempts)| DeliveryView {
                            id: d.id.to_string(),
                            event_type: d.event_type,
                            state: d.state.as_str().to_owned(),
                            verification_id: d.verification_id.to_string(),
                            created: convert::when_precise(d.created_at),
                            next_attempt: (d.state == webhooks::DeliveryState::Pending
                                && d.attempts > 0)
                                .then(|| convert::when_precise(d.next_attempt_at)),
                            attempts: attempts
                                .into_iter()
                                .map(|a| AttemptView {
                                    at: convert::when_precise(a.attempted_at),
                                    status: a
                                        .status_code
                                        .map_or("no answer".to_owned(), |s| format!("HTTP {s}")),
                                    ok: a.status_code.is_some_and(|s| (200..300).contains(&s)),
                                    latency_ms: a.latency_ms,
                                    response: a.response_excerpt,
                                })
                                .collect(),
                        })
                        .collect(),
                });
            }
            Ok(Webhooks {
                endpoints,
                event_types: EventType::ALL
                    .into_iter()
                    .map(|t| EventTypeOption {
                        name: t.as_str().to_owned(),
                        description: t.describe().to_owned(),
                    })
                    .collect(),
            })
        }
        .await,
    )
}

/// `events` are the chosen event types, from the form's checkboxes (`events[i]`); none
/// ticked sends no field at all.
#[server(endpoint = "add_webhook_endpoint")]
pub async fn add_webhook_endpoint(
    url: String,
    events: Option<Vec<String>>,
) -> Result<NewWebhookEndpoint, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let events = events.unwrap_or_default();
            let types = webhooks::parse_event_types(events.iter().map(String::as_str))?;
            let state = ssr::state()?;
            let guard = state.settings.webhooks.guard();
            let created = webhooks::add_endpoint(&state.pool, &guard, &admin, &url, types).await?;
            Ok(NewWebhookEndpoint {
                url: created.endpoint.url,
                secret: created.secret,
            })
        }
        .await,
    )
}

#[server(endpoint = "remove_webhook_endpoint")]
pub async fn remove_webhook_endpoint(id: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let id = parse_id(&id, WebhookError::NotFound)?;
            webhooks::remove_endpoint(&ssr::pool()?, &admin, id).await?;
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "enable_webhook_endpoint")]
pub async fn enable_webhook_endpoint(id: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let id = parse_id(&id, WebhookError::NotFound)?;
            webhooks::enable_endpoint(&ssr::pool()?, &admin, id).await?;
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "redeliver_webhook")]
pub async fn redeliver_webhook(id: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let id = parse_id(&id, WebhookError::DeliveryNotFound)?;
            webhooks::redeliver(&ssr::pool()?, &admin, id).await?;
            Ok(())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
/// An id that does not parse is not found, in the words of the thing looked for.
fn parse_id(id: &str, not_found: impl Into<AppError>) -> Result<Uuid, AppError> {
    id.parse().map_err(|_| not_found.into())
}
