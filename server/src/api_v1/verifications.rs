//! `/api/v1/verifications`: create, read, list and cancel, for integrated tools. Creates go
//! through the same use case as the agent's send form (`Verifier::start`), acting as the
//! API key.

use std::collections::HashMap;

use app::ssr::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use traceless::api_keys::idempotency;
use traceless::tickets::{self, TicketId};
use traceless::verification::resource::{StatusName, VerificationResource};
use traceless::verification::{
    self as verification, Idempotency, ListFilter, NewVerification, Once, OnceError,
    RequestWebhook, Verification, VerificationError,
};
use traceless::webhooks::EndpointUrl;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody, NOT_FOUND};
use super::schema::{self, NOTE_MAX, PAGE_DEFAULT, PAGE_MAX, REFERENCE_MAX, SUBJECT_MAX};

/// The header that makes a create safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on an answer that repeats an earlier create's.
pub const REPLAYED: &str = "idempotent-replayed";

/// How the person gets their link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// The link is in the answer; the tool sends it to the person itself.
    Link,
    /// Traceless emails the link to the person.
    Email,
}

impl Delivery {
    pub const ALL: [Delivery; 2] = [Delivery::Link, Delivery::Email];

    /// Its word in requests and answers (as serde writes it).
    pub const fn as_str(self) -> &'static str {
        match self {
            Delivery::Link => "link",
            Delivery::Email => "email",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == value)
    }
}

/// The request's `ticket`. The document describes it; `parse_create` reads it field by
/// field (so each error names its field), with the same constants.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketFields {
    #[schema(schema_with = schema::reference)]
    pub reference: String,
    #[schema(schema_with = schema::subject)]
    pub subject: Option<String>,
}

/// A new verification. Unknown fields are refused (a typo should not pass silently).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVerification {
    #[schema(schema_with = schema::recipient_email)]
    pub recipient_email: String,
    #[schema(nullable)]
    pub ticket: Option<TicketFields>,
    #[schema(schema_with = schema::delivery)]
    pub delivery: Option<Delivery>,
    #[schema(schema_with = schema::webhook_url)]
    pub webhook_url: Option<String>,
    #[schema(schema_with = schema::note)]
    pub note: Option<String>,
    #[schema(schema_with = schema::after)]
    pub after: Option<String>,
}

/// A verification just created.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedVerification {
    #[serde(flatten)]
    pub verification: VerificationResource,
    pub delivery: Delivery,
    /// The person's one-time link, with `delivery: link`. Shown only in this answer (and
    /// in an idempotent retry of it): Traceless keeps only its hash.
    pub link: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerificationPage {
    pub data: Vec<VerificationResource>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the query; the handler reads it field by field to name bad ones.
pub struct ListQuery {
    /// Only verifications of this ticket reference.
    ticket: Option<String>,
    /// Only verifications in this status.
    status: Option<StatusName>,
    #[param(schema_with = schema::limit)]
    limit: Option<i64>,
    #[param(schema_with = schema::cursor)]
    cursor: Option<String>,
}

/// A verification's id in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct IdPath {
    #[param(schema_with = schema::id, required = true)]
    id: String,
}

/// The create's optional header.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct CreateHeaders {
    #[param(rename = "Idempotency-Key", schema_with = schema::idempotency_key)]
    idempotency_key: Option<String>,
}

