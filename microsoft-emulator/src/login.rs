//! The identity platform (login.microsoftonline.com): OIDC discovery, JWKS, the authorize page
//! with sign-in and consent, the token endpoint (authorization code + PKCE, refresh token,
//! client credentials) and both admin-consent endpoints.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::errors::AadError;
use crate::html::{error_page, esc, page};
use crate::keys::{now, pkce_s256, random_token};
use crate::seed::{
    ADMIN_RESOURCE, ClientApp, GRAPH_APP_ID, GRAPH_RESOURCE, REQUEST_SERVICE_RESOURCE, Tenant, User,
};
use crate::state::EmulatorState;

const CODE_LIFETIME_SECS: i64 = 600;
const TOKEN_LIFETIME_SECS: i64 = 3599;

pub(crate) fn routes() -> axum::Router<EmulatorState> {
    axum::Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/adminconsent", get(admin_consent_v1))
        .route("/{tenant}/v2.0/adminconsent", get(admin_consent_v2))
        .route("/_emulator/decide", post(decide))
}

/// A `{tenant}` path segment, resolved.
#[derive(Clone, Debug)]
enum TenantPath {
    /// A tenant GUID (a domain name resolves to its tenant).
    One(String),
    /// `organizations` or `common`.
    Multi(String),
}

impl TenantPath {
    fn tid(&self) -> Option<&str> {
        match self {
            TenantPath::One(t) => Some(t),
            TenantPath::Multi(_) => None,
        }
    }
    fn segment(&self) -> &str {
        match self {
            TenantPath::One(t) | TenantPath::Multi(t) => t,
        }
    }
}

fn tenant_not_found(seg: &str) -> AadError {
    AadError::new(
        "invalid_tenant",
        90002,
        format!(
            "Tenant '{seg}' not found. Check to make sure you have the correct tenant ID and are \
             signing into the correct cloud."
        ),
    )
}

fn resolve(state: &EmulatorState, seg: &str) -> Result<TenantPath, AadError> {
    if seg.eq_ignore_ascii_case("organizations") || seg.eq_ignore_ascii_case("common") {
        return Ok(TenantPath::Multi(seg.to_ascii_lowercase()));
    }
    let seed = state.seed();
    seed.tenants
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(seg) || t.has_domain(seg))
        .map(|t| TenantPath::One(t.id.clone()))
        .ok_or_else(|| tenant_not_found(seg))
}

async fn discovery(State(state): State<EmulatorState>, Path(seg): Path<String>) -> Response {
    let tp = match resolve(&state, &seg) {
        Ok(tp) => tp,
        Err(e) => return e.into_response(),
    };
    let login = state.login_url();
    let (path, iss_tid) = match &tp {
        TenantPath::One(t) => (t.clone(), t.clone()),
        TenantPath::Multi(m) => (m.clone(), "{tenantid}".to_string()),
    };
    Json(json!({
        "token_endpoint": format!("{login}/{path}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{login}/{path}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": state.issuer(&iss_tid),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{}/oidc/userinfo", state.graph_url()),
        "authorization_endpoint": format!("{login}/{path}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{login}/{path}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{login}/{path}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
            "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{login}/{path}/kerberos"),
        "tenant_region_scope": if tp.tid().is_some() { json!("EU") } else { json!(null) },
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }))
    .into_response()
}

async fn keys(State(state): State<EmulatorState>, Path(seg): Path<String>) -> Response {
    match resolve(&state, &seg) {
        Ok(_) => {
            let jwk = state.0.keys.jwk(&state.issuer("{tenantid}"));
            Json(json!({"keys": [jwk]})).into_response()
        }
        Err(e) => e.into_response(),
    }
}

// ---------------------------------------------------------------- authorize and consent pages

#[derive(Clone, Debug)]
pub(crate) enum ConsentKind {
    Authorize,
    AdminConsentV1,
    AdminConsentV2 { scope: String },
}

#[derive(Clone, Debug)]
pub(crate) struct PendingSignIn {
    kind: ConsentKind,
    path: TenantPath,
    client_id: String,
    redirect_uri: String,
    response_mode: String,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt_consent: bool,
    created: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    client_id: String,
    redirect_uri: String,
    tid: String,
    oid: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    issued: i64,
    redeemed: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    client_id: String,
    tid: String,
    oid: String,
    scope: String,
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    response_type: Option<String>,
    redirect_uri: Option<String>,
    response_mode: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
    login_hint: Option<String>,
}

/// Checks what Microsoft checks before it trusts `redirect_uri`; failures are an error page.
fn check_client_and_redirect(
    state: &EmulatorState,
    path: &TenantPath,
    client_id: Option<&str>,
    redirect_uri: Option<&str>,
) -> Result<(ClientApp, String), (u32, String)> {
    let Some(client_id) = client_id.filter(|c| !c.is_empty()) else {
        return Err((
            900144,
            "The request body must contain the following parameter: 'client_id'.".to_string(),
        ));
    };
    let seed = state.seed();
    let Some(client) = seed.client(client_id).cloned() else {
        let dir = match path {
            TenantPath::One(t) => seed
                .tenant(t)
                .map(|t| t.display_name.clone())
                .unwrap_or_default(),
            TenantPath::Multi(m) => m.clone(),
        };
        return Err((
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{dir}'. \
                 This can happen if the application has not been installed by the administrator of \
                 the tenant or consented to by any user in the tenant."
            ),
        ));
    };
    let Some(redirect_uri) = redirect_uri.filter(|r| !r.is_empty()) else {
        return Err((
            900144,
            "The request body must contain the following parameter: 'redirect_uri'.".to_string(),
        ));
    };
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err((
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the \
                 redirect URIs configured for the application '{}'.",
                client.client_id
            ),
        ));
    }
    Ok((client, redirect_uri.to_string()))
}

