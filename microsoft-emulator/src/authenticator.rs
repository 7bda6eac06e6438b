//! The simulated Microsoft Authenticator: the person's phone. It opens an `openid-vc://` URL (or a
//! request id), holds the seed users' VerifiedEmployee credentials, and scans, presents (in several
//! right and wrong ways) or declines, which makes "Microsoft" send the callbacks to the relying party.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors::VcError;
use crate::faults::CallbackFault;
use crate::html::{esc, page};
use crate::keys::{now, random_token};
use crate::seed::{Tenant, User, VERIFIED_EMPLOYEE};
use crate::state::EmulatorState;
use crate::verifiedid::PresentationRequest;

/// How the person presents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// The user's own credential (revoked if the seed says so).
    #[default]
    Valid,
    /// The user's credential, marked revoked.
    Revoked,
    /// The user's claims in a credential issued by another tenant (Fabrikam for Contoso users).
    OtherTenant,
    /// The user's own credential, but its `mail` claim differs from the user's mail.
    DifferentMail,
    /// Face Check scores below the request's threshold.
    FaceCheckLow,
}

impl Variant {
    pub const ALL: [Variant; 5] = [
        Variant::Valid,
        Variant::Revoked,
        Variant::OtherTenant,
        Variant::DifferentMail,
        Variant::FaceCheckLow,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::Valid => "valid",
            Variant::Revoked => "revoked",
            Variant::OtherTenant => "other_tenant",
            Variant::DifferentMail => "different_mail",
            Variant::FaceCheckLow => "face_check_low",
        }
    }
}

/// A presentation, fully specified.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PresentOptions {
    /// The `openid-vc://?request_uri=...` URL, the request_uri itself, or the request id.
    pub request: String,
    /// UPN, mail or oid of a seed user.
    pub user: String,
    #[serde(default)]
    pub variant: Variant,
    /// Send `presentation_verified` even where Microsoft would refuse (revoked with
    /// allowRevoked=false, issuer not in acceptedIssuers, constraints not met), so the relying
    /// party's own checks can be tested.
    #[serde(default)]
    pub trust_wallet: bool,
    /// With includeReceipt: send `receipt.vp_token` as an array instead of a string.
    #[serde(default)]
    pub vp_token_array: bool,
}

/// One callback delivery attempt and what the relying party answered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SentCallback {
    pub request_status: String,
    pub attempt: u32,
    /// The relying party's HTTP status; `None` when it could not be reached (see `error`).
    pub status: Option<u16>,
    pub error: Option<String>,
    pub body: Value,
}

/// What a wallet action did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WalletOutcome {
    pub request_id: String,
    /// Callbacks sent, in order, with the relying party's answers.
    pub callbacks: Vec<SentCallback>,
    /// `requestStatus` values that a `drop` fault or a silent decline swallowed.
    pub dropped: Vec<String>,
    /// The callback fault applied, if any.
    pub fault: Option<CallbackFault>,
}

impl WalletOutcome {
    /// The statuses the relying party answered, in order (None = unreachable).
    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.callbacks.iter().map(|c| c.status).collect()
    }
    pub fn request_statuses(&self) -> Vec<&str> {
        self.callbacks
            .iter()
            .map(|c| c.request_status.as_str())
            .collect()
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WalletError {
    #[error("no presentation request with id {0}")]
    UnknownRequest(String),
    #[error("the presentation request {0} has expired")]
    Expired(String),
    #[error("the presentation request {0} was already completed")]
    AlreadyCompleted(String),
    #[error("no user {0} in the seed")]
    UnknownUser(String),
    #[error("{0}")]
    NoMatchingCredential(String),
}

impl WalletError {
    fn status(&self) -> StatusCode {
        match self {
            WalletError::UnknownRequest(_) | WalletError::UnknownUser(_) => StatusCode::NOT_FOUND,
            WalletError::Expired(_) => StatusCode::GONE,
            WalletError::AlreadyCompleted(_) => StatusCode::CONFLICT,
            WalletError::NoMatchingCredential(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            WalletError::UnknownRequest(_) => "unknown_request",
            WalletError::Expired(_) => "request_expired",
            WalletError::AlreadyCompleted(_) => "request_completed",
            WalletError::UnknownUser(_) => "unknown_user",
            WalletError::NoMatchingCredential(_) => "no_matching_credential",
        }
    }
    pub(crate) fn into_vc_error(self) -> VcError {
        VcError::new(self.status(), "notFound", self.to_string()).target("requestId")
    }
}

impl IntoResponse for WalletError {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(json!({"error": self.code(), "message": self.to_string()})),
        )
            .into_response()
    }
}

