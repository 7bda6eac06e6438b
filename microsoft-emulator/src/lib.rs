//! A local stand-in for Microsoft: the identity platform (login.microsoftonline.com), Microsoft
//! Graph, Entra Verified ID (admin API and request service) and a simulated Authenticator, all
//! speaking Microsoft's wire formats over real HTTP on one port, under one path prefix per host.
//!
//! Use it standalone (`cargo run -p microsoft-emulator -- --addr 127.0.0.1:4000`), embedded
//! (`spawn(EmulatorConfig { .. })`), or through the app's default run.

mod auth;
mod authenticator;
mod errors;
mod faults;
mod graph;
mod graph_users;
mod html;
mod keys;
mod login;
mod scopes;
mod seed;
mod signin;
mod state;
mod temporary_access_pass;
mod verifiedid;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use authenticator::{
    Authenticator, DeclineOptions, PresentOptions, SentCallback, Variant, WalletError,
    WalletOutcome,
};
pub use faults::{ActiveFault, CallbackFault, FaultSpec, Faults};
pub use seed::*;
pub use state::{EmulatorState, Propagation};
pub use temporary_access_pass::{TapPolicy, TapTargets};

/// Where and with what data to run.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// `127.0.0.1:0` in tests.
    pub bind: SocketAddr,
    pub seed: Seed,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: Seed::demo(),
        }
    }
}

/// The whole emulator: `/login`, `/graph`, `/verifiedid`, `/authenticator` and `/_control`.
pub fn router(state: EmulatorState) -> Router {
    Router::new()
        .nest("/login", login::routes())
        .nest(
            "/graph",
            graph::routes()
                .merge(graph_users::routes())
                .merge(temporary_access_pass::routes()),
        )
        .nest("/verifiedid", verifiedid::routes())
        .nest("/authenticator", authenticator::routes())
        // The page's canonical URL has a trailing slash, which a nested "/" does not match.
        .route("/authenticator/", get(authenticator::home))
        .route(
            "/_control/faults",
            post(faults::control_add)
                .get(faults::control_list)
                .delete(faults::control_clear),
        )
        .route(
            "/_control/faults/{id}",
            axum::routing::delete(faults::control_remove),
        )
        .route("/_control/redirect_uris", post(control_redirect_uri))
        .route(
            "/_control/consents",
            post(control_consent).delete(control_revoke_consent),
        )
        .route("/_control/requests/{id}/expire", post(control_expire))
        .route("/_control/request_lifetime", post(control_request_lifetime))
        .route(
            "/_control/tenants/{tid}/domains/{name}",
            axum::routing::delete(control_remove_domain),
        )
        .route(
            "/_control/consent_propagation",
            post(control_consent_propagation),
        )
        .route(
            "/_control/tenants/{tid}/users/{user}/revoke_sign_in_sessions",
            post(control_revoke_sessions),
        )
        .route(
            "/_control/tenants/{tid}/users/{user}/roles",
            axum::routing::put(control_user_roles),
        )
        .route(
            "/_control/tenants/{tid}/users/{user}/mail",
            axum::routing::put(control_user_mail),
        )
        .route(
            "/_control/tenants/{tid}/authorities/{id}/linked_domain",
            axum::routing::put(control_linked_domain),
        )
        .route(
            "/_control/tenants/{tid}/authorities/{id}/contracts",
            post(control_add_contract),
        )
        .merge(temporary_access_pass::control_routes())
        .route("/", get(index))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .with_state(state)
}

async fn index(State(state): State<EmulatorState>) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "login": state.login_url(),
        "graph": state.graph_url(),
        "verifiedid": state.verified_id_url(),
        "authenticator": state.authenticator_url(),
    }))
}

