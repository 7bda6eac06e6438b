//! Faults on demand: latency and error statuses on any endpoint, and misbehaving callbacks
//! (duplicate, out of order, dropped, retried after a 5xx). Driven from Rust (`Faults`) or
//! over HTTP (`/_control/faults`), with the same JSON model.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::errors::{AadError, GraphError, VcError, graph_status_code};
use crate::state::EmulatorState;

/// What to break, where, and for how long. Unset matchers match everything.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Path pattern against the full request path (e.g. `/verifiedid/*/createPresentationRequest`,
    /// `/login/*/oauth2/v2.0/token`); `*` matches any run of characters. HTTP faults only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Tenant GUID: the `{tenant}` path segment on login, the token's `tid` elsewhere, the
    /// request's tenant for callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Only this presentation request (callback faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Delay before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Answer with this status (429, 500, 503, ...) and the host's error body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` for 429/503 (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// A callback fault instead of an HTTP one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackFault>,
    /// Applies to the next N matching requests (or callback deliveries), then disappears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Applies for this long after being added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackFault {
    /// Each callback is sent twice.
    Duplicate,
    /// `presentation_verified`/`presentation_error` first, then `request_retrieved`.
    OutOfOrder,
    /// Callbacks are never sent (the RP only sees silence until expiry).
    Drop,
    /// Resend (up to 3 more times, 200 ms apart) while the RP answers 5xx.
    RetryOn5xx,
}

impl FaultSpec {
    /// `status` on requests whose path matches `endpoint`.
    pub fn status(endpoint: &str, status: u16) -> FaultSpec {
        FaultSpec {
            endpoint: Some(endpoint.into()),
            status: Some(status),
            ..FaultSpec::default()
        }
    }

    pub fn latency(endpoint: &str, ms: u64) -> FaultSpec {
        FaultSpec {
            endpoint: Some(endpoint.into()),
            latency_ms: Some(ms),
            ..FaultSpec::default()
        }
    }

    pub fn callback(fault: CallbackFault) -> FaultSpec {
        FaultSpec {
            callback: Some(fault),
            ..FaultSpec::default()
        }
    }

    pub fn times(mut self, n: u32) -> FaultSpec {
        self.times = Some(n);
        self
    }

    pub fn for_duration(mut self, d: Duration) -> FaultSpec {
        self.duration_ms = Some(d.as_millis() as u64);
        self
    }

    pub fn tenant(mut self, tenant: &str) -> FaultSpec {
        self.tenant = Some(tenant.into());
        self
    }

