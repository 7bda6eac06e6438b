//! Microsoft Graph users: `GET /v1.0/users?$filter=...` (finding a user by mail or UPN) and
//! `GET /v1.0/users/{id}/transitiveMemberOf/microsoft.graph.directoryRole` (whether they hold a
//! directory role), for the tenant of the bearer token. Account recovery reads both, app-only.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::errors::GraphError;
use crate::graph::{authorize, select};
use crate::seed::User;
use crate::state::EmulatorState;

pub(crate) fn routes() -> axum::Router<EmulatorState> {
    axum::Router::new()
        .route("/v1.0/users", get(list_users))
        .route(
            "/v1.0/users/{id}/transitiveMemberOf/microsoft.graph.directoryRole",
            get(directory_roles),
        )
}

/// Permissions that may list users, delegated and application alike; `User.Read.All` is the
/// least privileged application one (`User.ReadBasic.All` is delegated only).
// Learn: https://learn.microsoft.com/en-us/graph/api/user-list ("Permissions").
const LIST_USERS_SCOPES: [&str; 5] = [
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const LIST_USERS_ROLES: [&str; 4] = [
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// Permissions that may list another user's transitive memberships; `User.Read.All` is the
/// least privileged, delegated and application.
// Learn: https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
// ("Permissions for another user's memberships").
const MEMBER_OF_PERMISSIONS: [&str; 5] = [
    "User.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "GroupMember.Read.All",
];

/// Permissions that may read directory role objects themselves. Without one, a membership
/// list still names each role, but only by `@odata.type` and `id`.
// Learn: https://learn.microsoft.com/en-us/graph/permissions-overview ("Limited information
// returned for inaccessible member objects"); directoryrole-get (RoleManagement.Read.Directory
// least privileged).
const READ_ROLE_PERMISSIONS: [&str; 4] = [
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// One `$filter` clause the emulator answers: `mail eq '...'` or `userPrincipalName eq '...'`,
/// joined with `or`. Graph compares both case-insensitively.
#[derive(Debug, PartialEq, Eq)]
enum Clause {
    Mail(String),
    UserPrincipalName(String),
}

impl Clause {
    fn matches(&self, u: &User) -> bool {
        match self {
            Clause::Mail(m) => u.mail.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(m)),
            Clause::UserPrincipalName(p) => u.upn.eq_ignore_ascii_case(p),
        }
    }
}

/// Parses `prop eq 'value' [or prop eq 'value']...`; OData doubles a quote inside a string.
/// `None` for anything else: the emulator refuses what it does not model rather than guess.
fn parse_filter(filter: &str) -> Option<Vec<Clause>> {
    let mut clauses = Vec::new();
    let mut rest = filter.trim();
    loop {
        let (prop, after) = rest.split_once(char::is_whitespace)?;
        let after = after.trim_start().strip_prefix("eq")?.trim_start();
        let mut chars = after.strip_prefix('\'')?.char_indices().peekable();
        let mut value = String::new();
        let end = loop {
            let (i, c) = chars.next()?;
            if c == '\'' {
                if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                    value.push('\'');
                } else {
                    break i + 2;
                }
            } else {
                value.push(c);
            }
        };
        clauses.push(match prop {
            p if p.eq_ignore_ascii_case("mail") => Clause::Mail(value),
            p if p.eq_ignore_ascii_case("userPrincipalName") => Clause::UserPrincipalName(value),
            _ => return None,
        });
        rest = after[end..].trim_start();
        if rest.is_empty() {
            return Some(clauses);
        }
        let (or, next) = rest.split_once(char::is_whitespace)?;
        if !or.eq_ignore_ascii_case("or") {
            return None;
        }
        rest = next.trim_start();
    }
}

/// A user's default properties, as Graph returns them from `GET /users`.
fn user_json(u: &User) -> Value {
    json!({
        "id": u.oid,
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": u.given_name,
        "jobTitle": u.job_title,
        "mail": u.mail,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": u.preferred_language,
        "surname": u.surname,
        "userPrincipalName": u.upn,
    })
}

/// `GET /v1.0/users?$filter=mail eq '...' or userPrincipalName eq '...'`: the tenant's users
/// that match any clause, each once. No `$filter` lists every user.
// Learn: https://learn.microsoft.com/en-us/graph/api/user-list (`$filter` on `mail` and
// `userPrincipalName` with `eq` and `or`; 200 with `value`); an unsupported clause is
// `400 Request_UnsupportedQuery` (aad-advanced-queries).
async fn list_users(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let claims = match authorize(&state, &headers, &LIST_USERS_SCOPES, &LIST_USERS_ROLES) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let clauses = match q.get("$filter") {
        None => None,
        Some(f) => match parse_filter(f) {
            Some(c) => Some(c),
            None => {
                return GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Unsupported or invalid query filter clause specified.",
                )
                .into_response();
            }
        },
    };
    let seed = state.seed();
    let Some(t) = seed.tenant(&claims.tid) else {
        return not_found("Resource not found.");
    };
    let value: Vec<Value> = t
        .users
        .iter()
        .filter(|u| {
            clauses
                .as_ref()
                .is_none_or(|cs| cs.iter().any(|c| c.matches(u)))
        })
        .map(|u| select(user_json(u), q.get("$select")))
        .collect();
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": value,
    }))
    .into_response()
}