async fn authorize(
    State(state): State<EmulatorState>,
    Path(seg): Path<String>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let path = match resolve(&state, &seg) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, e.code, &e.message),
    };
    let (client, redirect_uri) = match check_client_and_redirect(
        &state,
        &path,
        q.client_id.as_deref(),
        q.redirect_uri.as_deref(),
    ) {
        Ok(ok) => ok,
        Err((code, message)) => return error_page(StatusCode::BAD_REQUEST, code, &message),
    };
    let response_mode = q.response_mode.clone().unwrap_or_else(|| "query".into());
    // From here on Microsoft reports errors to the (trusted) redirect URI.
    let fail = |error: &str, e: AadError| {
        redirect_with(
            &redirect_uri,
            &response_mode,
            &[
                ("error", error),
                ("error_description", &e.short_description()),
                ("state", q.state.as_deref().unwrap_or_default()),
            ],
        )
    };
    if !matches!(response_mode.as_str(), "query" | "fragment" | "form_post") {
        return fail(
            "invalid_request",
            AadError::new(
                "invalid_request",
                90015,
                "Requested query string is too long, or response_mode is invalid.",
            ),
        );
    }
    if q.response_type.as_deref() != Some("code") {
        return fail(
            "unsupported_response_type",
            AadError::new(
                "unsupported_response_type",
                700054,
                "response_type must be 'code' for this emulator (id_token and hybrid flows are not emulated).",
            ),
        );
    }
    let Some(scope) = q.scope.clone().filter(|s| !s.trim().is_empty()) else {
        return fail(
            "invalid_request",
            AadError::new(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            ),
        );
    };
    if let Err(e) = requested_resource(&scope) {
        return fail("invalid_scope", e);
    }
    if let Some(challenge) = &q.code_challenge {
        let method = q.code_challenge_method.as_deref().unwrap_or("plain");
        if method != "S256" {
            return fail(
                "invalid_request",
                AadError::new(
                    "invalid_request",
                    501491,
                    format!(
                        "Invalid code_challenge_method '{method}': this emulator accepts S256 only."
                    ),
                ),
            );
        }
        if challenge.len() != 43 {
            return fail(
                "invalid_request",
                AadError::new(
                    "invalid_request",
                    501481,
                    "The code_challenge is not a valid S256 challenge (43 base64url characters).",
                ),
            );
        }
    }
    let pending = PendingSignIn {
        kind: ConsentKind::Authorize,
        path,
        client_id: client.client_id.clone(),
        redirect_uri,
        response_mode,
        scope,
        state: q.state.clone(),
        nonce: q.nonce.clone(),
        code_challenge: q.code_challenge.clone(),
        prompt_consent: q
            .prompt
            .as_deref()
            .is_some_and(|p| p.split(' ').any(|x| x == "consent")),
        created: now(),
    };
    sign_in_page(&state, pending, &client, q.login_hint.as_deref())
}

#[derive(Debug, Deserialize)]
struct AdminConsentQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
}

async fn admin_consent_v1(
    State(state): State<EmulatorState>,
    Path(seg): Path<String>,
    Query(q): Query<AdminConsentQuery>,
) -> Response {
    admin_consent(state, seg, q, false)
}

