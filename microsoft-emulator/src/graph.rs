//! Microsoft Graph (graph.microsoft.com): `GET /v1.0/organization` and `GET /v1.0/domains`
//! for the tenant of the bearer token, and `POST /v1.0/users/{id}/revokeSignInSessions`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::auth::{AccessClaims, bearer};
use crate::errors::GraphError;
use crate::seed::{GRAPH_APP_ID, GRAPH_RESOURCE};
use crate::state::EmulatorState;

pub(crate) fn routes() -> axum::Router<EmulatorState> {
    axum::Router::new()
        .route("/v1.0/organization", get(organization))
        .route("/v1.0/domains", get(domains))
        .route(
            "/v1.0/users/{id}/revokeSignInSessions",
            post(revoke_sign_in_sessions),
        )
        .route(
            "/v1.0/me/revokeSignInSessions",
            post(revoke_own_sign_in_sessions),
        )
}

/// Permissions that may call `revokeSignInSessions`, delegated and application alike
/// (`User.RevokeSessions.All` is the least privileged).
const REVOKE_PERMISSIONS: [&str; 3] = [
    "User.RevokeSessions.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];

/// Directory roles with which a signed-in user may revoke another user's sessions (the
/// emulator's reading of "a supported Microsoft Entra role": the stricter short list).
const REVOKE_ROLES: [&str; 4] = [
    crate::seed::GLOBAL_ADMINISTRATOR,
    "Privileged Authentication Administrator",
    "User Administrator",
    "Helpdesk Administrator",
];

/// `POST /v1.0/users/{id | userPrincipalName}/revokeSignInSessions`: every refresh token of
/// the user is refused from now on, and their sign-in sessions end. `200 {"value": true}`.
// Learn: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions (permissions:
// User.RevokeSessions.All least privileged, delegated or application; in delegated calls on
// another user the signed-in user needs a supported Entra role; response `200` with
// `"value": true`).
async fn revoke_sign_in_sessions(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let claims = match authorize(&state, &headers, &REVOKE_PERMISSIONS, &REVOKE_PERMISSIONS) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !claims.is_app() {
        let seed = state.seed();
        let caller = claims
            .oid
            .as_deref()
            .and_then(|oid| seed.tenant(&claims.tid)?.user_by_oid(oid).cloned());
        let is_self = caller
            .as_ref()
            .is_some_and(|u| u.oid.eq_ignore_ascii_case(&id) || u.upn.eq_ignore_ascii_case(&id));
        let may = caller.as_ref().is_some_and(|u| {
            u.directory_roles()
                .iter()
                .any(|r| REVOKE_ROLES.iter().any(|w| w.eq_ignore_ascii_case(r)))
        });
        if !is_self && !may {
            return GraphError::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
            .into_response();
        }
    }
    revoked(&state, &claims.tid, &id)
}

/// `POST /v1.0/me/revokeSignInSessions`: the signed-in user's own sessions (delegated only).
async fn revoke_own_sign_in_sessions(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
) -> Response {
    let claims = match authorize(&state, &headers, &REVOKE_PERMISSIONS, &[]) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match claims.oid.clone() {
        Some(oid) if !claims.is_app() => revoked(&state, &claims.tid, &oid),
        _ => GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )
        .into_response(),
    }
}

/// Graph names a user by object id or UPN only.
fn revoked(state: &EmulatorState, tid: &str, user: &str) -> Response {
    let known = state.seed().tenant(tid).is_some_and(|t| {
        t.users
            .iter()
            .any(|u| u.oid.eq_ignore_ascii_case(user) || u.upn.eq_ignore_ascii_case(user))
    });
    if !known || !state.revoke_sign_in_sessions(tid, user) {
        return GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{user}' does not exist or one of its queried reference-property objects are not present."),
        )
        .into_response();
    }
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean",
        "value": true,
    }))
    .into_response()
}

pub(crate) fn authorize(
    state: &EmulatorState,
    headers: &HeaderMap,
    scopes: &[&str],
    roles: &[&str],
) -> Result<AccessClaims, GraphError> {
    let claims = bearer(state, headers, &[GRAPH_RESOURCE, GRAPH_APP_ID]).map_err(|p| {
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            p.message(),
        )
    })?;
    let allowed =
        scopes.iter().any(|s| claims.has_scope(s)) || roles.iter().any(|r| claims.has_role(r));
    if !allowed {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ));
    }
    Ok(claims)
}

/// Applies `$select` (comma-separated property names) to an object.
pub(crate) fn select(obj: Value, select: Option<&String>) -> Value {
    let Some(sel) = select else { return obj };
    let keep: Vec<&str> = sel.split(',').map(str::trim).collect();
    match obj {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| keep.iter().any(|s| s.eq_ignore_ascii_case(k)))
                .collect(),
        ),
        other => other,
    }
}

async fn organization(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let claims = match authorize(
        &state,
        &headers,
        &["User.Read", "Organization.Read.All", "Directory.Read.All"],
        &["Organization.Read.All", "Directory.Read.All"],
    ) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let seed = state.seed();
    let Some(t) = seed.tenant(&claims.tid) else {
        return GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            "Resource not found.",
        )
        .into_response();
    };
    let verified: Vec<Value> = t
        .domains
        .iter()
        .map(|d| {
            json!({
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": d.is_default,
                "isInitial": d.is_initial,
                "name": d.name,
                "type": "Managed",
            })
        })
        .collect();
    // With only User.Read, every other property comes back null.
    let org = json!({
        "id": t.id,
        "displayName": t.display_name,
        "verifiedDomains": verified,
        "businessPhones": [],
        "city": null, "country": null, "countryLetterCode": null, "createdDateTime": null,
        "deletedDateTime": null, "postalCode": null, "preferredLanguage": null, "state": null,
        "street": null, "tenantType": null, "technicalNotificationMails": [],
    });
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization",
        "value": [select(org, q.get("$select"))],
    }))
    .into_response()
}

async fn domains(State(state): State<EmulatorState>, headers: HeaderMap) -> Response {
    let claims = match authorize(
        &state,
        &headers,
        &[
            "Domain.Read.All",
            "Domain.ReadWrite.All",
            "Directory.Read.All",
        ],
        &[
            "Domain.Read.All",
            "Domain.ReadWrite.All",
            "Directory.Read.All",
        ],
    ) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let seed = state.seed();
    let Some(t) = seed.tenant(&claims.tid) else {
        return GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            "Resource not found.",
        )
        .into_response();
    };
    let value: Vec<Value> = t
        .domains
        .iter()
        .map(|d| {
            json!({
                "authenticationType": "Managed",
                "availabilityStatus": null,
                "id": d.name,
                "isAdminManaged": true,
                "isDefault": d.is_default,
                "isInitial": d.is_initial,
                "isRoot": true,
                "isVerified": true,
                "passwordNotificationWindowInDays": 14,
                "passwordValidityPeriodInDays": 2147483647,
                "supportedServices": ["Email", "OfficeCommunicationsOnline"],
                "state": null,
            })
        })
        .collect();
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#domains",
        "value": value,
    }))
    .into_response()
}