/// Extracts the request id from an `openid-vc://` URL, a request_uri or a bare id.
pub(crate) fn request_id_of(s: &str) -> String {
    let s = s.trim();
    let uri = match s.find("request_uri=") {
        Some(at) => url::form_urlencoded::parse(&s.as_bytes()[at..])
            .find(|(k, _)| k == "request_uri")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
        None => s.to_string(),
    };
    uri.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The request as the wallet sees it, refusing expired or finished ones.
pub(crate) fn retrieve(
    state: &EmulatorState,
    id: &str,
) -> Result<PresentationRequest, WalletError> {
    let store = state.store();
    let req = store
        .requests
        .get(id)
        .ok_or_else(|| WalletError::UnknownRequest(id.to_string()))?;
    if now() >= req.expiry {
        return Err(WalletError::Expired(id.to_string()));
    }
    if req.completed {
        return Err(WalletError::AlreadyCompleted(id.to_string()));
    }
    Ok(req.clone())
}

fn status_body(req: &PresentationRequest, status: &str) -> Value {
    json!({"requestId": req.id, "requestStatus": status, "state": req.state})
}

async fn post_once(
    state: &EmulatorState,
    req: &PresentationRequest,
    body: &Value,
    attempt: u32,
) -> SentCallback {
    let mut rb = state.0.http.post(&req.callback_url).json(body);
    for (k, v) in &req.callback_headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    let (status, error) = match rb.send().await {
        Ok(res) => (Some(res.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let request_status = body["requestStatus"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    tracing::info!(request_id = %req.id, %request_status, ?status, "callback sent");
    SentCallback {
        request_status,
        attempt,
        status,
        error,
        body: body.clone(),
    }
}

/// Sends callbacks in order, applying a callback fault.
async fn deliver(
    state: &EmulatorState,
    req: &PresentationRequest,
    bodies: Vec<Value>,
    fault: Option<CallbackFault>,
    out: &mut WalletOutcome,
) {
    out.fault = out.fault.or(fault);
    for body in bodies {
        if fault == Some(CallbackFault::Drop) {
            out.dropped.push(
                body["requestStatus"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            continue;
        }
        let first = post_once(state, req, &body, 1).await;
        let mut failed = first.status.is_none_or(|s| s >= 500);
        out.callbacks.push(first);
        if fault == Some(CallbackFault::RetryOn5xx) {
            let mut attempt = 1;
            while failed && attempt < 4 {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                let again = post_once(state, req, &body, attempt).await;
                failed = again.status.is_none_or(|s| s >= 500);
                out.callbacks.push(again);
            }
        }
        if fault == Some(CallbackFault::Duplicate) {
            out.callbacks.push(post_once(state, req, &body, 2).await);
        }
    }
}

fn new_outcome(id: &str) -> WalletOutcome {
    WalletOutcome {
        request_id: id.to_string(),
        callbacks: vec![],
        dropped: vec![],
        fault: None,
    }
}

/// Marks the request retrieved and sends `request_retrieved` (deferred under `out_of_order`).
pub(crate) async fn send_retrieved(state: &EmulatorState, id: &str) -> WalletOutcome {
    let mut out = new_outcome(id);
    let Ok(req) = retrieve(state, id) else {
        return out;
    };
    let fault = state.0.faults.take_callback(&req.tenant_id, id);
    {
        let mut store = state.store();
        if let Some(r) = store.requests.get_mut(id) {
            r.retrieved = true;
        }
    }
    if fault == Some(CallbackFault::OutOfOrder) {
        // Held back: it goes out after the terminal callback.
        state.store().deferred_retrieved.insert(id.to_string());
        out.fault = fault;
        return out;
    }
    deliver(
        state,
        &req,
        vec![status_body(&req, "request_retrieved")],
        fault,
        &mut out,
    )
    .await;
    out
}

/// Scans and (unless already scanned) sends `request_retrieved`, then the terminal callback.
async fn finish(
    state: &EmulatorState,
    req: &PresentationRequest,
    terminal: Value,
    silent: bool,
) -> Result<WalletOutcome, WalletError> {
    let mut out = new_outcome(&req.id);
    let (was_retrieved, deferred) = {
        // Check and complete under one lock, so two concurrent presentations cannot both win.
        let mut store = state.store();
        let deferred = store.deferred_retrieved.remove(&req.id);
        let r = store
            .requests
            .get_mut(&req.id)
            .ok_or_else(|| WalletError::UnknownRequest(req.id.clone()))?;
        if r.completed {
            return Err(WalletError::AlreadyCompleted(req.id.clone()));
        }
        let was = r.retrieved;
        r.retrieved = true;
        r.completed = true;
        (was, deferred)
    };
    let fault = state.0.faults.take_callback(&req.tenant_id, &req.id);
    let retrieved = status_body(req, "request_retrieved");
    let mut bodies = Vec::new();
    let needs_retrieved = !was_retrieved || deferred;
    if fault == Some(CallbackFault::OutOfOrder) || deferred {
        bodies.push(terminal.clone());
        if needs_retrieved || fault == Some(CallbackFault::OutOfOrder) {
            bodies.push(retrieved);
        }
    } else {
        if needs_retrieved {
            bodies.push(retrieved);
        }
        bodies.push(terminal.clone());
    }
    if silent {
        let terminal_status = terminal["requestStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        out.dropped.push(terminal_status.clone());
        bodies.retain(|b| b["requestStatus"] != terminal["requestStatus"]);
    }
    deliver(state, req, bodies, fault, &mut out).await;
    Ok(out)
}

fn presentation_error(req: &PresentationRequest, code: &str, message: &str) -> Value {
    json!({"requestId": req.id, "requestStatus": "presentation_error", "state": req.state,
           "error": {"code": code, "message": message}})
}

/// Decides what "Microsoft" sends for a presentation, and builds it.
fn presentation_callback(
    state: &EmulatorState,
    req: &PresentationRequest,
    opts: &PresentOptions,
) -> Result<Value, WalletError> {
    let seed = state.seed();
    let (home, user): (Tenant, User) =
        seed.user(&opts.user)
            .map(|(t, u)| (t.clone(), u.clone()))
            .ok_or_else(|| WalletError::UnknownUser(opts.user.clone()))?;
    let Some(credential) = user.credential.clone() else {
        return Err(WalletError::NoMatchingCredential(format!(
            "{} holds no VerifiedEmployee credential",
            opts.user
        )));
    };
    if req.credential_type != VERIFIED_EMPLOYEE {
        return Err(WalletError::NoMatchingCredential(format!(
            "the wallet holds no {} credential",
            req.credential_type
        )));
    }
    // The issuing tenant: the user's own, or another tenant with Verified ID.
    let issuer_tenant = if opts.variant == Variant::OtherTenant {
        seed.tenants
            .iter()
            .find(|t| t.id != home.id && t.id != req.tenant_id && t.verified_id.is_some())
            .or_else(|| {
                seed.tenants
                    .iter()
                    .find(|t| t.id != home.id && t.verified_id.is_some())
            })
            .cloned()
            .ok_or_else(|| {
                WalletError::NoMatchingCredential(
                    "no other tenant with Verified ID in the seed".into(),
                )
            })?
    } else {
        home.clone()
    };
    let Some(authority) = issuer_tenant.verified_id.clone() else {
        return Err(WalletError::NoMatchingCredential(format!(
            "{} has no Verified ID authority, so {} holds no credential",
            issuer_tenant.display_name, opts.user
        )));
    };
    drop(seed);

    if opts.variant == Variant::FaceCheckLow {
        return Ok(presentation_error(
            req,
            "claimValidationError",
            "Match confidence score failing to meet the threshold.",
        ));
    }
    let revoked = credential.revoked || opts.variant == Variant::Revoked;
    let mut mail = user.mail.clone().unwrap_or_else(|| user.upn.clone());
    if opts.variant == Variant::DifferentMail {
        let (local, domain) = mail.split_once('@').unwrap_or((&mail, "example.com"));
        mail = format!("{local}.other@{domain}");
    }
    let initial = issuer_tenant
        .domains
        .iter()
        .find(|d| d.is_initial)
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let local = user.upn.split('@').next().unwrap_or_default();
    let mut claims = serde_json::Map::new();
    claims.insert("displayName".into(), json!(user.display_name));
    claims.insert("givenName".into(), json!(user.given_name));
    claims.insert("surname".into(), json!(user.surname));
    if let Some(j) = &user.job_title {
        claims.insert("jobTitle".into(), json!(j));
    }
    if let Some(l) = &user.preferred_language {
        claims.insert("preferredLanguage".into(), json!(l));
    }
    claims.insert("mail".into(), json!(mail));
    claims.insert("revocationId".into(), json!(format!("{local}@{initial}")));
    if let Some(p) = &credential.photo {
        claims.insert("photo".into(), json!(p));
    }

    if !opts.trust_wallet {
        if !req.accepted_issuers.is_empty()
            && !req.accepted_issuers.iter().any(|i| i == &authority.did)
        {
            return Ok(presentation_error(
                req,
                "issuerNotAccepted",
                "The presented credential's issuer is not in acceptedIssuers.",
            ));
        }
        if revoked && !req.allow_revoked {
            return Ok(presentation_error(
                req,
                "credentialRevoked",
                "The presented credential has been revoked.",
            ));
        }
        if !req.constraints.iter().all(|c| c.holds(&claims)) {
            return Ok(presentation_error(
                req,
                "claimValidationError",
                "The presented credential does not satisfy the request's constraints.",
            ));
        }
    }
    let mut vcd = json!({
        "issuer": authority.did,
        "type": ["VerifiableCredential", VERIFIED_EMPLOYEE],
        "claims": claims,
        "credentialState": {"revocationStatus": if revoked { "REVOKED" } else { "VALID" }},
        "domainValidation": {"url": authority.linked_domain_urls.first().cloned().unwrap_or_default()},
        "issuanceDate": credential.issuance_date,
        "expirationDate": credential.expiration_date,
    });
    if let Some(threshold) = req.face_check_threshold {
        if credential.face_match_score < threshold {
            return Ok(presentation_error(
                req,
                "claimValidationError",
                "Match confidence score failing to meet the threshold.",
            ));
        }
        vcd["faceCheck"] = json!({"matchConfidenceScore": credential.face_match_score, "sourcePhotoQuality": "HIGH"});
    }
    let subject = format!("did:ion:EiA{}", random_token(32));
    let mut body = json!({
        "requestId": req.id,
        "requestStatus": "presentation_verified",
        "state": req.state,
        "subject": subject,
        "verifiedCredentialsData": [vcd],
    });
    if req.include_receipt {
        let vc = state.0.keys.sign(&json!({"iss": authority.did, "sub": subject, "jti": format!("urn:pic:{}", random_token(16)),
            "vc": {"type": ["VerifiableCredential", VERIFIED_EMPLOYEE], "credentialSubject": body["verifiedCredentialsData"][0]["claims"]}}));
        let vp = state.0.keys.sign(
            &json!({"iss": subject, "aud": req.authority, "nonce": req.nonce,
            "vp": {"type": ["VerifiablePresentation"], "verifiableCredential": [vc]}}),
        );
        let id_token = state.0.keys.sign(&json!({"iss": "https://self-issued.me/v2/openid-vc", "sub": subject, "aud": req.authority, "nonce": req.nonce}));
        body["receipt"] = json!({
            "id_token": id_token,
            "vp_token": if opts.vp_token_array { json!([vp]) } else { json!(vp) },
            "state": req.state,
        });
    }
    Ok(body)
}

/// A cheap handle that drives the simulated Authenticator from Rust.
#[derive(Clone)]
pub struct Authenticator {
    state: EmulatorState,
}

impl Authenticator {
    pub(crate) fn new(state: EmulatorState) -> Authenticator {
        Authenticator { state }
    }

    /// Opens the request (QR scanned / deep link tapped): `request_retrieved`.
    pub async fn scan(&self, request: &str) -> Result<WalletOutcome, WalletError> {
        let id = request_id_of(request);
        retrieve(&self.state, &id)?;
        Ok(send_retrieved(&self.state, &id).await)
    }

    /// Presents `user`'s credential in the given way (scanning first if not yet scanned).
    pub async fn present(
        &self,
        request: &str,
        user: &str,
        variant: Variant,
    ) -> Result<WalletOutcome, WalletError> {
        self.present_with(PresentOptions {
            request: request.into(),
            user: user.into(),
            variant,
            ..PresentOptions::default()
        })
        .await
    }

    pub async fn present_with(&self, opts: PresentOptions) -> Result<WalletOutcome, WalletError> {
        let id = request_id_of(&opts.request);
        let req = retrieve(&self.state, &id)?;
        let body = presentation_callback(&self.state, &req, &opts)?;
        finish(&self.state, &req, body, false).await
    }

    /// The person declines. Microsoft documents no callback for this; the emulator sends
    /// `presentation_error` with `userCanceled` unless `silent`.
    pub async fn decline(&self, request: &str, silent: bool) -> Result<WalletOutcome, WalletError> {
        let id = request_id_of(request);
        let req = retrieve(&self.state, &id)?;
        let body = presentation_error(
            &req,
            "userCanceled",
            "The user canceled the presentation in Authenticator.",
        );
        finish(&self.state, &req, body, silent).await
    }
}

// ---------------------------------------------------------------- HTTP API and page

pub(crate) fn routes() -> axum::Router<EmulatorState> {
    axum::Router::new()
        .route("/", get(home))
        .route("/act", post(act))
        .route("/api/users", get(users))
        .route("/api/requests/{id}", get(request_info))
        .route("/api/scan", post(api_scan))
        .route("/api/present", post(api_present))
        .route("/api/decline", post(api_decline))
}

#[derive(Debug, Deserialize)]
struct RequestRef {
    request: String,
    #[serde(default)]
    silent: bool,
}

fn reply(r: Result<WalletOutcome, WalletError>) -> Response {
    match r {
        Ok(o) => Json(o).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn api_scan(State(state): State<EmulatorState>, Json(r): Json<RequestRef>) -> Response {
    reply(Authenticator::new(state).scan(&r.request).await)
}

async fn api_present(
    State(state): State<EmulatorState>,
    Json(o): Json<PresentOptions>,
) -> Response {
    reply(Authenticator::new(state).present_with(o).await)
}

async fn api_decline(State(state): State<EmulatorState>, Json(r): Json<RequestRef>) -> Response {
    reply(
        Authenticator::new(state)
            .decline(&r.request, r.silent)
            .await,
    )
}

async fn users(State(state): State<EmulatorState>) -> Json<Vec<Value>> {
    let seed = state.seed();
    Json(
        seed.tenants
            .iter()
            .flat_map(|t| {
                t.users.iter().map(move |u| {
                    json!({
                        "upn": u.upn, "mail": u.mail, "displayName": u.display_name,
                        "tenantId": t.id, "tenant": t.display_name,
                        "issuer": t.verified_id.as_ref().map(|a| a.did.clone()),
                        "hasCredential": u.credential.is_some() && t.verified_id.is_some(),
                        "revoked": u.credential.as_ref().is_some_and(|c| c.revoked),
                    })
                })
            })
            .collect(),
    )
}

async fn request_info(State(state): State<EmulatorState>, Path(id): Path<String>) -> Response {
    let id = request_id_of(&id);
    let store = state.store();
    match store.requests.get(&id) {
        Some(r) => Json(json!({
            "requestId": r.id, "tenantId": r.tenant_id, "authority": r.authority, "clientName": r.client_name,
            "purpose": r.purpose, "type": r.credential_type, "expiry": r.expiry,
            "expired": now() >= r.expiry, "retrieved": r.retrieved, "completed": r.completed,
            "faceCheck": r.face_check_threshold.is_some(), "includeReceipt": r.include_receipt,
        }))
        .into_response(),
        None => WalletError::UnknownRequest(id).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct HomeQuery {
    request: Option<String>,
    request_uri: Option<String>,
}

fn form_html(state: &EmulatorState, request: &str) -> String {
    let seed = state.seed();
    let mut users = String::new();
    for t in &seed.tenants {
        for u in t
            .users
            .iter()
            .filter(|u| u.credential.is_some() && t.verified_id.is_some())
        {
            users.push_str(&format!(
                "<option value=\"{}\">{} ({}, {}){}</option>",
                esc(&u.upn),
                esc(&u.display_name),
                esc(u.mail.as_deref().unwrap_or(&u.upn)),
                esc(&t.display_name),
                if u.credential.as_ref().is_some_and(|c| c.revoked) {
                    " — revoked"
                } else {
                    ""
                }
            ));
        }
    }
    let variants: String = Variant::ALL
        .iter()
        .map(|v| format!("<option value=\"{0}\">{0}</option>", v.name()))
        .collect();
    format!(
        "<form method=\"post\" action=\"{base}/act\">\
<label for=\"request\">Request (openid-vc:// URL or request id)</label>\
<input type=\"text\" id=\"request\" name=\"request\" value=\"{req}\" data-testid=\"request\">\
<label for=\"user\">Person</label><select id=\"user\" name=\"user\" data-testid=\"user\">{users}</select>\
<label for=\"variant\">Credential</label><select id=\"variant\" name=\"variant\" data-testid=\"variant\">{variants}</select>\
<label><input type=\"checkbox\" name=\"trust_wallet\" value=\"true\"> Send presentation_verified even where Microsoft would refuse</label>\
<div class=\"buttons\"><button type=\"submit\" name=\"action\" value=\"scan\">Scan</button>\
<button type=\"submit\" name=\"action\" value=\"decline\">Decline</button>\
<button type=\"submit\" name=\"action\" value=\"present\" class=\"primary\">Share</button></div></form>",
        base = esc(&state.authenticator_url()),
        req = esc(request),
    )
}

pub(crate) async fn home(
    State(state): State<EmulatorState>,
    Query(q): Query<HomeQuery>,
) -> Html<String> {
    let request = q.request.or(q.request_uri).unwrap_or_default();
    let body = format!(
        "<p class=\"brand\">Authenticator (emulator)</p><h1>Verified ID</h1>{}",
        form_html(&state, &request)
    );
    Html(page("Authenticator", &body))
}

#[derive(Debug, Deserialize)]
struct Act {
    request: String,
    user: Option<String>,
    variant: Option<Variant>,
    trust_wallet: Option<String>,
    action: String,
}

async fn act(State(state): State<EmulatorState>, Form(a): Form<Act>) -> Response {
    let wallet = Authenticator::new(state.clone());
    let result = match a.action.as_str() {
        "scan" => wallet.scan(&a.request).await,
        "decline" => wallet.decline(&a.request, false).await,
        _ => {
            wallet
                .present_with(PresentOptions {
                    request: a.request.clone(),
                    user: a.user.clone().unwrap_or_default(),
                    variant: a.variant.unwrap_or_default(),
                    trust_wallet: a.trust_wallet.is_some(),
                    vp_token_array: false,
                })
                .await
        }
    };
    let (status, headline, detail) = match result {
        Ok(o) => {
            let head = match o.callbacks.last().map(|c| c.request_status.as_str()) {
                Some("presentation_verified") => "Shared",
                Some("presentation_error") => "Not shared",
                Some("request_retrieved") => "Request opened",
                _ => "Done",
            };
            (
                StatusCode::OK,
                head,
                serde_json::to_string_pretty(&o).unwrap_or_default(),
            )
        }
        Err(e) => (e.status(), "Something went wrong", e.to_string()),
    };
    let body = format!(
        "<p class=\"brand\">Authenticator (emulator)</p><h1 data-testid=\"outcome\">{}</h1><pre data-testid=\"details\">{}</pre><hr>{}",
        esc(headline),
        esc(&detail),
        form_html(&state, &a.request)
    );
    (status, Html(page("Authenticator", &body))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_come_from_urls_uris_or_ids() {
        let id = "e4ef27ca-eb8c-4b63-823b-3b95140eac11";
        let uri = format!(
            "http://127.0.0.1:1/verifiedid/v1.0/tenants/t/verifiableCredentials/presentationRequests/{id}"
        );
        assert_eq!(
            request_id_of(&format!("openid-vc://?request_uri={uri}")),
            id
        );
        assert_eq!(request_id_of(&uri), id);
        assert_eq!(request_id_of(id), id);
    }
}