/// `DELETE /_control/tenants/{tid}/domains/{name}`: the domain leaves the tenant (Graph
/// stops listing it). 204, or 404 when the tenant or domain is unknown.
async fn control_remove_domain(
    State(state): State<EmulatorState>,
    axum::extract::Path((tid, name)): axum::extract::Path<(String, String)>,
) -> Response {
    if state.remove_domain(&tid, &name) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

fn found(done: bool) -> StatusCode {
    if done {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// `POST /_control/tenants/{tid}/users/{user}/revoke_sign_in_sessions`: as Graph's
/// `revokeSignInSessions` (the user by object id or UPN), without a token. 204 or 404.
async fn control_revoke_sessions(
    State(state): State<EmulatorState>,
    axum::extract::Path((tid, user)): axum::extract::Path<(String, String)>,
) -> StatusCode {
    found(state.revoke_sign_in_sessions(&tid, &user))
}

#[derive(Deserialize)]
struct Roles {
    roles: Vec<String>,
}

/// `PUT /_control/tenants/{tid}/users/{user}/roles {"roles": [...]}`: the user's directory
/// roles from now on (refresh tokens stay valid). 204 or 404.
async fn control_user_roles(
    State(state): State<EmulatorState>,
    axum::extract::Path((tid, user)): axum::extract::Path<(String, String)>,
    axum::Json(r): axum::Json<Roles>,
) -> StatusCode {
    let roles: Vec<&str> = r.roles.iter().map(String::as_str).collect();
    found(state.set_user_roles(&tid, &user, &roles))
}

#[derive(Deserialize)]
struct Mail {
    mail: Option<String>,
}

/// `PUT /_control/tenants/{tid}/users/{user}/mail {"mail": "new@contoso.com" | null}`.
async fn control_user_mail(
    State(state): State<EmulatorState>,
    axum::extract::Path((tid, user)): axum::extract::Path<(String, String)>,
    axum::Json(m): axum::Json<Mail>,
) -> StatusCode {
    found(state.set_user_mail(&tid, &user, m.mail.as_deref()))
}

#[derive(Deserialize)]
struct LinkedDomain {
    verified: bool,
}

/// `PUT /_control/tenants/{tid}/authorities/{id}/linked_domain {"verified": bool}`. 204 or 404.
async fn control_linked_domain(
    State(state): State<EmulatorState>,
    axum::extract::Path((tid, id)): axum::extract::Path<(String, String)>,
    axum::Json(l): axum::Json<LinkedDomain>,
) -> StatusCode {
    found(state.set_linked_domain_verified(&tid, &id, l.verified))
}

/// `POST /_control/tenants/{tid}/authorities/{id}/contracts` with a contract as in the seed
/// file (`{"id","name","vc_types",...}`): a new credential type. 204 or 404.
async fn control_add_contract(
    State(state): State<EmulatorState>,
    axum::extract::Path((tid, id)): axum::extract::Path<(String, String)>,
    axum::Json(contract): axum::Json<seed::Contract>,
) -> StatusCode {
    found(state.add_contract(&tid, &id, contract))
}

#[derive(Deserialize)]
struct RedirectUri {
    client_id: String,
    redirect_uri: String,
}

async fn control_redirect_uri(
    State(state): State<EmulatorState>,
    axum::Json(r): axum::Json<RedirectUri>,
) -> Response {
    if state.register_redirect_uri(&r.client_id, &r.redirect_uri) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

#[derive(Deserialize)]
struct ConsentRef {
    tenant_id: String,
    client_id: String,
    /// Grant only these delegated scopes (no app roles).
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// Grant the static delegated permissions only (no app roles).
    #[serde(default)]
    delegated_only: bool,
}

/// `POST /_control/consents`: full admin consent by default; `delegated_only` or `scopes` for a
/// tenant whose admin consented to delegated permissions but not to the app role.
async fn control_consent(
    State(state): State<EmulatorState>,
    axum::Json(c): axum::Json<ConsentRef>,
) -> StatusCode {
    let default_scope = format!("{}/.default", seed::GRAPH_RESOURCE);
    let ok = match (&c.scopes, c.delegated_only) {
        (Some(s), _) => {
            let s: Vec<&str> = s.iter().map(String::as_str).collect();
            state.grant_delegated_consent(&c.tenant_id, &c.client_id, &s)
        }
        (None, true) => {
            state.grant_delegated_consent(&c.tenant_id, &c.client_id, &[&default_scope])
        }
        (None, false) => state.grant_admin_consent(&c.tenant_id, &c.client_id),
    };
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

async fn control_revoke_consent(
    State(state): State<EmulatorState>,
    axum::Json(c): axum::Json<ConsentRef>,
) -> StatusCode {
    state.revoke_admin_consent(&c.tenant_id, &c.client_id);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct RequestLifetime {
    secs: u64,
}

/// Sets the lifetime of presentation requests created from now on (Microsoft's is 300 s).
async fn control_request_lifetime(
    State(state): State<EmulatorState>,
    axum::Json(r): axum::Json<RequestLifetime>,
) -> StatusCode {
    if r.secs == 0 || r.secs > 3600 {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    state.set_request_lifetime_secs(r.secs);
    StatusCode::NO_CONTENT
}

/// `POST /_control/consent_propagation {"service_principal_ms", "roles_ms"}`: how long consents
/// given from now on take to reach client credentials (see `Propagation`).
async fn control_consent_propagation(
    State(state): State<EmulatorState>,
    axum::Json(p): axum::Json<state::Propagation>,
) -> StatusCode {
    if p.service_principal_ms > 600_000 || p.roles_ms > 600_000 {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    state.set_consent_propagation(p);
    StatusCode::NO_CONTENT
}

async fn control_expire(
    State(state): State<EmulatorState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> StatusCode {
    if state.expire_request(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// A running emulator; dropping it does not stop it, call `shutdown()`.
pub struct RunningEmulator {
    addr: SocketAddr,
    state: EmulatorState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Binds, then serves in a background task. Fast: no key generation at start.
pub async fn spawn(config: EmulatorConfig) -> anyhow::Result<RunningEmulator> {
    use anyhow::Context;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding the Microsoft emulator to {}", config.bind))?;
    let addr = listener.local_addr()?;
    let state = EmulatorState::new(&format!("http://{addr}"), config.seed)?;
    let app = router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "Microsoft emulator stopped with an error");
        }
    });
    tracing::info!(base = %format!("http://{addr}"), "Microsoft emulator listening");
    Ok(RunningEmulator {
        addr,
        state,
        stop: Some(tx),
        task,
    })
}

impl RunningEmulator {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr))
            .expect("a socket address makes a valid URL")
    }
    /// login.microsoftonline.com, e.g. `{login_url}/{tenant}/oauth2/v2.0/authorize`.
    pub fn login_url(&self) -> String {
        self.state.login_url()
    }
    /// graph.microsoft.com, e.g. `{graph_url}/v1.0/organization`.
    pub fn graph_url(&self) -> String {
        self.state.graph_url()
    }
    /// verifiedid.did.msidentity.com, e.g. `{verified_id_url}/v1.0/verifiableCredentials/...`.
    pub fn verified_id_url(&self) -> String {
        self.state.verified_id_url()
    }
    /// The simulated phone: HTML page at `{authenticator_url}/`, JSON API under `/api`.
    pub fn authenticator_url(&self) -> String {
        self.state.authenticator_url()
    }
    /// The ID-token issuer for a tenant: `{login_url}/{tid}/v2.0`.
    pub fn issuer(&self, tenant_id: &str) -> String {
        self.state.issuer(tenant_id)
    }
    /// Adds a redirect URI to a registered client; false if the client is unknown.
    pub fn register_redirect_uri(&self, client_id: &str, uri: &str) -> bool {
        self.state.register_redirect_uri(client_id, uri)
    }
    /// Full admin consent without the page (for tests that start "connected"): every static
    /// delegated permission for the whole tenant and every app role, as the admin consent
    /// endpoint grants. False if the client is unknown.
    pub fn grant_admin_consent(&self, tenant_id: &str, client_id: &str) -> bool {
        self.state.grant_admin_consent(tenant_id, client_id)
    }
    /// Tenant-wide consent to these delegated permissions only, no app roles (a tenant whose
    /// admin consented to delegated permissions but never to the application permission).
    /// `scopes` are `{resource}/{permission}`; `{resource}/.default` means the static delegated
    /// list. False if a resource or the client is unknown.
    pub fn grant_delegated_consent(
        &self,
        tenant_id: &str,
        client_id: &str,
        scopes: &[&str],
    ) -> bool {
        self.state
            .grant_delegated_consent(tenant_id, client_id, scopes)
    }
    pub fn revoke_admin_consent(&self, tenant_id: &str, client_id: &str) {
        self.state.revoke_admin_consent(tenant_id, client_id)
    }
    /// A domain leaves a tenant: Graph no longer lists it. False if tenant or domain is unknown.
    pub fn remove_domain(&self, tenant_id: &str, domain: &str) -> bool {
        self.state.remove_domain(tenant_id, domain)
    }
    /// See `EmulatorState::revoke_sign_in_sessions`.
    pub fn revoke_sign_in_sessions(&self, tenant_id: &str, user: &str) -> bool {
        self.state.revoke_sign_in_sessions(tenant_id, user)
    }
    /// See `EmulatorState::set_user_roles`.
    pub fn set_user_roles(&self, tenant_id: &str, user: &str, roles: &[&str]) -> bool {
        self.state.set_user_roles(tenant_id, user, roles)
    }
    /// See `EmulatorState::set_temporary_access_pass_policy`.
    pub fn set_temporary_access_pass_policy(
        &self,
        tenant_id: &str,
        policy: TapPolicy,
    ) -> Result<(), String> {
        self.state
            .set_temporary_access_pass_policy(tenant_id, policy)
    }
    /// See `EmulatorState::has_temporary_access_pass`.
    pub fn has_temporary_access_pass(&self, tenant_id: &str, user: &str) -> bool {
        self.state.has_temporary_access_pass(tenant_id, user)
    }
    /// See `EmulatorState::set_linked_domain_verified`.
    pub fn set_linked_domain_verified(
        &self,
        tenant_id: &str,
        authority_id: &str,
        verified: bool,
    ) -> bool {
        self.state
            .set_linked_domain_verified(tenant_id, authority_id, verified)
    }
    /// See `EmulatorState::add_contract`.
    pub fn add_contract(&self, tenant_id: &str, authority_id: &str, contract: Contract) -> bool {
        self.state.add_contract(tenant_id, authority_id, contract)
    }
    /// See `EmulatorState::set_consent_propagation`.
    pub fn set_consent_propagation(&self, propagation: Propagation) {
        self.state.set_consent_propagation(propagation);
    }
    /// Lifetime (`expiry` - now) of presentation requests created from now on.
    pub fn set_request_lifetime_secs(&self, secs: u64) {
        self.state.set_request_lifetime_secs(secs)
    }
    /// Expires a presentation request now (no callback is sent, as with Microsoft).
    pub fn expire_request(&self, request_id: &str) -> bool {
        self.state.expire_request(request_id)
    }
    pub fn faults(&self) -> Faults {
        self.state.0.faults.clone()
    }
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new(self.state.clone())
    }
    /// Signs arbitrary claims with the emulator's key (for tests that need forged or expired tokens).
    pub fn sign_token(&self, claims: &serde_json::Value) -> String {
        self.state.0.keys.sign(claims)
    }
    pub fn state(&self) -> &EmulatorState {
        &self.state
    }
    /// Stops accepting connections and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}