/// Built-in role template ids (the same in every tenant), for the roles the demo and tests use.
// Learn: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
const ROLE_TEMPLATES: [(&str, &str); 10] = [
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        "Privileged Role Administrator",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    ),
    (
        "Authentication Policy Administrator",
        "0526716b-113d-4c15-b2c8-68e3c22b9f80",
    ),
    (
        "Application Administrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        "Cloud Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
];

/// The activated role's object id in a tenant: stable per tenant and role, unlike its template.
fn role_object_id(tid: &str, role: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!(
        "{}|{}",
        tid.to_ascii_lowercase(),
        role.to_ascii_lowercase()
    ));
    let x: String = h.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// `GET /v1.0/users/{id | userPrincipalName}/transitiveMemberOf/microsoft.graph.directoryRole`:
/// the directory roles the user holds, directly or through a role-assignable group (the
/// emulator has no groups, so its users' roles are all direct). Transitive, not `memberOf`:
/// a role held through a group makes an account just as privileged.
// Learn: https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof (OData cast to
// `microsoft.graph.directoryRole`; application `User.Read.All` least privileged); a role object
// the app may not read comes back with `@odata.type` and `id` only (permissions-overview,
// "Limited information returned for inaccessible member objects").
async fn directory_roles(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let claims = match authorize(
        &state,
        &headers,
        &MEMBER_OF_PERMISSIONS,
        &MEMBER_OF_PERMISSIONS,
    ) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let full = READ_ROLE_PERMISSIONS
        .iter()
        .any(|p| claims.has_role(p) || claims.has_scope(p));
    let seed = state.seed();
    let Some(user) = seed.tenant(&claims.tid).and_then(|t| {
        t.users
            .iter()
            .find(|u| u.oid.eq_ignore_ascii_case(&id) || u.upn.eq_ignore_ascii_case(&id))
    }) else {
        return not_found(&format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ));
    };
    let value: Vec<Value> = user
        .directory_roles()
        .iter()
        .map(|role| {
            let template = ROLE_TEMPLATES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(role))
                .map(|(_, t)| *t);
            let object_id = role_object_id(&claims.tid, role);
            if full {
                json!({
                    "@odata.type": "#microsoft.graph.directoryRole",
                    "id": object_id,
                    "deletedDateTime": null,
                    "description": null,
                    "displayName": role,
                    "roleTemplateId": template,
                })
            } else {
                json!({
                    "@odata.type": "#microsoft.graph.directoryRole",
                    "id": object_id,
                    "deletedDateTime": null,
                    "description": null,
                    "displayName": null,
                    "roleTemplateId": null,
                })
            }
        })
        .collect();
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryRoles",
        "value": value,
    }))
    .into_response()
}

fn not_found(message: &str) -> Response {
    GraphError::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_mail_and_upn_clauses_joined_by_or() {
        assert_eq!(
            parse_filter("mail eq 'a@b.c' or userPrincipalName eq 'O''Neil@b.c'"),
            Some(vec![
                Clause::Mail("a@b.c".into()),
                Clause::UserPrincipalName("O'Neil@b.c".into())
            ])
        );
        assert_eq!(
            parse_filter("Mail eq 'x'"),
            Some(vec![Clause::Mail("x".into())])
        );
        for bad in [
            "",
            "mail eq x",
            "mail ne 'x'",
            "displayName eq 'x'",
            "mail eq 'x' and mail eq 'y'",
            "mail eq 'x",
            "startswith(mail,'x')",
        ] {
            assert_eq!(parse_filter(bad), None, "{bad}");
        }
    }
}
