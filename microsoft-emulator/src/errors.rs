//! Microsoft's three error shapes: the identity platform's OAuth error JSON (with AADSTS codes),
//! Graph's `{error:{code,message,innerError}}`, and Verified ID's envelope with `innererror`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

fn http_date() -> String {
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc()
        .format(&f)
        .unwrap_or_default()
}

/// An identity-platform (login.microsoftonline.com) error.
#[derive(Debug, Clone)]
pub(crate) struct AadError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

impl AadError {
    pub fn new(error: &'static str, code: u32, message: impl Into<String>) -> AadError {
        AadError {
            status: StatusCode::BAD_REQUEST,
            error,
            code,
            message: message.into(),
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> AadError {
        self.status = status;
        self
    }

    /// `AADSTS{code}: {message}\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ...`
    pub fn description(&self, trace: &str, correlation: &str, ts: &str) -> String {
        format!(
            "AADSTS{}: {}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {ts}",
            self.code, self.message
        )
    }

    pub fn short_description(&self) -> String {
        let trace = uuid::Uuid::new_v4().to_string();
        let correlation = uuid::Uuid::new_v4().to_string();
        self.description(&trace, &correlation, &timestamp())
    }

    pub fn body(&self) -> serde_json::Value {
        let trace = uuid::Uuid::new_v4().to_string();
        let correlation = uuid::Uuid::new_v4().to_string();
        let ts = timestamp();
        json!({
            "error": self.error,
            "error_description": self.description(&trace, &correlation, &ts),
            "error_codes": [self.code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        })
    }
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"login.microsoftonline.com\""),
            );
        }
        res
    }
}

/// A Microsoft Graph error.
#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> GraphError {
        GraphError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn body(&self) -> serde_json::Value {
        let id = uuid::Uuid::new_v4().to_string();
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                "request-id": id,
                "client-request-id": id,
            }
        }})
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// A Verified ID (request service and admin API) error: `{requestId, date, mscv, error{code,
/// message, innererror{code, message, target?}}}`, with `error.code` fixed per HTTP status.
#[derive(Debug, Clone)]
pub(crate) struct VcError {
    pub status: StatusCode,
    pub inner_code: &'static str,
    pub message: String,
    pub target: Option<String>,
}

impl VcError {
    pub fn new(
        status: StatusCode,
        inner_code: &'static str,
        message: impl Into<String>,
    ) -> VcError {
        VcError {
            status,
            inner_code,
            message: message.into(),
            target: None,
        }
    }

    /// 400 `badRequest` / `badOrMissingField` naming the field.
    pub fn field(target: &str, message: impl Into<String>) -> VcError {
        VcError::new(StatusCode::BAD_REQUEST, "badOrMissingField", message).target(target)
    }

    pub fn target(mut self, target: &str) -> VcError {
        self.target = Some(target.to_string());
        self
    }

    pub fn body(&self) -> serde_json::Value {
        let (code, message) = status_error(self.status);
        let mut inner = json!({"code": self.inner_code, "message": self.message});
        if let Some(t) = &self.target {
            inner["target"] = json!(t);
        }
        json!({
            "requestId": uuid::Uuid::new_v4().to_string(),
            "date": http_date(),
            "mscv": crate::keys::random_token(12),
            "error": {"code": code, "message": message, "innererror": inner},
        })
    }
}

impl IntoResponse for VcError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// Verified ID's standard `error.code` and `error.message` for an HTTP status.
pub(crate) fn status_error(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("badRequest", "The request is invalid."),
        401 => ("unauthorized", "The request is not authorized."),
        403 => ("forbidden", "Missing permissions to fulfill this request."),
        404 => ("notFound", "The requested resource was not found."),
        405 => ("methodNotAllowed", "The method is not allowed."),
        409 => ("conflict", "The request conflicts with the current state."),
        410 => ("gone", "The requested resource is no longer available."),
        415 => ("unsupportedMediaType", "The media type is not supported."),
        429 => ("tooManyRequests", "Too many requests."),
        500 => ("internalServerError", "An internal server error occurred."),
        502 => ("badGateway", "Bad gateway."),
        503 => ("serviceUnavailable", "The service is unavailable."),
        504 => ("gatewayTimeout", "Gateway timeout."),
        _ => ("badRequest", "The request is invalid."),
    }
}

/// Graph's error code for an HTTP status (used by injected faults).
pub(crate) fn graph_status_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        429 => "TooManyRequests",
        503 => "ServiceNotAvailable",
        504 => "GatewayTimeout",
        _ => "InternalServerError",
    }
}