async fn admin_consent_v2(
    State(state): State<EmulatorState>,
    Path(seg): Path<String>,
    Query(q): Query<AdminConsentQuery>,
) -> Response {
    admin_consent(state, seg, q, true)
}

fn admin_consent(state: EmulatorState, seg: String, q: AdminConsentQuery, v2: bool) -> Response {
    let path = match resolve(&state, &seg) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, e.code, &e.message),
    };
    if v2 && path.segment() == "common" {
        return error_page(
            StatusCode::BAD_REQUEST,
            50194,
            "The v2.0 admin consent endpoint does not accept 'common'. Use a tenant id or 'organizations'.",
        );
    }
    let (client, redirect_uri) = match check_client_and_redirect(
        &state,
        &path,
        q.client_id.as_deref(),
        q.redirect_uri.as_deref(),
    ) {
        Ok(ok) => ok,
        Err((code, message)) => return error_page(StatusCode::BAD_REQUEST, code, &message),
    };
    let kind = if v2 {
        let scope = q.scope.clone().unwrap_or_default();
        if scope.trim().is_empty() {
            return redirect_with(
                &redirect_uri,
                "query",
                &[
                    ("error", "invalid_request"),
                    (
                        "error_description",
                        &AadError::new(
                            "invalid_request",
                            900144,
                            "The request body must contain the following parameter: 'scope'.",
                        )
                        .short_description(),
                    ),
                    ("state", q.state.as_deref().unwrap_or_default()),
                ],
            );
        }
        ConsentKind::AdminConsentV2 { scope }
    } else {
        ConsentKind::AdminConsentV1
    };
    let pending = PendingSignIn {
        kind,
        path,
        client_id: client.client_id.clone(),
        redirect_uri,
        response_mode: "query".into(),
        scope: String::new(),
        state: q.state.clone(),
        nonce: None,
        code_challenge: None,
        prompt_consent: true,
        created: now(),
    };
    sign_in_page(&state, pending, &client, None)
}

fn sign_in_page(
    state: &EmulatorState,
    pending: PendingSignIn,
    client: &ClientApp,
    login_hint: Option<&str>,
) -> Response {
    let txn = random_token(24);
    let mut accounts = String::new();
    {
        let seed = state.seed();
        for t in seed
            .tenants
            .iter()
            .filter(|t| pending.path.tid().is_none_or(|id| id == t.id))
        {
            accounts.push_str(&format!("<p class=\"note\">{}</p>", esc(&t.display_name)));
            for u in &t.users {
                let checked = login_hint.is_some_and(|h| {
                    h.eq_ignore_ascii_case(&u.upn)
                        || u.mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(h))
                });
                accounts.push_str(&format!(
                    "<label class=\"account\"><input type=\"radio\" name=\"account\" value=\"{oid}\"{checked} \
                     data-testid=\"account-{upn}\" aria-label=\"{name} ({email})\"> {name} <span class=\"note\">{email}{admin}</span></label>",
                    oid = esc(&u.oid),
                    checked = if checked { " checked" } else { "" },
                    upn = esc(&u.upn),
                    name = esc(&u.display_name),
                    email = esc(u.mail.as_deref().unwrap_or(&u.upn)),
                    admin = if u.is_admin { " · administrator" } else { "" },
                ));
            }
        }
    }
    let heading = match pending.kind {
        ConsentKind::Authorize if pending.prompt_consent => "Permissions requested",
        ConsentKind::Authorize => "Pick an account",
        _ => "Permissions requested — Accept for your organization",
    };
    let body = format!(
        "<p class=\"brand\">Microsoft (emulator)</p><h1>{heading}</h1>\
<p><strong>{app}</strong> wants to: sign you in and read your profile; read your organization's \
verified domains; manage your organization's Verified ID authority; create Verified ID presentation requests.</p>\
<form method=\"post\" action=\"{login}/_emulator/decide\">\
<input type=\"hidden\" name=\"txn\" value=\"{txn}\">{accounts}\
<p class=\"note\">Accepting these permissions means that you allow this app to use your data as specified.</p>\
<div class=\"buttons\"><button type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>\
<button type=\"submit\" name=\"action\" value=\"accept\" class=\"primary\">Accept</button></div>\
<p class=\"note\">Emulator only: <button type=\"submit\" name=\"action\" value=\"decline\">Decline consent (AADSTS65004)</button></p>\
</form>",
        app = esc(&client.display_name),
        login = esc(&state.login_url()),
    );
    state.store().pending.insert(txn, pending);
    Html(page("Sign in to your account", &body)).into_response()
}

