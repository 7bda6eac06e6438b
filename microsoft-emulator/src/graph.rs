//! Microsoft Graph (graph.microsoft.com): `GET /v1.0/organization` and `GET /v1.0/domains`
//! for the tenant of the bearer token.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::auth::{AccessClaims, bearer};
use crate::errors::GraphError;
use crate::seed::{GRAPH_APP_ID, GRAPH_RESOURCE};
use crate::state::EmulatorState;

pub(crate) fn routes() -> axum::Router<EmulatorState> {
    axum::Router::new()
        .route("/v1.0/organization", get(organization))
        .route("/v1.0/domains", get(domains))
}

fn authorize(
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
fn select(obj: Value, select: Option<&String>) -> Value {
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