/// Start a verification.
///
/// Send `Idempotency-Key` to make retries safe: a retry with the same key and body returns
/// the first answer (with `Idempotent-Replayed: true`); the same key with another body is
/// refused with `idempotency_key_reused`.
#[utoipa::path(
    post,
    path = "/api/v1/verifications",
    tag = "verifications",
    request_body = CreateVerification,
    params(CreateHeaders),
    responses(
        (status = 201, description = "Created", body = CreatedVerification, headers(
            ("Idempotent-Replayed" = String, description = "`true` when this answer repeats an earlier create's (same `Idempotency-Key` and body)"),
        )),
        (status = 400, description = "`invalid_json`: the body is not a JSON object", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 409, description = "`integration_not_connected`, `integration_not_active`", body = ErrorBody),
        (status = 422, description = "`invalid_field` (with `field`), `domain_not_covered`, `recovery_not_allowed` (with `field: after`: account recovery is off, Face Check is off, or the key may not start it), `idempotency_key_reused`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ),
    security(("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let idempotency_key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .filter(|k| idempotency::valid_key(k))
                .ok_or_else(|| {
                    ApiError::field(
                        "Idempotency-Key",
                        "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
                    )
                })?
                .to_owned(),
        ),
    };
    let guard = state.settings.webhooks.guard();
    let input = parse_create(&body, &guard)?;
    if let Some(url) = &input.webhook_url {
        // A name that resolves only into a private network is refused now, not at delivery.
        guard
            .admit_resolved(url)
            .await
            .map_err(|e| ApiError::field("webhook_url", e.to_string()))?;
    }
    let delivery = input.delivery;
    let initiator = caller.key.key.initiator();
    let after = if input.temporary_access_pass {
        verification::After::TemporaryAccessPass(
            traceless::recovery::permit(&state.pool, &initiator).await?,
        )
    } else {
        verification::After::Nothing
    };
    let new = NewVerification {
        recipient: input.recipient_email,
        ticket: input.ticket,
        note: input.note,
        delivery: match delivery {
            Delivery::Link => verification::Delivery::Link,
            Delivery::Email => verification::Delivery::Email,
        },
        webhook: input.webhook_url.map(|url| RequestWebhook {
            url,
            secret: caller.key.webhook_secret.clone(),
        }),
        after,
    };
    let started = match &idempotency_key {
        None => state.verifier.create(&initiator, new).await?,
        Some(key) => {
            let once = Idempotency {
                api_key_id: caller.key.key.id,
                api_token: &caller.token,
                key,
                request_hash: idempotency::request_hash(&body),
            };
            match state.verifier.create_once(&initiator, new, &once).await {
                Ok(Once::Created(started)) => started,
                Ok(Once::Replayed { verification, link }) => {
                    let created = CreatedVerification {
                        verification: resource(&state, &verification).await?,
                        delivery,
                        link: link.map(|t| link_url(&state, &t)).transpose()?,
                    };
                    let mut response = (StatusCode::CREATED, Json(created)).into_response();
                    response
                        .headers_mut()
                        .insert(REPLAYED, HeaderValue::from_static("true"));
                    return Ok(response);
                }
                Err(OnceError::KeyReused) => return Err(ApiError::IdempotencyKeyReused),
                Err(OnceError::Verification(error)) => return Err(error.into()),
            }
        }
    };
    let token = started.link.expose();
    let created = CreatedVerification {
        verification: resource(&state, &started.verification).await?,
        delivery,
        link: match delivery {
            Delivery::Link => Some(link_url(&state, token)?),
            Delivery::Email => None,
        },
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Read one verification.
#[utoipa::path(
    get,
    path = "/api/v1/verifications/{id}",
    tag = "verifications",
    params(IdPath),
    responses(
        (status = 200, description = "The verification", body = VerificationResource),
        (status = 401, description = "`unauthorized`", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 404, description = "`not_found`: no such verification in the key's organization", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ),
    security(("api_key" = []))
)]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<VerificationResource>, ApiError> {
    let id = parse_id(id)?;
    let verification = state
        .verifier
        .get_in(caller.key.key.organization_id, id)
        .await?;
    Ok(Json(resource(&state, &verification).await?))
}

/// List verifications, newest first, optionally of one ticket or in one status.
#[utoipa::path(
    get,
    path = "/api/v1/verifications",
    tag = "verifications",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of verifications", body = VerificationPage),
        (status = 401, description = "`unauthorized`", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 422, description = "`invalid_field`: `status`, `limit` or `cursor`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ),
    security(("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<VerificationPage>, ApiError> {
    // Read leniently (never a framework's plain-text 400): the last of a repeated name wins.
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let status = query
        .get("status")
        .map(|s| {
            s.parse::<StatusName>().map_err(|_| {
                ApiError::field(
                    "status",
                    "Unknown status: use created, opened, requested, scanned, verified, failed, expired or cancelled.",
                )
            })
        })
        .transpose()?;
    let limit = match query.get("limit") {
        None => PAGE_DEFAULT,
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=PAGE_MAX).contains(n))
            .ok_or_else(|| {
                ApiError::field(
                    "limit",
                    format!("limit must be a whole number from 1 to {PAGE_MAX}."),
                )
            })?,
    };
    let after = query.get("cursor").map(|c| decode_cursor(c)).transpose()?;
    let filter = ListFilter {
        ticket_reference: query
            .get("ticket")
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
        status,
    };
    // One more than asked tells whether there is a next page.
    let mut found = state
        .verifier
        .page(caller.key.key.organization_id, &filter, after, limit + 1)
        .await?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let next_cursor = more
        .then(|| found.last().map(|v| encode_cursor(v.created_at, v.id)))
        .flatten();
    let mut data = Vec::with_capacity(found.len());
    for v in &found {
        data.push(resource(&state, v).await?);
    }
    Ok(Json(VerificationPage { data, next_cursor }))
}

/// Cancel a verification: its link stops working at once.
#[utoipa::path(
    post,
    path = "/api/v1/verifications/{id}/cancel",
    tag = "verifications",
    params(IdPath),
    responses(
        (status = 200, description = "Cancelled", body = VerificationResource),
        (status = 401, description = "`unauthorized`", body = ErrorBody, headers(("WWW-Authenticate" = String))),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`already_finished`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ),
    security(("api_key" = []))
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<VerificationResource>, ApiError> {
    let id = parse_id(id)?;
    let organization = caller.key.key.organization_id;
    state
        .verifier
        .cancel_by(&caller.key.key.initiator(), id)
        .await?;
    let verification = state.verifier.get_in(organization, id).await?;
    Ok(Json(resource(&state, &verification).await?))
}

/// A verification as the API shows it, with its ticket's subject.
async fn resource(state: &AppState, v: &Verification) -> Result<VerificationResource, ApiError> {
    let subject = match v.ticket_id {
        Some(id) => tickets::get(&state.pool, v.organization_id, TicketId(id))
            .await
            .map_err(ApiError::internal)?
            .and_then(|t| t.subject),
        None => None,
    };
    Ok(VerificationResource::of(v, subject.as_deref()))
}

/// An id as the document declares it (`schema::UUID`); anything else names no verification.
fn parse_id(id: Result<Path<String>, PathRejection>) -> Result<Uuid, ApiError> {
    id.ok()
        .and_then(|Path(id)| hyphenated_uuid(&id))
        .ok_or(ApiError::NotFound(NOT_FOUND))
}

/// A UUID written as this API writes them: hyphenated, lower case (`schema::UUID`).
pub fn hyphenated_uuid(text: &str) -> Option<Uuid> {
    let shaped = text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        });
    shaped.then(|| text.parse().ok()).flatten()
}