/// Appends parameters to `redirect_uri` (query or fragment) or answers with a form_post page.
fn redirect_with(redirect_uri: &str, mode: &str, params: &[(&str, &str)]) -> Response {
    let params: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if mode == "form_post" {
        let inputs: String = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    esc(k),
                    esc(v)
                )
            })
            .collect();
        let body = format!(
            "<form method=\"post\" action=\"{}\" id=\"f\">{inputs}<noscript><button>Continue</button></noscript></form>\
<script>document.getElementById('f').submit()</script>",
            esc(redirect_uri)
        );
        return Html(page("Working...", &body)).into_response();
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let target = if mode == "fragment" {
        format!("{redirect_uri}#{encoded}")
    } else if redirect_uri.contains('?') {
        format!("{redirect_uri}&{encoded}")
    } else {
        format!("{redirect_uri}?{encoded}")
    };
    Redirect::to(&target).into_response()
}

#[derive(Debug, Deserialize)]
struct Decision {
    txn: String,
    account: Option<String>,
    action: String,
}

async fn decide(
    State(state): State<EmulatorState>,
    axum::Form(d): axum::Form<Decision>,
) -> Response {
    let Some(p) = state.store().pending.remove(&d.txn) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            50058,
            "The sign-in session was not found or was already used. Start the sign-in again.",
        );
    };
    if now() - p.created > CODE_LIFETIME_SECS * 3 {
        return error_page(
            StatusCode::BAD_REQUEST,
            50058,
            "The sign-in session expired. Start the sign-in again.",
        );
    }
    let st = p.state.clone().unwrap_or_default();
    let back = |pairs: &[(&str, &str)]| redirect_with(&p.redirect_uri, &p.response_mode, pairs);
    let denied = |e: AadError, cancel: bool| match &p.kind {
        ConsentKind::Authorize => {
            let desc = e.short_description();
            if cancel {
                back(&[
                    ("error", "access_denied"),
                    ("error_subcode", "cancel"),
                    ("error_description", &desc),
                    ("state", &st),
                ])
            } else {
                back(&[
                    ("error", e.error),
                    ("error_description", &desc),
                    ("state", &st),
                ])
            }
        }
        ConsentKind::AdminConsentV1 => back(&[
            ("error", "permission_denied"),
            (
                "error_description",
                if cancel {
                    "The admin canceled the request"
                } else {
                    &e.message
                },
            ),
            ("state", &st),
        ]),
        ConsentKind::AdminConsentV2 { .. } => back(&[
            ("admin_consent", "True"),
            ("error", "consent_required"),
            ("error_description", &e.short_description()),
            ("state", &st),
        ]),
    };
    let declined = AadError::new(
        "consent_required",
        65004,
        "The resource owner or authorization server denied the request.",
    );
    match d.action.as_str() {
        "cancel" => {
            return denied(
                AadError::new(
                    "access_denied",
                    65004,
                    "User declined to consent to access the app.",
                ),
                true,
            );
        }
        "decline" => return denied(declined, false),
        "accept" => {}
        _ => return error_page(StatusCode::BAD_REQUEST, 900144, "Unknown action."),
    }
    let Some(account) = d.account.filter(|a| !a.is_empty()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            50126,
            "Pick an account to continue.",
        );
    };
    let (tenant, user) = {
        let seed = state.seed();
        match seed.user(&account) {
            Some((t, u)) if p.path.tid().is_none_or(|id| id == t.id) => (t.clone(), u.clone()),
            _ => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    50034,
                    "The user account does not exist in this directory.",
                );
            }
        }
    };
    let tenant_key = (
        tenant.id.to_ascii_lowercase(),
        p.client_id.to_ascii_lowercase(),
    );
    let admin_required = AadError::new(
        "consent_required",
        90094,
        "The grant requires admin permission. An administrator of the organization must consent to this application.",
    );
    match &p.kind {
        ConsentKind::AdminConsentV1 | ConsentKind::AdminConsentV2 { .. } => {
            if !user.is_admin {
                return denied(admin_required, false);
            }
            state.store().tenant_consents.insert(tenant_key);
            match &p.kind {
                ConsentKind::AdminConsentV2 { scope } => back(&[
                    ("admin_consent", "True"),
                    ("tenant", &tenant.id),
                    ("scope", scope),
                    ("state", &st),
                ]),
                _ => back(&[
                    ("tenant", &tenant.id),
                    ("state", &st),
                    ("admin_consent", "True"),
                ]),
            }
        }
        ConsentKind::Authorize => {
            {
                let mut store = state.store();
                let tenant_wide = store.tenant_consents.contains(&tenant_key);
                let own = store
                    .user_consents
                    .contains(&(user.oid.to_ascii_lowercase(), tenant_key.1.clone()));
                if user.is_admin && p.prompt_consent {
                    store.tenant_consents.insert(tenant_key.clone());
                } else if user.is_admin && !tenant_wide && !own {
                    // Without prompt=consent an admin consents only for their own account.
                    store
                        .user_consents
                        .insert((user.oid.to_ascii_lowercase(), tenant_key.1.clone()));
                } else if !tenant_wide && !own {
                    drop(store);
                    return denied(admin_required, false);
                }
            }
            let code = random_token(48);
            state.store().codes.insert(
                code.clone(),
                AuthCode {
                    client_id: p.client_id.clone(),
                    redirect_uri: p.redirect_uri.clone(),
                    tid: tenant.id.clone(),
                    oid: user.oid.clone(),
                    scope: p.scope.clone(),
                    nonce: p.nonce.clone(),
                    code_challenge: p.code_challenge.clone(),
                    issued: now(),
                    redeemed: false,
                },
            );
            let session_state = uuid::Uuid::new_v4().to_string();
            back(&[
                ("code", &code),
                ("state", &st),
                ("session_state", &session_state),
            ])
        }
    }
}

