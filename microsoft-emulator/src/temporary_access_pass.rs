//! Temporary Access Pass: each tenant's authentication methods policy for it, and Graph's
//! `POST`/`GET /v1.0/users/{id}/authentication/temporaryAccessPassMethods`, app-only.
//!
//! Learn documents the policy's fields and the create request, not the create's error codes.
//! Where it is silent the emulator takes the stricter reading and says so (README, "Temporary
//! Access Pass"): every refusal below is `400 badRequest` with its own message.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::errors::GraphError;
use crate::graph::authorize;
use crate::state::EmulatorState;

/// Who the policy lets use a pass. The emulator has no groups: a list of users (oid, UPN or
/// mail) stands for an include group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "users", rename_all = "snake_case")]
pub enum TapTargets {
    AllUsers,
    Users(Vec<String>),
}

/// A tenant's Temporary Access Pass authentication methods policy. The defaults are Microsoft's
/// for a tenant that never changed it: disabled, all users, lifetimes 60/60/480 minutes,
/// reusable passes allowed, 8 characters.
// Learn: https://learn.microsoft.com/en-us/graph/api/resources/temporaryaccesspassauthenticationmethodconfiguration
// (state, includeTargets, excludeTargets, minimum/maximum/defaultLifetimeInMinutes each between
// 10 and 43200, isUsableOnce, defaultLength 8 to 48); defaults from
// https://learn.microsoft.com/en-us/entra/identity/authentication/howto-authentication-temporary-access-pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapPolicy {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "all_users")]
    pub include: TapTargets,
    /// Users (oid, UPN or mail) excluded even when included.
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default = "sixty")]
    pub minimum_lifetime_in_minutes: u32,
    #[serde(default = "four_eighty")]
    pub maximum_lifetime_in_minutes: u32,
    #[serde(default = "sixty")]
    pub default_lifetime_in_minutes: u32,
    /// `true`: every pass is one-time; `false`: a create may ask for either.
    #[serde(default)]
    pub is_usable_once: bool,
    #[serde(default = "eight")]
    pub default_length: u32,
}

fn all_users() -> TapTargets {
    TapTargets::AllUsers
}
fn sixty() -> u32 {
    60
}
fn four_eighty() -> u32 {
    480
}
fn eight() -> u32 {
    8
}

impl Default for TapPolicy {
    fn default() -> Self {
        TapPolicy {
            enabled: false,
            include: all_users(),
            exclude: vec![],
            minimum_lifetime_in_minutes: sixty(),
            maximum_lifetime_in_minutes: four_eighty(),
            default_lifetime_in_minutes: sixty(),
            is_usable_once: false,
            default_length: eight(),
        }
    }
}

impl TapPolicy {
    /// Enabled for all users, otherwise Microsoft's defaults.
    pub fn enabled() -> TapPolicy {
        TapPolicy {
            enabled: true,
            ..TapPolicy::default()
        }
    }

    /// What Graph's update of the policy would refuse: lifetimes outside 10..=43200 or not
    /// ordered min <= default <= max, a length outside 8..=48.
    pub fn validate(&self) -> Result<(), String> {
        let range = 10..=43_200;
        for (name, v) in [
            ("minimum", self.minimum_lifetime_in_minutes),
            ("maximum", self.maximum_lifetime_in_minutes),
            ("default", self.default_lifetime_in_minutes),
        ] {
            if !range.contains(&v) {
                return Err(format!("the {name} lifetime must be 10 to 43200 minutes"));
            }
        }
        if !(self.minimum_lifetime_in_minutes <= self.default_lifetime_in_minutes
            && self.default_lifetime_in_minutes <= self.maximum_lifetime_in_minutes)
        {
            return Err("lifetimes must be ordered minimum <= default <= maximum".into());
        }
        if !(8..=48).contains(&self.default_length) {
            return Err("the length must be 8 to 48 characters".into());
        }
        Ok(())
    }

    fn targets(&self, user: &crate::seed::User) -> bool {
        let included = match &self.include {
            TapTargets::AllUsers => true,
            TapTargets::Users(names) => names.iter().any(|n| user.is_named(n)),
        };
        included && !self.exclude.iter().any(|n| user.is_named(n))
    }
}

/// A pass on a user. The pass itself is not kept: Graph shows it once, in the create answer.
#[derive(Clone, Debug)]
struct IssuedPass {
    id: String,
    created: OffsetDateTime,
    start: OffsetDateTime,
    lifetime_in_minutes: u32,
    is_usable_once: bool,
}

impl IssuedPass {
    /// `isUsable` and `methodUsabilityReason` now.
    fn usability(&self, now: OffsetDateTime) -> (bool, &'static str) {
        let end = self.start + time::Duration::minutes(i64::from(self.lifetime_in_minutes));
        if now < self.start {
            (false, "NotYetValid")
        } else if now >= end {
            (false, "Expired")
        } else {
            (true, "EnabledByPolicy")
        }
    }