fn link_url(state: &AppState, token: &str) -> Result<String, ApiError> {
    state
        .settings
        .public_url
        .join(&format!("verify/{token}"))
        .map(|u| u.to_string())
        .map_err(ApiError::internal)
}

/// `{nanoseconds since 1970}_{id}` of the last verification on a page (`schema::CURSOR`):
/// a shape the document can state, so every cursor it allows is one the list accepts.
fn encode_cursor(at: OffsetDateTime, id: Uuid) -> String {
    format!("{}_{id}", at.unix_timestamp_nanos())
}

fn decode_cursor(cursor: &str) -> Result<(OffsetDateTime, Uuid), ApiError> {
    let bad = || ApiError::field("cursor", "cursor is not a next_cursor this API gave.");
    let (nanos, id) = cursor.split_once('_').ok_or_else(bad)?;
    // At most 20 digits: before the year 5138, well inside what a timestamp can hold.
    if nanos.is_empty() || nanos.len() > 20 || !nanos.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let at = nanos
        .parse::<i128>()
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .ok_or_else(bad)?;
    Ok((at, hyphenated_uuid(id).ok_or_else(bad)?))
}

/// A create request, checked field by field so each error names its field.
struct CreateInput {
    recipient_email: traceless::email::EmailAddress,
    ticket: Option<tickets::TicketInput>,
    delivery: Delivery,
    webhook_url: Option<EndpointUrl>,
    note: Option<String>,
    /// `after: temporary_access_pass`.
    temporary_access_pass: bool,
}