    pub fn request_id(mut self, id: &str) -> FaultSpec {
        self.request_id = Some(id.into());
        self
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ActiveFault {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    #[serde(skip)]
    added: Instant,
}

/// The fault table; a cheap handle, shared with the running server.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<ActiveFault>>>);

impl Faults {
    /// Adds a fault; returns its id.
    pub fn add(&self, spec: FaultSpec) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.lock().push(ActiveFault {
            id: id.clone(),
            spec,
            added: Instant::now(),
        });
        id
    }

    pub fn remove(&self, id: &str) -> bool {
        let mut v = self.lock();
        let before = v.len();
        v.retain(|f| f.id != id);
        v.len() != before
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn list(&self) -> Vec<ActiveFault> {
        let mut v = self.lock();
        prune(&mut v);
        v.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ActiveFault>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The HTTP fault for this request, consuming one use of it.
    fn take_http(&self, method: &str, path: &str, tenant: Option<&str>) -> Option<FaultSpec> {
        self.take(|s| {
            s.callback.is_none()
                && s.endpoint.as_deref().is_none_or(|p| glob(p, path))
                && s.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && s.tenant
                    .as_deref()
                    .is_none_or(|t| tenant.is_some_and(|x| x.eq_ignore_ascii_case(t)))
        })
    }

    /// The callback fault for one delivery, consuming one use of it.
    pub(crate) fn take_callback(&self, tenant: &str, request_id: &str) -> Option<CallbackFault> {
        self.take(|s| {
            s.callback.is_some()
                && s.tenant
                    .as_deref()
                    .is_none_or(|t| t.eq_ignore_ascii_case(tenant))
                && s.request_id
                    .as_deref()
                    .is_none_or(|r| r.eq_ignore_ascii_case(request_id))
        })
        .and_then(|s| s.callback)
    }

    fn take(&self, matches: impl Fn(&FaultSpec) -> bool) -> Option<FaultSpec> {
        let mut v = self.lock();
        prune(&mut v);
        let i = v.iter().position(|f| matches(&f.spec))?;
        let spec = v[i].spec.clone();
        if let Some(n) = v[i].spec.times.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                v.remove(i);
            }
        }
        Some(spec)
    }
}

fn prune(v: &mut Vec<ActiveFault>) {
    v.retain(|f| {
        f.spec.times != Some(0)
            && f.spec
                .duration_ms
                .is_none_or(|ms| f.added.elapsed() < Duration::from_millis(ms))
    });
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The tenant a request is about: the login path segment, or the bearer token's `tid`.
fn request_tenant(req: &Request) -> Option<String> {
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/login/") {
        return rest.split('/').next().map(str::to_string);
    }
    let auth = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = auth.strip_prefix("Bearer ")?;
    crate::keys::peek_claims(token)?
        .get("tid")?
        .as_str()
        .map(str::to_string)
}

/// Middleware: applies the first matching HTTP fault.
pub(crate) async fn inject(
    State(state): State<EmulatorState>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_control") {
        return next.run(req).await;
    }
    let tenant = request_tenant(&req);
    let Some(fault) = state
        .0
        .faults
        .take_http(req.method().as_str(), &path, tenant.as_deref())
    else {
        return next.run(req).await;
    };
    if let Some(ms) = fault.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match fault.status.and_then(|s| StatusCode::from_u16(s).ok()) {
        Some(status) => {
            tracing::info!(%path, %status, "injected fault");
            let mut res = fault_response(&path, status);
            if matches!(status.as_u16(), 429 | 503) {
                let secs = fault.retry_after_secs.unwrap_or(1).to_string();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            res
        }
        None => next.run(req).await,
    }
}

fn fault_response(path: &str, status: StatusCode) -> Response {
    if path.starts_with("/login") {
        let (error, code, msg) = match status.as_u16() {
            429 => (
                "temporarily_unavailable",
                50196,
                "The server terminated an operation because it encountered a client request loop.",
            ),
            503 | 504 => (
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            ),
            _ => (
                "server_error",
                90036,
                "An unexpected, non-retryable error stemming from the directory service has occurred.",
            ),
        };
        AadError::new(error, code, msg)
            .with_status(status)
            .into_response()
    } else if path.starts_with("/graph") {
        GraphError::new(status, graph_status_code(status), "Injected fault.").into_response()
    } else {
        VcError::new(
            status,
            "transientError",
            "The service is temporarily unable to process the request.",
        )
        .into_response()
    }
}

pub(crate) async fn control_add(
    State(state): State<EmulatorState>,
    Json(spec): Json<FaultSpec>,
) -> Response {
    let id = state.0.faults.add(spec);
    (StatusCode::CREATED, Json(serde_json::json!({"id": id}))).into_response()
}

pub(crate) async fn control_list(State(state): State<EmulatorState>) -> Json<Vec<ActiveFault>> {
    Json(state.0.faults.list())
}

pub(crate) async fn control_clear(State(state): State<EmulatorState>) -> StatusCode {
    state.0.faults.clear();
    StatusCode::NO_CONTENT
}

pub(crate) async fn control_remove(
    State(state): State<EmulatorState>,
    Path(id): Path<String>,
) -> StatusCode {
    if state.0.faults.remove(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_and_literals() {
        assert!(glob(
            "/login/*/oauth2/v2.0/token",
            "/login/abc/oauth2/v2.0/token"
        ));
        assert!(glob("/verifiedid/*", "/verifiedid/v1.0/x"));
        assert!(glob(
            "*createPresentationRequest",
            "/verifiedid/v1.0/verifiableCredentials/createPresentationRequest"
        ));
        assert!(!glob("/graph/*", "/login/x"));
        assert!(glob("/graph/v1.0/organization", "/graph/v1.0/organization"));
    }

    #[test]
    fn a_fault_for_n_times_disappears_after_n_uses() {
        let f = Faults::default();
        f.add(FaultSpec::status("/graph/*", 503).times(2));
        assert!(
            f.take_http("GET", "/graph/v1.0/organization", None)
                .is_some()
        );
        assert!(
            f.take_http("GET", "/graph/v1.0/organization", None)
                .is_some()
        );
        assert!(
            f.take_http("GET", "/graph/v1.0/organization", None)
                .is_none()
        );
    }
}