// ---------------------------------------------------------------- token endpoint

/// The resource of a scope list: the first non-OIDC scope's resource (Graph when only OIDC scopes).
/// Returns (audience, permissions on it).
fn requested_resource(scope: &str) -> Result<(&'static str, Vec<String>), AadError> {
    let mut resource: Option<&'static str> = None;
    let mut perms = Vec::new();
    for s in scope.split_whitespace() {
        if matches!(s, "openid" | "profile" | "offline_access" | "email") {
            continue;
        }
        let (res, perm) = match s.rsplit_once('/') {
            None => (GRAPH_RESOURCE, s),
            Some((r, p)) => {
                let r = r.trim_end_matches('/');
                let res = if r.eq_ignore_ascii_case(GRAPH_RESOURCE)
                    || r.eq_ignore_ascii_case(GRAPH_APP_ID)
                {
                    GRAPH_RESOURCE
                } else if r.eq_ignore_ascii_case(REQUEST_SERVICE_RESOURCE) {
                    REQUEST_SERVICE_RESOURCE
                } else if r.eq_ignore_ascii_case(ADMIN_RESOURCE) {
                    ADMIN_RESOURCE
                } else {
                    return Err(AadError::new(
                        "invalid_resource",
                        500011,
                        format!(
                            "The resource principal named {r} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
                        ),
                    ));
                };
                (res, p)
            }
        };
        match resource {
            None => resource = Some(res),
            // Scopes of other resources are ignored: the token is for the first one.
            Some(r) if r != res => continue,
            Some(_) => {}
        }
        perms.push(perm.to_string());
    }
    Ok((resource.unwrap_or(GRAPH_RESOURCE), perms))
}

fn is_verified_id_resource(aud: &str) -> bool {
    aud == REQUEST_SERVICE_RESOURCE || aud == ADMIN_RESOURCE
}

fn resource_missing_in_tenant(aud: &str, tenant: &Tenant) -> AadError {
    AadError::new(
        "invalid_resource",
        500011,
        format!(
            "The resource principal named {aud} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
            tenant.display_name
        ),
    )
}

