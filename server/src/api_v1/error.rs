//! The REST API's errors: one JSON shape, `{"code", "message", "field"?}`, with a stable
//! `code` tools can branch on and a `message` people can read. Domain errors become API
//! errors here and only here.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use traceless::api_keys::ApiKeyError;
use traceless::rate_limit::TooMany;
use traceless::recovery::AccountRecoveryError;
use traceless::tickets::InvalidTicket;
use traceless::verification::VerificationError;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable: `unauthorized`, `not_found`, `invalid_json`, `invalid_field`,
    /// `domain_not_covered`, `recovery_not_allowed`, `integration_not_connected`, `integration_not_active`,
    /// `already_finished`, `idempotency_key_reused`, `rate_limited`, `internal`.
    pub code: String,
    pub message: String,
    /// The request field at fault, for `invalid_field` and `domain_not_covered`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "Missing, unknown or revoked API key. Send an organization API key as `Authorization: Bearer tl_live_…`."
    )]
    Unauthorized,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("The body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    DomainNotCovered(String),
    /// `after: temporary_access_pass` cannot be done: recovery is off, Face Check is off, or
    /// the caller may not start it.
    #[error("{0}")]
    RecoveryNotAllowed(String),
    #[error("{0}")]
    NotConnected(String),
    #[error("{0}")]
    NotActive(String),
    #[error("The verification is already finished; nothing was changed.")]
    AlreadyFinished,
    #[error(
        "This Idempotency-Key was already used with a different request body. Use a new key for a new request."
    )]
    IdempotencyKeyReused,
    #[error("{0}")]
    RateLimited(TooMany),
    #[error("Something went wrong on our side. Try again in a moment.")]
    Internal,
}

impl ApiError {
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            field,
            message: message.into(),
        }
    }

    /// Logs an unexpected failure once, with its cause, and hides it from the caller.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "REST API: internal error");
        ApiError::Internal
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::DomainNotCovered(_) => "domain_not_covered",
            ApiError::RecoveryNotAllowed(_) => "recovery_not_allowed",
            ApiError::NotConnected(_) => "integration_not_connected",
            ApiError::NotActive(_) => "integration_not_active",
            ApiError::AlreadyFinished => "already_finished",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Internal => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::InvalidJson(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidField { .. }
            | ApiError::DomainNotCovered(_)
            | ApiError::RecoveryNotAllowed(_)
            | ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotConnected(_) | ApiError::NotActive(_) | ApiError::AlreadyFinished => {
                StatusCode::CONFLICT
            }
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_owned(),
            message: self.to_string(),
            field: match self {
                ApiError::InvalidField { field, .. } => Some((*field).to_owned()),
                ApiError::DomainNotCovered(_) => Some("recipient_email".to_owned()),
                ApiError::RecoveryNotAllowed(_) => Some("after".to_owned()),
                _ => None,
            },
        }
    }
}

pub const NOT_FOUND: &str = "No verification with this id in your organization.";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if let ApiError::RateLimited(refusal) = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(refusal.retry_after_secs()),
            );
        }
        if let ApiError::Unauthorized = &self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"traceless\""),
            );
        }
        response
    }
}

impl From<TooMany> for ApiError {
    fn from(refusal: TooMany) -> Self {
        ApiError::RateLimited(refusal)
    }
}

impl From<ApiKeyError> for ApiError {
    fn from(error: ApiKeyError) -> Self {
        match error {
            ApiKeyError::Database(e) => ApiError::internal(format!("database: {e}")),
            _ => ApiError::Unauthorized,
        }
    }
}

impl From<InvalidTicket> for ApiError {
    fn from(error: InvalidTicket) -> Self {
        let field = match error {
            InvalidTicket::SubjectTooLong => "ticket.subject",
            InvalidTicket::ReferenceTooLong
            | InvalidTicket::ReferenceNotPrintable
            | InvalidTicket::SubjectWithoutReference => "ticket.reference",
        };
        ApiError::field(field, error.to_string())
    }
}

impl From<AccountRecoveryError> for ApiError {
    fn from(error: AccountRecoveryError) -> Self {
        match error {
            AccountRecoveryError::Database(e) => ApiError::internal(format!("database: {e}")),
            refusal => ApiError::RecoveryNotAllowed(refusal.to_string()),
        }
    }
}

impl From<VerificationError> for ApiError {
    fn from(error: VerificationError) -> Self {
        match error {
            VerificationError::InvalidEmail(_) => {
                ApiError::field("recipient_email", error.to_string())
            }
            VerificationError::DomainNotCovered(_) => ApiError::DomainNotCovered(error.to_string()),
            VerificationError::Ticket(invalid) => invalid.into(),
            VerificationError::WrongLink => ApiError::internal("unexpected from the API: a link"),
            VerificationError::NoteTooLong => ApiError::field("note", error.to_string()),
            VerificationError::RecoveryLinkByEmailOnly => {
                ApiError::field("delivery", error.to_string())
            }
            VerificationError::NotConnected => ApiError::NotConnected(error.to_string()),
            VerificationError::NotActive
            | VerificationError::EmailNotTrusted
            | VerificationError::FaceCheckNotEnabled => ApiError::NotActive(error.to_string()),
            VerificationError::NotFound | VerificationError::LinkExpired => {
                ApiError::NotFound(NOT_FOUND)
            }
            VerificationError::AlreadyFinished => ApiError::AlreadyFinished,
            VerificationError::TooMany(refusal) => refusal.into(),
            VerificationError::NotAdmin | VerificationError::InvalidSetting(_) => {
                ApiError::internal(format!("unexpected from the API: {error}"))
            }
            VerificationError::Microsoft(e) => ApiError::internal(format!("Microsoft: {e}")),
            VerificationError::Database(e) => ApiError::internal(format!("database: {e}")),
        }
    }
}
