//! The identity platform (login.microsoftonline.com): OIDC discovery, JWKS and the token endpoint
//! (authorization code + PKCE, refresh token, client credentials). The sign-in and consent pages
//! are in `signin`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::errors::AadError;
use crate::keys::{now, pkce_s256, random_token};
use crate::scopes::{self, is_oidc, is_verified_id_resource};
use crate::seed::{ClientApp, GRAPH_RESOURCE, Tenant, User};
use crate::signin;
use crate::state::EmulatorState;

pub(crate) const CODE_LIFETIME_SECS: i64 = 600;
const TOKEN_LIFETIME_SECS: i64 = 3599;

pub(crate) fn routes() -> axum::Router<EmulatorState> {
    axum::Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/oauth2/v2.0/authorize", get(signin::authorize))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/adminconsent", get(signin::admin_consent_v1))
        .route("/{tenant}/v2.0/adminconsent", get(signin::admin_consent_v2))
        .route("/_emulator/decide", post(signin::decide))
}

/// A `{tenant}` path segment, resolved.
#[derive(Clone, Debug)]
pub(crate) enum TenantPath {
    /// A tenant GUID (a domain name resolves to its tenant).
    One(String),
    /// `organizations` or `common`.
    Multi(String),
}

impl TenantPath {
    pub(crate) fn tid(&self) -> Option<&str> {
        match self {
            TenantPath::One(t) => Some(t),
            TenantPath::Multi(_) => None,
        }
    }
    pub(crate) fn segment(&self) -> &str {
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

pub(crate) fn resolve(state: &EmulatorState, seg: &str) -> Result<TenantPath, AadError> {
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

// ---------------------------------------------------------------- codes and refresh tokens

#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub tid: String,
    pub oid: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub issued: i64,
    pub redeemed: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    client_id: String,
    tid: String,
    oid: String,
    scope: String,
    /// Issue order, compared with the user's `revokeSignInSessions` (`Store::sessions_valid_after`).
    serial: u64,
}

// ---------------------------------------------------------------- token endpoint

/// The resource of a scope list: the first non-OIDC scope's resource (Graph when only OIDC scopes).
/// Returns (audience, permissions on it). v2-oauth2-auth-code-flow: a token is for one resource,
/// the first scope's; scopes of other resources are ignored here.
fn requested_resource(scope: &str) -> Result<(&'static str, Vec<String>), AadError> {
    let mut resource: Option<&'static str> = None;
    let mut perms = Vec::new();
    for s in scope.split_whitespace().filter(|s| !is_oidc(s)) {
        let (res, perm) = scopes::split(s).map_err(|r| {
            AadError::new(
                "invalid_resource",
                500011,
                format!(
                    "The resource principal named {r} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
                ),
            )
        })?;
        match resource {
            None => resource = Some(res),
            Some(r) if r != res => continue,
            Some(_) => {}
        }
        perms.push(perm);
    }
    Ok((resource.unwrap_or(GRAPH_RESOURCE), perms))
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

fn not_consented(client: &ClientApp) -> AadError {
    // reference-error-codes: AADSTS65001 DelegationDoesNotExist.
    AadError::new(
        "invalid_grant",
        65001,
        format!(
            "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
            client.client_id, client.display_name
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
    let grant = {
        let store = state.store();
        // Rotation, stricter than Microsoft: once a refresh token got an answer with a new
        // refresh token, it is refused; the new one must be used next (a refused exchange
        // leaves it as it was). Learn says the opposite ("The Microsoft identity platform
        // doesn't revoke old refresh tokens when used to fetch new access tokens"), so a client
        // that works here keeps the newest token and works there too.
        // Learn: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens ("Token lifetime")
        if store.spent_refresh_tokens.contains(rt) {
            return Err(AadError::new(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired or was already used: this emulator refuses a refresh token once it was exchanged for a new one. Use the refresh token from the last response.",
            ));
        }
        let grant = store.refresh_tokens.get(rt).cloned().ok_or_else(|| {
            AadError::new(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid: the refresh token is not valid.",
            )
        })?;
        // revokeSignInSessions (or an admin revoking the user's sessions) ends every refresh
        // token issued before it: AADSTS50173 FreshTokenNeeded, "The provided grant has expired
        // due to it being revoked, and a fresh auth token is needed".
        // Learn: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions
        // Learn: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
        if store
            .sessions_valid_after
            .get(&(
                grant.tid.to_ascii_lowercase(),
                grant.oid.to_ascii_lowercase(),
            ))
            .is_some_and(|last_revoked| grant.serial <= *last_revoked)
        {
            return Err(AadError::new(
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password, or an administrator revoked the user's sessions.",
            ));
        }
        grant
    };
    // A refresh token is bound to the client, the user and (for a single-tenant path) the
    // tenant it was issued in.
    // Learn: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens ("bound to
    // a combination of user and client"); v2-oauth2-auth-code-flow ("Refresh the access token").
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
    let answer = delegated_tokens(state, client, &grant.tid, &grant.oid, &scope, &merged, None)?;
    if answer.get("refresh_token").is_some() {
        let mut store = state.store();
        store.refresh_tokens.remove(rt);
        store.spent_refresh_tokens.insert(rt.clone());
    }
    Ok(answer)
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
    if is_verified_id_resource(aud) && !tenant.has_verified_id() {
        return Err(resource_missing_in_tenant(aud, &tenant));
    }
    // v2-oauth2-auth-code-flow (refresh): a refresh token is good for what the client was
    // consented to, and nothing more; anything else is AADSTS65001.
    let have = state
        .store()
        .grants
        .delegated_for(tid, oid, &client.client_id);
    let static_on_aud: Vec<String> = scopes::static_delegated(client)
        .into_iter()
        .filter(|(r, _)| *r == aud)
        .map(|(_, p)| p)
        .collect();
    let mut granted: Vec<String> = Vec::new();
    for p in &perms {
        if p == ".default" {
            // scopes-oidc (.default): what is consented on this resource.
            let prefix = format!("{}/", aud.to_ascii_lowercase());
            for k in have.iter().filter(|k| k.starts_with(&prefix)) {
                let name = static_on_aud
                    .iter()
                    .find(|s| scopes::key(aud, s) == *k)
                    .cloned()
                    .unwrap_or_else(|| k[prefix.len()..].to_string());
                if !granted.contains(&name) {
                    granted.push(name);
                }
            }
            if granted.is_empty() {
                return Err(not_consented(client));
            }
        } else if have.contains(&scopes::key(aud, p)) {
            let name = static_on_aud
                .iter()
                .find(|s| s.eq_ignore_ascii_case(p))
                .cloned()
                .unwrap_or_else(|| p.clone());
            granted.push(name);
        } else {
            return Err(not_consented(client));
        }
    }
    granted.sort();
    granted.dedup();
    if granted.is_empty() {
        // Only OpenID scopes: Microsoft returns a Graph token for the sign-in itself.
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
        let mut store = state.store();
        store.refresh_serial += 1;
        let serial = store.refresh_serial;
        store.refresh_tokens.insert(
            rt.clone(),
            RefreshGrant {
                client_id: client.client_id.clone(),
                tid: tid.to_string(),
                oid: user.oid.clone(),
                scope: all_scopes.to_string(),
                serial,
            },
        );
        drop(store);
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
        // `xms_edov` (optional-claims-reference: "Email Domain Owner Verified"): true when the
        // address's domain is one the tenant verified. Every emulated domain is verified, so it
        // is true for a mail in one of the tenant's domains and false otherwise. Microsoft sends
        // it only to an app that configured the optional claim; the emulator always does, as
        // for the demo registration, which configures it.
        // Learn: https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference
        let domain_verified = m.rsplit_once('@').is_some_and(|(_, d)| {
            tenant
                .domains
                .iter()
                .any(|t| t.name.eq_ignore_ascii_case(d))
        });
        claims["xms_edov"] = json!(domain_verified);
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
    // v2-oauth2-client-creds-grant-flow: the app needs a service principal in the tenant, which
    // any consent creates; without one, AADSTS700016.
    let propagation = state.consent_propagation();
    let (has_sp, roles) = {
        let store = state.store();
        let age = store.grants.consent_age(tid, &client.client_id);
        let within = |ms: u64| age.is_some_and(|a| a.as_millis() < u128::from(ms));
        // Learn: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
        // (consent takes a while to propagate; see `state::Propagation`).
        (
            store.grants.has_service_principal(tid, &client.client_id)
                && !within(propagation.service_principal_ms),
            if within(propagation.roles_ms) {
                Vec::new()
            } else {
                store.grants.roles(tid, &client.client_id)
            },
        )
    };
    if !has_sp {
        return Err(AadError::new(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                client.client_id, tenant.display_name
            ),
        ));
    }
    if is_verified_id_resource(aud) && !tenant.has_verified_id() {
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
    // v2-oauth2-client-creds-grant-flow ("Controlling tokens without the roles claim"): `roles`
    // holds only app roles an admin granted on this token's resource; without a grant the
    // token is issued anyway, with no `roles` claim.
    let roles = crate::scopes::roles_on(aud, &roles);
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
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
    use crate::seed::ADMIN_RESOURCE;

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