fn form(body: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn missing(param: &str) -> AadError {
    AadError::new(
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

/// Client authentication: `client_id` + `client_secret` in the body, or HTTP Basic.
fn authenticate_client(
    state: &EmulatorState,
    headers: &HeaderMap,
    f: &HashMap<String, String>,
    path: &TenantPath,
) -> Result<ClientApp, AadError> {
    let mut id = f.get("client_id").cloned();
    let mut secret = f.get("client_secret").cloned();
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                AadError::new(
                    "invalid_client",
                    7000216,
                    "The Authorization header is not valid Basic credentials.",
                )
                .with_status(StatusCode::UNAUTHORIZED)
            })?;
        if let Some((i, s)) = decoded.split_once(':') {
            id = Some(i.to_string());
            secret = Some(s.to_string());
        }
    }
    let id = id
        .filter(|i| !i.is_empty())
        .ok_or_else(|| missing("client_id"))?;
    let seed = state.seed();
    let client = seed.client(&id).cloned().ok_or_else(|| {
        let dir = path.tid().and_then(|t| seed.tenant(t)).map(|t| t.display_name.clone()).unwrap_or_else(|| path.segment().to_string());
        AadError::new(
            "unauthorized_client",
            700016,
            format!("Application with identifier '{id}' was not found in the directory '{dir}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
        )
    })?;
    if f.contains_key("client_assertion") {
        return Err(AadError::new(
            "invalid_client",
            700027,
            "Client assertions are not supported by this emulator; use client_secret.",
        )
        .with_status(StatusCode::UNAUTHORIZED));
    }
    let secret = secret.filter(|s| !s.is_empty()).ok_or_else(|| {
        AadError::new("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
            .with_status(StatusCode::UNAUTHORIZED)
    })?;
    if !bool::from(secret.as_bytes().ct_eq(client.client_secret.as_bytes())) {
        return Err(AadError::new(
            "invalid_client",
            7000215,
            format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", client.client_id),
        )
        .with_status(StatusCode::UNAUTHORIZED));
    }
    Ok(client)
}

async fn token(
    State(state): State<EmulatorState>,
    Path(seg): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    match token_inner(&state, &seg, &headers, &body) {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            tracing::debug!(code = e.code, "token endpoint error");
            e.into_response()
        }
    }
}

fn token_inner(
    state: &EmulatorState,
    seg: &str,
    headers: &HeaderMap,
    body: &str,
) -> Result<serde_json::Value, AadError> {
    let path = resolve(state, seg).map_err(|mut e| {
        e.error = "invalid_request";
        e
    })?;
    let f = form(body);
    let grant = f
        .get("grant_type")
        .cloned()
        .ok_or_else(|| missing("grant_type"))?;
    if !matches!(
        grant.as_str(),
        "authorization_code" | "refresh_token" | "client_credentials"
    ) {
        return Err(AadError::new(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client = authenticate_client(state, headers, &f, &path)?;
    match grant.as_str() {
        "authorization_code" => redeem_code(state, &path, &client, &f),
        "refresh_token" => redeem_refresh(state, &path, &client, &f),
        _ => client_credentials(state, &path, &client, &f),
    }
}

fn redeem_code(
    state: &EmulatorState,
    path: &TenantPath,
    client: &ClientApp,
    f: &HashMap<String, String>,
) -> Result<serde_json::Value, AadError> {
    let code_value = f.get("code").ok_or_else(|| missing("code"))?;
    let redirect_uri = f
        .get("redirect_uri")
        .ok_or_else(|| missing("redirect_uri"))?;
    let code = {
        let mut store = state.store();
        let Some(code) = store.codes.get_mut(code_value) else {
            return Err(AadError::new(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid: the authorization code is not valid.",
            ));
        };
        if code.redeemed {
            return Err(AadError::new(
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            ));
        }
        if now() - code.issued > CODE_LIFETIME_SECS {
            return Err(AadError::new(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            ));
        }
        // Microsoft burns the code on the first redemption attempt.
        code.redeemed = true;
        code.clone()
    };
    if !code.client_id.eq_ignore_ascii_case(&client.client_id) {
        return Err(AadError::new(
            "invalid_grant",
            70000,
            "The provided authorization code was issued to a different client.",
        ));
    }
    if path
        .tid()
        .is_some_and(|t| !t.eq_ignore_ascii_case(&code.tid))
    {
        return Err(AadError::new(
            "invalid_grant",
            700005,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
        ));
    }
    if &code.redirect_uri != redirect_uri {
        return Err(AadError::new(
            "invalid_grant",
            500112,
            "The reply address does not match the reply address that was provided when requesting the authorization code.",
        ));
    }
    if let Some(challenge) = &code.code_challenge {
        let verifier = f.get("code_verifier").ok_or_else(|| {
            AadError::new("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request: code_verifier is missing.")
        })?;
        if pkce_s256(verifier) != *challenge {
            return Err(AadError::new(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            ));
        }
    }
    let scope = f
        .get("scope")
        .cloned()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| code.scope.clone());
    let merged = format!("{} {}", code.scope, scope);
    delegated_tokens(
        state,
        client,
        &code.tid,
        &code.oid,
        &scope,
        &merged,
        code.nonce.as_deref(),
    )
}

fn redeem_refresh(
    state: &EmulatorState,
    path: &TenantPath,
    client: &ClientApp,
    f: &HashMap<String, String>,
) -> Result<serde_json::Value, AadError> {
    let rt = f
        .get("refresh_token")
        .ok_or_else(|| missing("refresh_token"))?;
    let grant = state
        .store()
        .refresh_tokens
        .get(rt)
        .cloned()
        .ok_or_else(|| {
            AadError::new(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid: the refresh token is not valid.",
            )
        })?;
    if !grant.client_id.eq_ignore_ascii_case(&client.client_id) {
        return Err(AadError::new(
            "invalid_grant",
            70000,
            "The refresh token was issued to a different client.",
        ));
    }
    if path
        .tid()
        .is_some_and(|t| !t.eq_ignore_ascii_case(&grant.tid))
    {
        return Err(AadError::new(
            "invalid_grant",
            700005,
            "Provided refresh token is intended to use against other tenant, thus rejected.",
        ));
    }
    let scope = f
        .get("scope")
        .cloned()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| grant.scope.clone());
    let merged = format!("{} {}", grant.scope, scope);
    delegated_tokens(state, client, &grant.tid, &grant.oid, &scope, &merged, None)
}

/// Issues access (+ refresh, + ID) tokens for a signed-in user.
fn delegated_tokens(
    state: &EmulatorState,
    client: &ClientApp,
    tid: &str,
    oid: &str,
    scope: &str,
    all_scopes: &str,
    nonce: Option<&str>,
) -> Result<serde_json::Value, AadError> {
    let (aud, perms) = requested_resource(scope)?;
    let (tenant, user) = {
        let seed = state.seed();
        let tenant = seed
            .tenant(tid)
            .cloned()
            .ok_or_else(|| tenant_not_found(tid))?;
        let user = tenant.user_by_oid(oid).cloned().ok_or_else(|| {
            AadError::new(
                "invalid_grant",
                50034,
                "The user account does not exist in the directory.",
            )
        })?;
        (tenant, user)
    };
    if is_verified_id_resource(aud) && tenant.verified_id.is_none() {
        return Err(resource_missing_in_tenant(aud, &tenant));
    }
    let consented = {
        let store = state.store();
        let cid = client.client_id.to_ascii_lowercase();
        store
            .tenant_consents
            .contains(&(tid.to_ascii_lowercase(), cid.clone()))
            || store
                .user_consents
                .contains(&(oid.to_ascii_lowercase(), cid))
    };
    let registered: Vec<String> = client
        .delegated_permissions
        .iter()
        .filter_map(|p| p.rsplit_once('/'))
        .filter(|(r, _)| requested_resource(&format!("{r}/x")).is_ok_and(|(a, _)| a == aud))
        .map(|(_, p)| p.to_string())
        .collect();
    let mut granted = Vec::new();
    for p in &perms {
        if p == ".default" {
            granted.extend(registered.iter().cloned());
        } else if let Some(r) = registered.iter().find(|r| r.eq_ignore_ascii_case(p)) {
            granted.push(r.clone());
        } else {
            return Err(AadError::new(
                "invalid_grant",
                65001,
                format!(
                    "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                    client.client_id, client.display_name
                ),
            ));
        }
    }
    if !consented || (granted.is_empty() && aud != GRAPH_RESOURCE) {
        return Err(AadError::new(
            "invalid_grant",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                client.client_id, client.display_name
            ),
        ));
    }
    if granted.is_empty() {
        granted.push("User.Read".into());
    }
    let iat = now();
    let access = state.0.keys.sign(&json!({
        "aud": aud,
        "iss": state.issuer(tid),
        "iat": iat, "nbf": iat, "exp": iat + TOKEN_LIFETIME_SECS,
        "tid": tid, "oid": user.oid, "sub": pairwise(&client.client_id, &user.oid),
        "azp": client.client_id, "appid": client.client_id, "idtyp": "user",
        "name": user.display_name, "preferred_username": user.upn, "upn": user.upn,
        "scp": granted.join(" "), "ver": "2.0", "uti": random_token(16),
    }));
    let resource_prefix = if aud == GRAPH_RESOURCE {
        format!("{GRAPH_RESOURCE}/")
    } else {
        format!("{aud}/")
    };
    let mut scope_out: Vec<String> = granted
        .iter()
        .map(|g| format!("{resource_prefix}{g}"))
        .collect();
    let wants = |s: &str| all_scopes.split_whitespace().any(|x| x == s);
    for oidc in ["openid", "profile", "email"] {
        if wants(oidc) {
            scope_out.push(oidc.to_string());
        }
    }
    let mut out = json!({
        "token_type": "Bearer",
        "scope": scope_out.join(" "),
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access,
    });
    if wants("offline_access") {
        let rt = random_token(64);
        state.store().refresh_tokens.insert(
            rt.clone(),
            RefreshGrant {
                client_id: client.client_id.clone(),
                tid: tid.to_string(),
                oid: user.oid.clone(),
                scope: all_scopes.to_string(),
            },
        );
        out["refresh_token"] = json!(rt);
    }
    if wants("openid") {
        out["id_token"] = json!(id_token(state, client, &tenant, &user, nonce));
    }
    Ok(out)
}

/// A stable object id for the client's service principal in a tenant.
fn service_principal_oid(tid: &str, client_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(format!("{tid}:{client_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn pairwise(client_id: &str, oid: &str) -> String {
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(&Sha256::digest(format!("{client_id}:{oid}").as_bytes())[..24])
}

fn id_token(
    state: &EmulatorState,
    client: &ClientApp,
    tenant: &Tenant,
    user: &User,
    nonce: Option<&str>,
) -> String {
    let iat = now();
    let mut claims = json!({
        "aud": client.client_id,
        "iss": state.issuer(&tenant.id),
        "iat": iat, "nbf": iat, "exp": iat + TOKEN_LIFETIME_SECS,
        "name": user.display_name,
        "oid": user.oid,
        "preferred_username": user.upn,
        "sub": pairwise(&client.client_id, &user.oid),
        "tid": tenant.id,
        "ver": "2.0",
        "uti": random_token(16),
        "rh": "0.emulator",
    });
    if let Some(m) = &user.mail {
        claims["email"] = json!(m);
    }
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    state.0.keys.sign(&claims)
}

fn client_credentials(
    state: &EmulatorState,
    path: &TenantPath,
    client: &ClientApp,
    f: &HashMap<String, String>,
) -> Result<serde_json::Value, AadError> {
    let Some(tid) = path.tid() else {
        return Err(AadError::new(
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any provided credentials.",
        ));
    };
    let scope = f.get("scope").ok_or_else(|| missing("scope"))?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if scopes.is_empty() || scopes.iter().any(|s| !s.ends_with("/.default")) {
        return Err(AadError::new(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    }
    let (aud, _) = requested_resource(scopes[0]).map_err(|mut e| {
        e.error = "invalid_resource";
        e
    })?;
    for s in &scopes[1..] {
        if requested_resource(s)?.0 != aud {
            return Err(AadError::new(
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid: all scopes must belong to a single resource."
                ),
            ));
        }
    }
    let tenant = state
        .seed()
        .tenant(tid)
        .cloned()
        .ok_or_else(|| tenant_not_found(tid))?;
    if !state.tenant_consented(tid, &client.client_id) {
        return Err(AadError::new(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                client.client_id, tenant.display_name
            ),
        ));
    }
    if is_verified_id_resource(aud) && tenant.verified_id.is_none() {
        return Err(resource_missing_in_tenant(aud, &tenant));
    }
    let iat = now();
    let mut claims = json!({
        "aud": aud,
        "iss": state.issuer(tid),
        "iat": iat, "nbf": iat, "exp": iat + TOKEN_LIFETIME_SECS,
        "tid": tid,
        "oid": service_principal_oid(tid, &client.client_id),
        "sub": pairwise(&client.client_id, tid),
        "azp": client.client_id, "appid": client.client_id, "idtyp": "app",
        "ver": "2.0", "uti": random_token(16),
    });
    // App tokens carry `roles` only for roles the tenant granted (here: the request service's).
    if aud == REQUEST_SERVICE_RESOURCE && !client.app_roles.is_empty() {
        claims["roles"] = json!(client.app_roles);
    }
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": state.0.keys.sign(&claims),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_non_oidc_scope_names_the_resource() {
        let (aud, perms) = requested_resource(
            "openid profile offline_access https://graph.microsoft.com/User.Read",
        )
        .unwrap();
        assert_eq!(aud, GRAPH_RESOURCE);
        assert_eq!(perms, vec!["User.Read"]);
        let (aud, perms) =
            requested_resource("6a8b4b39-c021-437c-b060-5a14a3fd65f3/full_access offline_access")
                .unwrap();
        assert_eq!(aud, ADMIN_RESOURCE);
        assert_eq!(perms, vec!["full_access"]);
        assert_eq!(requested_resource("openid").unwrap().0, GRAPH_RESOURCE);
        assert_eq!(
            requested_resource("api://unknown/x").unwrap_err().code,
            500011
        );
    }
}
