//! The sign-in and consent pages of the identity platform (authorize and both admin-consent
//! endpoints), the emulator's sign-in session (single sign-on), and the consent rules Microsoft
//! applies when someone accepts. Each rule names the Microsoft Learn page it follows.

use std::collections::HashSet;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::errors::AadError;
use crate::html::{error_page, esc, page};
use crate::keys::{now, random_token};
use crate::login::{AuthCode, CODE_LIFETIME_SECS, TenantPath, resolve};
use crate::scopes::{self, is_oidc, is_verified_id_resource, resource_name};
use crate::seed::{
    ADMIN_RESOURCE, ClientApp, GRAPH_RESOURCE, REQUEST_SERVICE_RESOURCE, Tenant, User,
};
use crate::state::EmulatorState;

/// The emulator's sign-in session cookie (Microsoft's is `ESTSAUTH`), scoped to `/login`.
pub(crate) const SESSION_COOKIE: &str = "emu_estsauth";

#[derive(Clone, Debug)]
pub(crate) enum ConsentKind {
    Authorize,
    AdminConsentV1,
    AdminConsentV2,
}

/// What a request asks consent for.
#[derive(Clone, Debug)]
pub(crate) enum Wanted {
    /// `{resource}/.default`, or an admin consent endpoint: the app registration's static
    /// permissions, across every resource it lists (scopes-oidc (.default); v2-admin-consent).
    Static,
    /// Dynamic scopes: exactly these delegated permissions, nothing else (consent-types-developer:
    /// dynamic and incremental consent applies only to delegated permissions).
    Dynamic(Vec<(&'static str, String)>),
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
    wanted: Wanted,
    created: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeQuery {
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

/// Reads the scopes of an authorize request into what it asks consent for.
fn parse_wanted(scope: &str, client: &ClientApp) -> Result<Wanted, (&'static str, AadError)> {
    let mut default = false;
    let mut dynamic: Vec<(&'static str, String)> = Vec::new();
    // The OpenID Connect scopes are Microsoft Graph delegated permissions like any other: they
    // need consent, and the sign-in shows a consent page for one not yet granted.
    // Learn: https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc ("OpenID
    // Connect scopes": openid, email, profile and offline_access are Microsoft Graph
    // permissions that appear on the consent page).
    let oidc: Vec<(&'static str, String)> = scope
        .split_whitespace()
        .filter(|s| is_oidc(s))
        .map(|s| (GRAPH_RESOURCE, s.to_ascii_lowercase()))
        .collect();
    for s in scope.split_whitespace().filter(|s| !is_oidc(s)) {
        let (resource, permission) = scopes::split(s).map_err(|r| {
            (
                "invalid_scope",
                AadError::new(
                    "invalid_resource",
                    500011,
                    format!(
                        "The resource principal named {r} was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
                    ),
                ),
            )
        })?;
        if permission == ".default" {
            default = true;
            continue;
        }
        // A dynamic scope must be a delegated permission the resource exposes: the request
        // service has only app roles, the admin API's one delegated permission is full_access
        // (admin-api). Other names get AADSTS650053 (reference-error-codes).
        let exposed = match resource {
            REQUEST_SERVICE_RESOURCE => false,
            ADMIN_RESOURCE => permission.eq_ignore_ascii_case("full_access"),
            _ => true,
        };
        if !exposed {
            return Err((
                "invalid_client",
                AadError::new(
                    "invalid_client",
                    650053,
                    format!(
                        "The application '{}' asked for scope '{permission}' that doesn't exist on the resource '{resource}'. Contact the app vendor.",
                        client.display_name
                    ),
                ),
            ));
        }
        dynamic.push((resource, permission));
    }
    if default && !dynamic.is_empty() {
        // scopes-oidc (.default): the static list cannot be mixed with dynamic scopes.
        return Err((
            "invalid_scope",
            AadError::new(
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope '{scope}' combines '/.default' with other resource scopes, which is not supported."
                ),
            ),
        ));
    }
    if default {
        return Ok(Wanted::Static);
    }
    // A resource scope the app registration does not list is refused. Microsoft documents
    // dynamic consent to unlisted delegated permissions (consent-types-developer, "dynamic
    // user consent"), but leaves open what it shows for them in a tenant where user consent is
    // off, as in every emulated tenant; the stricter behaviour keeps the product honest about
    // asking only for what its registration names (README, assumptions). The OpenID Connect
    // scopes are any app's to ask (scopes-oidc); they still need consent like any permission.
    // Learn: https://learn.microsoft.com/en-us/entra/identity-platform/consent-types-developer
    if let Some((resource, permission)) = dynamic.iter().find(|(r, p)| {
        !scopes::static_delegated(client)
            .iter()
            .any(|(lr, lp)| scopes::key(lr, lp) == scopes::key(r, p))
    }) {
        return Err((
            "invalid_scope",
            AadError::new(
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope '{resource}/{permission}' is not among the permissions the application '{}' is registered for.",
                    client.display_name
                ),
            ),
        ));
    }
    dynamic.extend(oidc);
    Ok(Wanted::Dynamic(dynamic))
}

/// The resources a request needs a service principal for, in the order Microsoft reports them.
fn needed_resources(wanted: &Wanted, client: &ClientApp) -> Vec<&'static str> {
    match wanted {
        Wanted::Static => scopes::static_resources(client),
        Wanted::Dynamic(v) => {
            let mut out = Vec::new();
            for (r, _) in v {
                if !out.contains(r) {
                    out.push(*r);
                }
            }
            out
        }
    }
}

/// The delegated permission keys a request asks for.
fn needed_keys(wanted: &Wanted, client: &ClientApp) -> HashSet<String> {
    match wanted {
        Wanted::Static => scopes::static_delegated(client)
            .iter()
            .map(|(r, p)| scopes::key(r, p))
            .collect(),
        Wanted::Dynamic(v) => v.iter().map(|(r, p)| scopes::key(r, p)).collect(),
    }
}

/// Consent needs every requested resource's service principal in the tenant
/// (howto-convert-app-to-be-multi-tenant). Verified ID's exist only where Verified ID was set up
/// (admin-api: onboarding creates them), so a tenant without it fails with AADSTS650052.
fn missing_service_principal(tenant: &Tenant, resources: &[&'static str]) -> Option<AadError> {
    let missing = resources
        .iter()
        .find(|r| is_verified_id_resource(r) && !tenant.has_verified_id())?;
    Some(AadError::new(
        "invalid_client",
        650052,
        format!(
            "The app is trying to access a service '{missing}'({}) that your organization '{}' lacks a service principal for. Contact your IT Admin to review the configuration of your service subscriptions or consent to the application in order to create the required service principal.",
            resource_name(missing),
            tenant.id
        ),
    ))
}

fn admin_required() -> AadError {
    // reference-error-codes: AADSTS90094 AdminConsentRequired.
    AadError::new(
        "consent_required",
        90094,
        "The grant requires admin permission. An administrator of the organization must consent to this application.",
    )
}

/// Whether the user can be signed in without a page: every requested delegated permission is
/// consented, for them or tenant-wide. Errors when a resource's service principal is missing.
fn consented_already(
    state: &EmulatorState,
    p: &PendingSignIn,
    client: &ClientApp,
    tenant: &Tenant,
    user: &User,
) -> Result<bool, AadError> {
    if let Some(e) = missing_service_principal(tenant, &needed_resources(&p.wanted, client)) {
        return Err(e);
    }
    let have = state
        .store()
        .grants
        .delegated_for(&tenant.id, &user.oid, &client.client_id);
    Ok(needed_keys(&p.wanted, client).is_subset(&have))
}

/// Applies what an Accept grants, or says why it cannot.
fn accept(
    state: &EmulatorState,
    p: &PendingSignIn,
    client: &ClientApp,
    tenant: &Tenant,
    user: &User,
    for_organization: bool,
) -> Result<(), AadError> {
    if let Some(e) = missing_service_principal(tenant, &needed_resources(&p.wanted, client)) {
        return Err(e);
    }
    let needed = needed_keys(&p.wanted, client);
    let mut store = state.store();
    let grants = &mut store.grants;
    match p.kind {
        ConsentKind::AdminConsentV1 | ConsentKind::AdminConsentV2 => {
            // v2-admin-consent: only an administrator can grant consent for the organization;
            // which roles may is the user's directory roles' business (see
            // `may_consent_for_organization`).
            // Learn: https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent
            if !may_consent_for_organization(user, client, &p.wanted) {
                return Err(admin_required());
            }
            grants.add_tenant_delegated(&tenant.id, &client.client_id, needed);
            grants.note_consent(&tenant.id, &client.client_id);
            // Application permissions come only with the static list (consent-types-developer:
            // app roles can be requested only through `.default`).
            if matches!(p.wanted, Wanted::Static) {
                grants.add_app_roles(&tenant.id, &client.client_id, &client.app_roles);
            }
        }
        ConsentKind::Authorize => {
            if for_organization {
                // The "Consent on behalf of your organization" checkbox is an admin's
                // (consent-types-developer, "admin consent" through the authorize endpoint).
                // Learn: https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent
                if !may_consent_for_organization(user, client, &p.wanted) {
                    return Err(admin_required());
                }
                grants.add_tenant_delegated(&tenant.id, &client.client_id, needed);
                grants.note_consent(&tenant.id, &client.client_id);
                if matches!(p.wanted, Wanted::Static) {
                    grants.add_app_roles(&tenant.id, &client.client_id, &client.app_roles);
                }
            } else {
                let have = grants.delegated_for(&tenant.id, &user.oid, &client.client_id);
                if !needed.is_subset(&have) {
                    // Without the organization box an admin consents only for their own account
                    // (howto-convert-app-to-be-multi-tenant). User consent to these permissions
                    // is not allowed in the emulated tenants, so anyone else needs an admin.
                    if !user.can_consent_for_organization() {
                        return Err(admin_required());
                    }
                    grants.add_user_delegated(&tenant.id, &user.oid, &client.client_id, needed);
                }
            }
        }
    }
    Ok(())
}

/// Whether `user` may grant this tenant-wide consent. A grant that carries app roles on
/// Microsoft Graph (the static list of a registration holding a Graph application permission)
/// needs a Global Administrator or Privileged Role Administrator; a Cloud Application or
/// Application Administrator is refused as a user without a consent role is (AADSTS90094).
/// Dynamic scopes grant no app role (consent-types-developer), so they need any consent role.
// Learn: https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent
// ("Prerequisites": Cloud Application Administrator or Application Administrator "to grant
// consent for apps requesting any permission for any API, except Microsoft Graph app roles
// (application permissions)").
fn may_consent_for_organization(user: &User, client: &ClientApp, wanted: &Wanted) -> bool {
    let grants_graph_app_roles = matches!(wanted, Wanted::Static)
        && client
            .app_roles
            .iter()
            .any(|role| scopes::split_role(role).0 == GRAPH_RESOURCE);
    if grants_graph_app_roles {
        user.can_consent_to_graph_app_roles()
    } else {
        user.can_consent_for_organization()
    }
}

/// The permissions that v2-admin-consent reports as granted (`scope=`), and the page lists.
fn granted_scope_list(wanted: &Wanted, client: &ClientApp) -> Vec<String> {
    match wanted {
        Wanted::Static => scopes::static_delegated(client)
            .into_iter()
            .map(|(r, p)| format!("{r}/{p}"))
            .chain(client.app_roles.iter().map(|role| scopes::role_scope(role)))
            .collect(),
        Wanted::Dynamic(v) => v.iter().map(|(r, p)| format!("{r}/{p}")).collect(),
    }
}

fn prompt_has(prompt: Option<&str>, value: &str) -> bool {
    prompt.is_some_and(|p| p.split(' ').any(|x| x == value))
}

/// The signed-in user of the emulator's session cookie, if the session is known.
fn session_user(state: &EmulatorState, headers: &HeaderMap) -> Option<(Tenant, User)> {
    let sid = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())?;
    let oid = state.store().sessions.get(&sid).cloned()?;
    let seed = state.seed();
    seed.user(&oid).map(|(t, u)| (t.clone(), u.clone()))
}

pub(crate) async fn authorize(
    State(state): State<EmulatorState>,
    Path(seg): Path<String>,
    headers: HeaderMap,
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
    let wanted = match parse_wanted(&scope, &client) {
        Ok(w) => w,
        Err((error, e)) => return fail(error, e),
    };
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
    let prompt = q.prompt.as_deref();
    let pending = PendingSignIn {
        kind: ConsentKind::Authorize,
        path: path.clone(),
        client_id: client.client_id.clone(),
        redirect_uri,
        response_mode,
        scope,
        state: q.state.clone(),
        nonce: q.nonce.clone(),
        code_challenge: q.code_challenge.clone(),
        prompt_consent: prompt_has(prompt, "consent"),
        wanted,
        created: now(),
    };

    // Single sign-on (v2-oauth2-auth-code-flow, `prompt`): a signed-in user of the right tenant
    // whose requested scopes are consented is sent back at once. `login` and `select_account`
    // force the picker, `consent` forces the consent page.
    let session = session_user(&state, &headers).filter(|(t, u)| {
        path.tid().is_none_or(|id| id.eq_ignore_ascii_case(&t.id))
            && q.login_hint.as_deref().is_none_or(|h| {
                h.eq_ignore_ascii_case(&u.upn)
                    || u.mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(h))
            })
    });
    let silent = prompt_has(prompt, "none");
    if silent && session.is_none() {
        // v2-oauth2-auth-code-flow: prompt=none without a signed-in user.
        return pending_fail(
            &pending,
            "login_required",
            AadError::new(
                "login_required",
                50058,
                "A silent sign-in request was sent but no user is signed in.",
            ),
        );
    }
    let forced = ["login", "select_account", "consent"]
        .iter()
        .any(|v| prompt_has(prompt, v));
    if let Some((tenant, user)) = session.as_ref().filter(|_| !forced || silent) {
        match consented_already(&state, &pending, &client, tenant, user) {
            Ok(true) => return issue_code(&state, &pending, tenant, user),
            Ok(false) if silent => {
                return pending_fail(
                    &pending,
                    "consent_required",
                    AadError::new(
                        "consent_required",
                        65001,
                        format!(
                            "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
                            client.client_id, client.display_name
                        ),
                    ),
                );
            }
            Ok(false) => {}
            Err(e) => return pending_fail(&pending, e.error, e),
        }
    }
    let preselect = session.map(|(_, u)| u.upn).or_else(|| q.login_hint.clone());
    sign_in_page(&state, pending, &client, preselect.as_deref())
}

fn pending_fail(p: &PendingSignIn, error: &str, e: AadError) -> Response {
    redirect_with(
        &p.redirect_uri,
        &p.response_mode,
        &[
            ("error", error),
            ("error_description", &e.short_description()),
            ("state", p.state.as_deref().unwrap_or_default()),
        ],
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct AdminConsentQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
}

pub(crate) async fn admin_consent_v1(
    State(state): State<EmulatorState>,
    Path(seg): Path<String>,
    headers: HeaderMap,
    Query(q): Query<AdminConsentQuery>,
) -> Response {
    admin_consent(state, seg, &headers, q, false)
}

pub(crate) async fn admin_consent_v2(
    State(state): State<EmulatorState>,
    Path(seg): Path<String>,
    headers: HeaderMap,
    Query(q): Query<AdminConsentQuery>,
) -> Response {
    admin_consent(state, seg, &headers, q, true)
}

fn admin_consent(
    state: EmulatorState,
    seg: String,
    headers: &HeaderMap,
    q: AdminConsentQuery,
    v2: bool,
) -> Response {
    let path = match resolve(&state, &seg) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, e.code, &e.message),
    };
    if v2 && path.segment() == "common" {
        // v2-admin-consent: use a tenant id or `organizations`, not `common`.
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
    let st = q.state.clone().unwrap_or_default();
    let v2_fail = |error: &str, e: AadError| {
        redirect_with(
            &redirect_uri,
            "query",
            &[
                ("admin_consent", "True"),
                ("error", error),
                ("error_description", &e.short_description()),
                ("state", &st),
            ],
        )
    };
    let (scope, wanted) = if v2 {
        let scope = q.scope.clone().unwrap_or_default();
        if scope.trim().is_empty() {
            return v2_fail(
                "invalid_request",
                AadError::new(
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'scope'.",
                ),
            );
        }
        // v2-admin-consent: `scope` is static (`/.default`: the app's whole static list, app
        // roles included) or dynamic (exactly those delegated permissions).
        let wanted = if scope.split_whitespace().any(|s| s.ends_with("/.default")) {
            match scope
                .split_whitespace()
                .find_map(|s| scopes::split(s).err())
            {
                Some(r) => {
                    return v2_fail(
                        "invalid_resource",
                        AadError::new(
                            "invalid_resource",
                            500011,
                            format!(
                                "The resource principal named {r} was not found in the tenant."
                            ),
                        ),
                    );
                }
                None => Wanted::Static,
            }
        } else {
            match parse_wanted(&scope, &client) {
                Ok(w) => w,
                Err((error, e)) => return v2_fail(error, e),
            }
        };
        (scope, wanted)
    } else {
        (String::new(), Wanted::Static)
    };
    let pending = PendingSignIn {
        kind: if v2 {
            ConsentKind::AdminConsentV2
        } else {
            ConsentKind::AdminConsentV1
        },
        path,
        client_id: client.client_id.clone(),
        redirect_uri,
        response_mode: "query".into(),
        scope,
        state: q.state.clone(),
        nonce: None,
        code_challenge: None,
        prompt_consent: true,
        wanted,
        created: now(),
    };
    // The consent page is always shown; a signed-in admin is preselected.
    let preselect = session_user(&state, headers)
        .filter(|(t, _)| {
            pending
                .path
                .tid()
                .is_none_or(|id| id.eq_ignore_ascii_case(&t.id))
        })
        .map(|(_, u)| u.upn);
    sign_in_page(&state, pending, &client, preselect.as_deref())
}

/// The permissions a page lists, grouped by API, delegated and application.
fn permissions_html(wanted: &Wanted, client: &ClientApp) -> String {
    let mut delegated: Vec<(&'static str, String)> = match wanted {
        Wanted::Static => scopes::static_delegated(client),
        Wanted::Dynamic(v) => v.clone(),
    };
    if delegated.is_empty() {
        delegated.push((GRAPH_RESOURCE, "User.Read".into()));
    }
    let mut apis: Vec<&'static str> = Vec::new();
    for (r, _) in &delegated {
        if !apis.contains(r) {
            apis.push(r);
        }
    }
    let roles: &[String] = match wanted {
        Wanted::Static => &client.app_roles,
        Wanted::Dynamic(_) => &[],
    };
    for role in roles {
        let (api, _) = scopes::split_role(role);
        if !apis.contains(&api) {
            apis.push(api);
        }
    }
    let mut out = String::from("<div data-testid=\"permissions\">");
    for api in apis {
        out.push_str(&format!(
            "<p data-testid=\"api\"><strong>{}</strong> <span class=\"note\">{}</span></p><ul>",
            esc(resource_name(api)),
            esc(api)
        ));
        for (_, p) in delegated.iter().filter(|(r, _)| *r == api) {
            out.push_str(&format!(
                "<li data-testid=\"permission\" data-kind=\"delegated\">{} <span class=\"note\">(delegated)</span></li>",
                esc(p)
            ));
        }
        {
            for role in roles
                .iter()
                .map(|r| scopes::split_role(r))
                .filter(|(r, _)| *r == api)
                .map(|(_, role)| role)
            {
                out.push_str(&format!(
                    "<li data-testid=\"permission\" data-kind=\"application\">{} <span class=\"note\">(application)</span></li>",
                    esc(&role)
                ));
            }
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>");
    out
}

fn sign_in_page(
    state: &EmulatorState,
    pending: PendingSignIn,
    client: &ClientApp,
    preselect: Option<&str>,
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
                let checked = preselect.is_some_and(|h| {
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
                    admin = u
                        .directory_roles()
                        .iter()
                        .map(|r| format!(" · {}", esc(r)))
                        .collect::<String>(),
                ));
            }
        }
    }
    let (heading, org_box) = match pending.kind {
        ConsentKind::Authorize => (
            if pending.prompt_consent {
                "Permissions requested"
            } else {
                "Pick an account"
            },
            // consent-types-developer: an admin sees "Consent on behalf of your organization".
            "<label><input type=\"checkbox\" name=\"consent_for_organization\" value=\"true\" \
             data-testid=\"consent-for-organization\"> Consent on behalf of your organization \
             <span class=\"note\">(administrators only)</span></label>",
        ),
        _ => ("Permissions requested — Accept for your organization", ""),
    };
    let static_note = if matches!(pending.wanted, Wanted::Static) {
        "<p class=\"note\">This app asks for the permissions listed on its registration (<code>/.default</code>), \
         for every API it uses.</p>"
    } else {
        ""
    };
    let body = format!(
        "<p class=\"brand\">Microsoft (emulator)</p><h1>{heading}</h1>\
<p><strong>{app}</strong> wants to:</p>{perms}{static_note}\
<form method=\"post\" action=\"{login}/_emulator/decide\">\
<input type=\"hidden\" name=\"txn\" value=\"{txn}\">{accounts}{org_box}\
<p class=\"note\">Accepting these permissions means that you allow this app to use your data as specified.</p>\
<div class=\"buttons\"><button type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button>\
<button type=\"submit\" name=\"action\" value=\"accept\" class=\"primary\">Accept</button></div>\
<p class=\"note\">Emulator only: <button type=\"submit\" name=\"action\" value=\"decline\">Decline consent (AADSTS65004)</button></p>\
</form>",
        app = esc(&client.display_name),
        perms = permissions_html(&pending.wanted, client),
        login = esc(&state.login_url()),
    );
    state.store().pending.insert(txn, pending);
    Html(page("Sign in to your account", &body)).into_response()
}

/// Appends parameters to `redirect_uri` (query or fragment) or answers with a form_post page.
pub(crate) fn redirect_with(redirect_uri: &str, mode: &str, params: &[(&str, &str)]) -> Response {
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

/// Issues an authorization code and sends the browser back with it.
fn issue_code(state: &EmulatorState, p: &PendingSignIn, tenant: &Tenant, user: &User) -> Response {
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
    redirect_with(
        &p.redirect_uri,
        &p.response_mode,
        &[
            ("code", &code),
            ("state", p.state.as_deref().unwrap_or_default()),
            ("session_state", &session_state),
        ],
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct Decision {
    txn: String,
    account: Option<String>,
    action: String,
    consent_for_organization: Option<String>,
}

pub(crate) async fn decide(
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
    // The person signs in before they consent, so a picked account starts a session either way.
    let picked = d
        .account
        .as_deref()
        .filter(|a| !a.is_empty())
        .and_then(|a| {
            let seed = state.seed();
            seed.user(a)
                .filter(|(t, _)| p.path.tid().is_none_or(|id| id == t.id))
                .map(|(t, u)| (t.clone(), u.clone()))
        });
    let cookie = picked.as_ref().map(|(_, u)| {
        let sid = random_token(32);
        state.store().sessions.insert(sid.clone(), u.oid.clone());
        format!("{SESSION_COOKIE}={sid}; Path=/login; HttpOnly; SameSite=Lax")
    });
    let mut res = decide_inner(&state, &p, &d, picked);
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn decide_inner(
    state: &EmulatorState,
    p: &PendingSignIn,
    d: &Decision,
    picked: Option<(Tenant, User)>,
) -> Response {
    let st = p.state.clone().unwrap_or_default();
    let back = |pairs: &[(&str, &str)]| redirect_with(&p.redirect_uri, &p.response_mode, pairs);
    // Each endpoint's documented error shape.
    let denied = |e: AadError, cancel: bool| match &p.kind {
        ConsentKind::Authorize if cancel => back(&[
            ("error", "access_denied"),
            ("error_subcode", "cancel"),
            ("error_description", &e.short_description()),
            ("state", &st),
        ]),
        ConsentKind::Authorize => back(&[
            ("error", e.error),
            ("error_description", &e.short_description()),
            ("state", &st),
        ]),
        // consent-types-developer / v2-oauth2-client-creds-grant-flow (v1 admin consent).
        ConsentKind::AdminConsentV1 if cancel => back(&[
            ("error", "permission_denied"),
            ("error_description", "The admin canceled the request"),
            ("state", &st),
        ]),
        ConsentKind::AdminConsentV1 => back(&[
            ("error", e.error),
            ("error_description", &e.short_description()),
            ("state", &st),
        ]),
        // v2-admin-consent: `admin_consent=True&error=consent_required&error_description=AADSTS65004...`.
        ConsentKind::AdminConsentV2 => back(&[
            ("admin_consent", "True"),
            ("error", if cancel { "consent_required" } else { e.error }),
            ("error_description", &e.short_description()),
            ("state", &st),
        ]),
    };
    // reference-error-codes: AADSTS65004 UserDeclinedConsent.
    let declined = AadError::new(
        "consent_required",
        65004,
        "The resource owner or authorization server denied the request.",
    );
    match d.action.as_str() {
        "cancel" => {
            let e = match p.kind {
                ConsentKind::Authorize => AadError::new(
                    "access_denied",
                    65004,
                    "User declined to consent to access the app.",
                ),
                _ => declined,
            };
            return denied(e, true);
        }
        "decline" => return denied(declined, false),
        "accept" => {}
        _ => return error_page(StatusCode::BAD_REQUEST, 900144, "Unknown action."),
    }
    if d.account.as_deref().is_none_or(str::is_empty) {
        return error_page(
            StatusCode::BAD_REQUEST,
            50126,
            "Pick an account to continue.",
        );
    }
    let Some((tenant, user)) = picked else {
        return error_page(
            StatusCode::BAD_REQUEST,
            50034,
            "The user account does not exist in this directory.",
        );
    };
    let Some(client) = state.seed().client(&p.client_id).cloned() else {
        return error_page(StatusCode::BAD_REQUEST, 700016, "The application is gone.");
    };
    let for_organization = d
        .consent_for_organization
        .as_deref()
        .is_some_and(|v| matches!(v, "true" | "on" | "1"));
    if let Err(e) = accept(state, p, &client, &tenant, &user, for_organization) {
        return denied(e, false);
    }
    match &p.kind {
        ConsentKind::AdminConsentV2 => {
            let granted = granted_scope_list(&p.wanted, &client).join(" ");
            back(&[
                ("admin_consent", "True"),
                ("tenant", &tenant.id),
                ("scope", &granted),
                ("state", &st),
            ])
        }
        ConsentKind::AdminConsentV1 => back(&[
            ("tenant", &tenant.id),
            ("state", &st),
            ("admin_consent", "True"),
        ]),
        ConsentKind::Authorize => issue_code(state, p, &tenant, &user),
    }
}