fn parse_create(body: &[u8], guard: &traceless::webhooks::Guard) -> Result<CreateInput, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(ApiError::InvalidJson("expected a JSON object".into()));
    };
    for name in fields.keys() {
        if ![
            "recipient_email",
            "ticket",
            "delivery",
            "webhook_url",
            "note",
            "after",
        ]
        .contains(&name.as_str())
        {
            return Err(ApiError::InvalidField {
                field: "body",
                message: format!(
                    "Unknown field {name:?}: expected recipient_email, ticket, delivery, webhook_url, note or after."
                ),
            });
        }
    }
    let recipient_email =
        text(&fields, "recipient_email", "recipient_email")?.ok_or_else(|| {
            ApiError::field(
                "recipient_email",
                "recipient_email is required: the person's email address.",
            )
        })?;
    let (reference, subject) = match fields.get("ticket") {
        None | Some(Value::Null) => (None, None),
        Some(Value::Object(ticket)) => {
            for name in ticket.keys() {
                if name != "reference" && name != "subject" {
                    return Err(ApiError::field(
                        "ticket",
                        format!("Unknown ticket field {name:?}: expected reference or subject."),
                    ));
                }
            }
            // Lengths and characters are judged on the value as sent, as the document
            // states them (`schema::reference`, `schema::subject`); blank means absent.
            let reference = text(ticket, "reference", "ticket.reference")?
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| {
                    ApiError::field(
                        "ticket.reference",
                        "ticket.reference is required with a ticket, such as \"INC-4711\".",
                    )
                })?;
            if reference.chars().count() > REFERENCE_MAX {
                return Err(tickets::InvalidTicket::ReferenceTooLong.into());
            }
            if reference.chars().any(char::is_control) {
                return Err(tickets::InvalidTicket::ReferenceNotPrintable.into());
            }
            let subject = text(ticket, "subject", "ticket.subject")?;
            if subject
                .as_ref()
                .is_some_and(|s| s.chars().count() > SUBJECT_MAX || s.chars().any(char::is_control))
            {
                return Err(ApiError::field(
                    "ticket.subject",
                    format!("ticket.subject must be one line of at most {SUBJECT_MAX} characters."),
                ));
            }
            (Some(reference), subject)
        }
        Some(_) => {
            return Err(ApiError::field(
                "ticket",
                "ticket must be an object: {\"reference\": \"INC-4711\", \"subject\": \"…\"}.",
            ));
        }
    };
    let delivery = match text(&fields, "delivery", "delivery")? {
        None => Delivery::Link,
        Some(word) => Delivery::parse(&word).ok_or_else(|| {
            ApiError::field("delivery", "delivery must be \"link\" or \"email\".")
        })?,
    };
    let webhook_url = text(&fields, "webhook_url", "webhook_url")?
        .map(|url| {
            guard
                .parse(&url)
                .map_err(|e| ApiError::field("webhook_url", e.to_string()))
        })
        .transpose()?;
    let temporary_access_pass = match text(&fields, "after", "after")?.as_deref() {
        None => false,
        Some(schema::AFTER_TEMPORARY_ACCESS_PASS) => true,
        Some(_) => {
            return Err(ApiError::field(
                "after",
                "after must be \"temporary_access_pass\" or left out.",
            ));
        }
    };
    let note = text(&fields, "note", "note")?;
    if note.as_ref().is_some_and(|n| {
        n.chars().count() > NOTE_MAX || n.chars().any(|c| c.is_control() && c != '\n')
    }) {
        return Err(VerificationError::NoteTooLong.into());
    }
    // As sent: `schema::recipient_email` allows no surrounding white space.
    if recipient_email.trim() != recipient_email || recipient_email.len() > schema::EMAIL_MAX {
        return Err(ApiError::field(
            "recipient_email",
            traceless::email::InvalidEmail.to_string(),
        ));
    }
    let recipient_email = traceless::email::EmailAddress::parse(&recipient_email)
        .map_err(|e| ApiError::field("recipient_email", e.to_string()))?;
    let ticket = match reference {
        None => None,
        Some(reference) => {
            tickets::TicketInput::parse(&reference, subject.as_deref()).map_err(ApiError::from)?
        }
    };
    Ok(CreateInput {
        recipient_email,
        ticket,
        delivery,
        webhook_url,
        note,
        temporary_access_pass,
    })
}

/// An optional string field; anything but a string or null is an error naming `field`.
fn text(
    fields: &Map<String, Value>,
    name: &str,
    field: &'static str,
) -> Result<Option<String>, ApiError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::field(field, format!("{field} must be a string."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = OffsetDateTime::now_utc();
        let id = Uuid::new_v4();
        assert_eq!(decode_cursor(&encode_cursor(at, id)).unwrap(), (at, id));
        assert!(decode_cursor("nonsense").is_err());
    }

    #[test]
    fn each_bad_field_is_named() {
        let guard = traceless::webhooks::WebhookSettings::default().guard();
        let field_of = |body: &str| match parse_create(body.as_bytes(), &guard) {
            Err(ApiError::InvalidField { field, .. }) => field,
            other => panic!("{body}: {:?}", other.err()),
        };
        assert_eq!(field_of("{}"), "recipient_email");
        assert_eq!(field_of(r#"{"recipient_email": 5}"#), "recipient_email");
        assert_eq!(
            field_of(r#"{"recipient_email": "a@b.c", "ticket": {"subject": "x"}}"#),
            "ticket.reference"
        );
        assert_eq!(
            field_of(r#"{"recipient_email": "a@b.c", "delivery": "fax"}"#),
            "delivery"
        );
        assert_eq!(
            field_of(r#"{"recipient_email": "a@b.c", "webhook_url": "http://example.com/"}"#),
            "webhook_url"
        );
        assert_eq!(
            field_of(r#"{"recipient_email": "a@b.c", "webhook_url": "https://169.254.169.254/"}"#),
            "webhook_url"
        );
        assert_eq!(field_of(r#"{"recipient": "a@b.c"}"#), "body");
        assert!(matches!(
            parse_create(b"not json", &guard),
            Err(ApiError::InvalidJson(_))
        ));
    }
}