    fn json(&self, pass: Option<&str>) -> Value {
        let (usable, reason) = self.usability(OffsetDateTime::now_utc());
        json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
            "id": self.id,
            "temporaryAccessPass": pass,
            "createdDateTime": rfc3339(self.created),
            "startDateTime": rfc3339(self.start),
            "lifetimeInMinutes": self.lifetime_in_minutes,
            "isUsableOnce": self.is_usable_once,
            "isUsable": usable,
            "methodUsabilityReason": reason,
        })
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Policies by tenant (absent: Microsoft's defaults) and passes by (tenant, user oid).
#[derive(Default)]
pub(crate) struct TapStore {
    policies: HashMap<String, TapPolicy>,
    passes: HashMap<(String, String), IssuedPass>,
}

impl TapStore {
    fn policy(&self, tid: &str) -> TapPolicy {
        self.policies
            .get(&tid.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }
}

impl EmulatorState {
    /// Sets a tenant's Temporary Access Pass policy. `Err` with the reason when the tenant is
    /// unknown or the policy is one Graph would refuse.
    pub fn set_temporary_access_pass_policy(
        &self,
        tenant_id: &str,
        policy: TapPolicy,
    ) -> Result<(), String> {
        if self.seed().tenant(tenant_id).is_none() {
            return Err(format!("unknown tenant {tenant_id}"));
        }
        policy.validate()?;
        self.store()
            .temporary_access_passes
            .policies
            .insert(tenant_id.to_ascii_lowercase(), policy);
        Ok(())
    }

    /// Whether the user (oid, UPN or mail) holds a pass now, usable or not.
    pub fn has_temporary_access_pass(&self, tenant_id: &str, user: &str) -> bool {
        let Some(oid) = self.seed().tenant(tenant_id).and_then(|t| {
            t.users
                .iter()
                .find(|u| u.is_named(user))
                .map(|u| u.oid.clone())
        }) else {
            return false;
        };
        self.store()
            .temporary_access_passes
            .passes
            .contains_key(&key(tenant_id, &oid))
    }
}

fn key(tid: &str, oid: &str) -> (String, String) {
    (tid.to_ascii_lowercase(), oid.to_ascii_lowercase())
}

pub(crate) fn routes() -> axum::Router<EmulatorState> {
    axum::Router::new().route(
        "/v1.0/users/{id}/authentication/temporaryAccessPassMethods",
        post(create).get(list),
    )
}

/// `PUT /_control/tenants/{tid}/temporary_access_pass_policy` with a `TapPolicy` (snake_case,
/// omitted fields take Microsoft's defaults). 204; 404 unknown tenant; 422 a policy Graph
/// would refuse.
pub(crate) fn control_routes() -> axum::Router<EmulatorState> {
    axum::Router::new().route(
        "/_control/tenants/{tid}/temporary_access_pass_policy",
        put(control_policy),
    )
}

async fn control_policy(
    State(state): State<EmulatorState>,
    Path(tid): Path<String>,
    Json(policy): Json<TapPolicy>,
) -> Response {
    if state.seed().tenant(&tid).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.set_temporary_access_pass_policy(&tid, policy) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => (StatusCode::UNPROCESSABLE_ENTITY, why).into_response(),
    }
}

/// Creating a pass for another user, app-only. `UserAuthMethod-TAP.ReadWrite.All` is the
/// TAP-only permission newer Learn pages list; `UserAuthenticationMethod.ReadWrite.All` the
/// one every version lists. Delegated calls are not modelled: they are refused.
// Learn: https://learn.microsoft.com/en-us/graph/api/authentication-post-temporaryaccesspassmethods
// ("Permissions acting on other users").
const CREATE_ROLES: [&str; 2] = [
    "UserAuthMethod-TAP.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
];
/// Reading a user's pass, app-only.
// Learn: https://learn.microsoft.com/en-us/graph/api/authentication-list-temporaryaccesspassmethods
const LIST_ROLES: [&str; 4] = [
    "UserAuthMethod-TAP.Read.All",
    "UserAuthMethod-TAP.ReadWrite.All",
    "UserAuthenticationMethod.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    #[serde(default, rename = "@odata.type")]
    _odata_type: Option<String>,
    #[serde(default)]
    is_usable_once: Option<bool>,
    #[serde(default)]
    lifetime_in_minutes: Option<u32>,
    #[serde(default)]
    start_date_time: Option<String>,
}

fn bad_request(message: impl Into<String>) -> Response {
    GraphError::new(StatusCode::BAD_REQUEST, "badRequest", message).into_response()
}

/// The user named in the path (object id or UPN, as Graph accepts), with their oid.
fn find_user(state: &EmulatorState, tid: &str, id: &str) -> Option<crate::seed::User> {
    state.seed().tenant(tid).and_then(|t| {
        t.users
            .iter()
            .find(|u| u.oid.eq_ignore_ascii_case(id) || u.upn.eq_ignore_ascii_case(id))
            .cloned()
    })
}

fn user_not_found(id: &str) -> Response {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
    .into_response()
}

/// `POST /v1.0/users/{id | userPrincipalName}/authentication/temporaryAccessPassMethods`
/// `{isUsableOnce?, lifetimeInMinutes?, startDateTime?}`: `201` with the pass, shown this once.
/// Checked in this order: token and permission (401/403), user (404), policy enabled, user
/// targeted, lifetime within the policy's bounds, one-time use as the policy demands (400).
/// A user holds one pass: a new one replaces the previous (Learn: "the previous Temporary
/// Access Pass will be deleted").
// Learn: https://learn.microsoft.com/en-us/graph/api/authentication-post-temporaryaccesspassmethods
// (request body: lifetimeInMinutes optional, 10 to 43200, default the policy's
// defaultLifetimeInMinutes; isUsableOnce optional, a reusable pass only if the policy allows;
// startDateTime optional, default now; response 201 with temporaryAccessPass, isUsable,
// methodUsabilityReason). Lifetime message as Graph words it (microsoft-graph-docs PR 12187).
async fn create(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let claims = match authorize(&state, &headers, &[], &CREATE_ROLES) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(user) = find_user(&state, &claims.tid, &id) else {
        return user_not_found(&id);
    };
    let body: CreateBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("Invalid request body: {e}")),
    };
    let policy = state.store().temporary_access_passes.policy(&claims.tid);
    if !policy.enabled {
        return bad_request(
            "Temporary Access Pass is disabled in the tenant's authentication methods policy.",
        );
    }
    if !policy.targets(&user) {
        return bad_request(
            "The user is not a target of the Temporary Access Pass authentication methods policy.",
        );
    }
    let lifetime = body
        .lifetime_in_minutes
        .unwrap_or(policy.default_lifetime_in_minutes);
    if !(policy.minimum_lifetime_in_minutes..=policy.maximum_lifetime_in_minutes)
        .contains(&lifetime)
    {
        return bad_request(format!(
            "Invalid LifetimeInMinutes specified. The valid range between {} and {}.",
            policy.minimum_lifetime_in_minutes, policy.maximum_lifetime_in_minutes
        ));
    }
    let is_usable_once = body.is_usable_once.unwrap_or(policy.is_usable_once);
    if policy.is_usable_once && !is_usable_once {
        return bad_request(
            "Invalid IsUsableOnce specified. The policy allows only one-time Temporary Access Passes.",
        );
    }
    let now = OffsetDateTime::now_utc();
    let start = match body.start_date_time.as_deref() {
        None => now,
        Some(s) => match OffsetDateTime::parse(s, &Rfc3339) {
            Ok(t) => t,
            Err(_) => return bad_request("Invalid StartDateTime specified."),
        },
    };
    let issued = IssuedPass {
        id: uuid::Uuid::new_v4().to_string(),
        created: now,
        start,
        lifetime_in_minutes: lifetime,
        is_usable_once,
    };
    let pass = generate(policy.default_length as usize);
    let mut answer = issued.json(Some(&pass));
    answer["@odata.context"] = json!(format!(
        "https://graph.microsoft.com/v1.0/$metadata#users('{}')/authentication/temporaryAccessPassMethods/$entity",
        user.oid
    ));
    state
        .store()
        .temporary_access_passes
        .passes
        .insert(key(&claims.tid, &user.oid), issued);
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// `GET .../temporaryAccessPassMethods`: the user's pass, if any, without the pass itself.
// Learn: https://learn.microsoft.com/en-us/graph/api/authentication-list-temporaryaccesspassmethods
// (one object at most; temporaryAccessPass is null outside the create answer).
async fn list(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let claims = match authorize(&state, &headers, &[], &LIST_ROLES) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(user) = find_user(&state, &claims.tid, &id) else {
        return user_not_found(&id);
    };
    let value: Vec<Value> = state
        .store()
        .temporary_access_passes
        .passes
        .get(&key(&claims.tid, &user.oid))
        .map(|p| p.json(None))
        .into_iter()
        .collect();
    Json(json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#users('{}')/authentication/temporaryAccessPassMethods", user.oid),
        "value": value,
    }))
    .into_response()
}

/// A pass of `len` characters from letters, digits and a few symbols, as Entra's look
/// (`+drkzqAD` in Learn's example).
fn generate(len: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+-=#@&%!?*";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_graph_would_refuse_is_refused() {
        assert!(TapPolicy::default().validate().is_ok());
        let bad = |f: fn(&mut TapPolicy)| {
            let mut p = TapPolicy::default();
            f(&mut p);
            p.validate().is_err()
        };
        assert!(bad(|p| p.minimum_lifetime_in_minutes = 9));
        assert!(bad(|p| p.maximum_lifetime_in_minutes = 43_201));
        assert!(bad(|p| p.default_lifetime_in_minutes = 500));
        assert!(bad(|p| p.default_length = 7));
        assert!(bad(|p| p.default_length = 49));
    }

    #[test]
    fn passes_have_the_policy_length() {
        assert_eq!(generate(8).chars().count(), 8);
        assert_ne!(generate(16), generate(16));
    }
}
