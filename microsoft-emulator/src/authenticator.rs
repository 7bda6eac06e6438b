//! The simulated Microsoft Authenticator: the person's phone. It opens an `openid-vc://` URL (or a
//! request id), holds the seed users' credentials, and scans, presents (in several right and
//! wrong ways) or declines, which makes "Microsoft" send the callbacks to the relying party, or
//! refuses locally where Microsoft documents no callback.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

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
    /// The user's own credential of the requested type (revoked if the seed says so).
    #[default]
    Valid,
    /// The user's credential, marked revoked: refused at the wallet unless `allowRevoked`.
    Revoked,
    /// The user's claims in a credential issued by another tenant that issues the type (Fabrikam
    /// for Contoso users): refused at the wallet unless `acceptedIssuers` allows it.
    OtherTenant,
    /// The user's own credential, but its `mail` (or `email`) claim differs from the user's.
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
    /// allowRevoked=false, issuer not in acceptedIssuers, unverified linked domain with
    /// validateLinkedDomain, constraints not met), so the relying party's own checks can be tested.
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
    /// `requestStatus` values that a `drop` fault swallowed.
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
    /// The wallet refused to present (issuer not accepted, revoked, unverified linked domain):
    /// Authenticator shows this, and no callback is sent.
    #[error("{0}")]
    Refused(String),
}

impl WalletError {
    fn status(&self) -> StatusCode {
        match self {
            WalletError::UnknownRequest(_) | WalletError::UnknownUser(_) => StatusCode::NOT_FOUND,
            WalletError::Expired(_) => StatusCode::GONE,
            WalletError::AlreadyCompleted(_) => StatusCode::CONFLICT,
            WalletError::NoMatchingCredential(_) | WalletError::Refused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
        }
    }
    fn code(&self) -> &'static str {
        match self {
            WalletError::UnknownRequest(_) => "unknown_request",
            WalletError::Expired(_) => "request_expired",
            WalletError::AlreadyCompleted(_) => "request_completed",
            WalletError::UnknownUser(_) => "unknown_user",
            WalletError::NoMatchingCredential(_) => "no_matching_credential",
            WalletError::Refused(_) => "credential_refused",
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
    json!({"requestId": req.id, "requestStatus": status, "state": req.state,
           "correlationId": uuid::Uuid::new_v4().to_string()})
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
    deliver(state, req, bodies, fault, &mut out).await;
    Ok(out)
}

fn presentation_error(req: &PresentationRequest, code: &str, message: &str) -> Value {
    json!({"requestId": req.id, "requestStatus": "presentation_error", "state": req.state,
           "correlationId": uuid::Uuid::new_v4().to_string(),
           "error": {"code": code, "message": message}})
}

/// What the wallet and Microsoft do with a presentation.
enum Verdict {
    /// The terminal callback Microsoft sends.
    Send(Value),
    /// Refused before anything reaches the relying party: Authenticator shows the reason and no
    /// callback is sent (Microsoft documents no error code for these; the RP sees silence).
    Refuse(String),
}

/// Decides what "Microsoft" sends for a presentation, and builds it.
fn presentation_callback(
    state: &EmulatorState,
    req: &PresentationRequest,
    opts: &PresentOptions,
) -> Result<Verdict, WalletError> {
    let seed = state.seed();
    let (home, user): (Tenant, User) =
        seed.user(&opts.user)
            .map(|(t, u)| (t.clone(), u.clone()))
            .ok_or_else(|| WalletError::UnknownUser(opts.user.clone()))?;
    // The wallet offers only credentials of the requested type.
    let Some(credential) = user
        .credentials()
        .find(|c| c.vc_type == req.credential_type)
        .cloned()
    else {
        return Err(WalletError::NoMatchingCredential(format!(
            "{} holds no {} credential",
            opts.user, req.credential_type
        )));
    };
    let issues = |t: &Tenant| {
        t.verified_id.as_ref().is_some_and(|a| {
            a.contracts
                .iter()
                .any(|c| c.vc_types.iter().any(|ty| ty == &req.credential_type))
        })
    };
    // The issuing tenant: the user's own, or another tenant that issues this type.
    let issuer_tenant = if opts.variant == Variant::OtherTenant {
        seed.tenants
            .iter()
            .find(|t| t.id != home.id && t.id != req.tenant_id && issues(t))
            .or_else(|| seed.tenants.iter().find(|t| t.id != home.id && issues(t)))
            .cloned()
            .ok_or_else(|| {
                WalletError::NoMatchingCredential(format!(
                    "no other tenant in the seed issues {}",
                    req.credential_type
                ))
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
        return Ok(Verdict::Send(face_check_failed(req)));
    }
    let revoked = credential.revoked || opts.variant == Variant::Revoked;
    let mut claims = if credential.vc_type == VERIFIED_EMPLOYEE {
        verified_employee_claims(&user, &issuer_tenant, &credential)
    } else {
        credential.claims.clone()
    };
    if opts.variant == Variant::DifferentMail {
        let Some((name, Value::String(mail))) = ["mail", "email"]
            .iter()
            .find_map(|n| claims.get(*n).map(|v| (*n, v.clone())))
        else {
            return Err(WalletError::NoMatchingCredential(format!(
                "{}'s credential carries no email address to alter",
                opts.user
            )));
        };
        let (local, domain) = mail.split_once('@').unwrap_or((&mail, "example.com"));
        claims.insert(name.into(), json!(format!("{local}.other@{domain}")));
    }

    if !opts.trust_wallet {
        // presentation-request-api: `acceptedIssuers` limits which issuers' credentials can be
        // presented; Authenticator offers no other.
        if !req.accepted_issuers.is_empty()
            && !req.accepted_issuers.iter().any(|i| i == &authority.did)
        {
            return Ok(Verdict::Refuse(format!(
                "No credential from an accepted issuer: this credential was issued by {}.",
                authority.did
            )));
        }
        // presentation-request-api: `allowRevoked` false (the default) refuses a revoked one.
        if revoked && !req.allow_revoked {
            return Ok(Verdict::Refuse(
                "This credential has been revoked by its issuer.".into(),
            ));
        }
        // presentation-request-api: `validateLinkedDomain` true needs a verified linked domain.
        if req.validate_linked_domain && !authority.linked_domains_verified {
            return Ok(Verdict::Refuse(format!(
                "The issuer's linked domain could not be verified ({}).",
                authority.did
            )));
        }
        // presentation-request-api (constraints): claimValidationError.
        if !req.constraints.iter().all(|c| c.holds(&claims)) {
            return Ok(Verdict::Send(presentation_error(
                req,
                "claimValidationError",
                "The presented credential does not satisfy the request's constraints.",
            )));
        }
    }
    let mut vcd = json!({
        "issuer": authority.did,
        "type": ["VerifiableCredential", credential.vc_type],
        "claims": claims,
        "credentialState": {"revocationStatus": if revoked { "REVOKED" } else { "VALID" }},
        "issuanceDate": credential.issuance_date,
    });
    // presentation-request-api (callback): optional fields are absent, not null.
    if authority.linked_domains_verified {
        vcd["domainValidation"] =
            json!({"url": authority.linked_domain_urls.first().cloned().unwrap_or_default()});
    }
    if let Some(expires) = &credential.expiration_date {
        vcd["expirationDate"] = json!(expires);
    }
    if let Some(threshold) = req.face_check_threshold {
        if credential.face_match_score < threshold {
            return Ok(Verdict::Send(face_check_failed(req)));
        }
        // using-facecheck: the score and photo quality, only for Face Check requests.
        vcd["faceCheck"] = json!({"matchConfidenceScore": credential.face_match_score, "sourcePhotoQuality": "HIGH"});
    }
    let subject = format!("did:ion:EiA{}", random_token(32));
    let mut body = json!({
        "requestId": req.id,
        "requestStatus": "presentation_verified",
        "state": req.state,
        "subject": subject,
        "verifiedCredentialsData": [vcd],
        // Not in the documented schema, but present in real callbacks: clients must ignore it.
        "correlationId": uuid::Uuid::new_v4().to_string(),
    });
    if req.include_receipt {
        let vc = state.0.keys.sign(&json!({"iss": authority.did, "sub": subject, "jti": format!("urn:pic:{}", random_token(16)),
            "vc": {"type": ["VerifiableCredential", credential.vc_type], "credentialSubject": body["verifiedCredentialsData"][0]["claims"]}}));
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
    Ok(Verdict::Send(body))
}

/// using-facecheck: below the threshold Microsoft sends claimValidationError, without the score.
fn face_check_failed(req: &PresentationRequest) -> Value {
    presentation_error(
        req,
        "claimValidationError",
        "Match confidence score failing to meet the threshold.",
    )
}

/// A VerifiedEmployee credential's claims, from the directory profile (verified-employee card).
/// Empty attributes are left out, as Microsoft leaves out `mail` for a user without one.
fn verified_employee_claims(
    user: &User,
    issuer: &Tenant,
    credential: &crate::seed::Credential,
) -> Map<String, Value> {
    let initial = issuer
        .domains
        .iter()
        .find(|d| d.is_initial)
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let local = user.upn.split('@').next().unwrap_or_default();
    let mut claims = Map::new();
    claims.insert("displayName".into(), json!(user.display_name));
    claims.insert("givenName".into(), json!(user.given_name));
    claims.insert("surname".into(), json!(user.surname));
    if let Some(j) = &user.job_title {
        claims.insert("jobTitle".into(), json!(j));
    }
    if let Some(l) = &user.preferred_language {
        claims.insert("preferredLanguage".into(), json!(l));
    }
    if let Some(m) = &user.mail {
        claims.insert("mail".into(), json!(m));
    }
    claims.insert("revocationId".into(), json!(format!("{local}@{initial}")));
    if let Some(p) = &credential.photo {
        claims.insert("photo".into(), json!(p));
    }
    claims
}

/// How the person declines.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DeclineOptions {
    /// The `openid-vc://?request_uri=...` URL, the request_uri itself, or the request id.
    pub request: String,
    /// Test control, not Microsoft behaviour: send `presentation_error` with this code (and
    /// `error_message`). Field reports show codes beyond the documented ones; this lets a
    /// relying party's handling of unknown codes be tested.
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
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
        match presentation_callback(&self.state, &req, &opts)? {
            Verdict::Send(body) => finish(&self.state, &req, body).await,
            Verdict::Refuse(reason) => {
                // The wallet fetched the request (request_retrieved), then refused locally.
                self.open(&req).await;
                Err(WalletError::Refused(reason))
            }
        }
    }

    /// The person declines. Microsoft documents no callback for a decline, so none is sent (only
    /// `request_retrieved` if the request had not been opened); the request stays open until it
    /// expires.
    pub async fn decline(&self, request: &str) -> Result<WalletOutcome, WalletError> {
        self.decline_with(DeclineOptions {
            request: request.into(),
            ..DeclineOptions::default()
        })
        .await
    }

    /// A decline; with `error_code` (a test control) "Microsoft" sends `presentation_error` with
    /// that code and message, and the request is finished.
    pub async fn decline_with(&self, opts: DeclineOptions) -> Result<WalletOutcome, WalletError> {
        let id = request_id_of(&opts.request);
        let req = retrieve(&self.state, &id)?;
        match &opts.error_code {
            Some(code) => {
                let message = opts
                    .error_message
                    .clone()
                    .unwrap_or_else(|| "The presentation failed.".into());
                let body = presentation_error(&req, code, &message);
                finish(&self.state, &req, body).await
            }
            None => Ok(self.open(&req).await),
        }
    }

    /// Sends `request_retrieved` unless the request was already opened.
    async fn open(&self, req: &PresentationRequest) -> WalletOutcome {
        if req.retrieved {
            new_outcome(&req.id)
        } else {
            send_retrieved(&self.state, &req.id).await
        }
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

async fn api_decline(
    State(state): State<EmulatorState>,
    Json(o): Json<DeclineOptions>,
) -> Response {
    reply(Authenticator::new(state).decline_with(o).await)
}

async fn users(State(state): State<EmulatorState>) -> Json<Vec<Value>> {
    let seed = state.seed();
    Json(
        seed.tenants
            .iter()
            .flat_map(|t| {
                t.users.iter().map(move |u| {
                    let held: Vec<Value> = if t.verified_id.is_some() {
                        u.credentials()
                            .map(|c| json!({"type": c.vc_type, "revoked": c.revoked}))
                            .collect()
                    } else {
                        vec![]
                    };
                    json!({
                        "upn": u.upn, "mail": u.mail, "displayName": u.display_name,
                        "tenantId": t.id, "tenant": t.display_name,
                        "issuer": t.verified_id.as_ref().map(|a| a.did.clone()),
                        "hasCredential": !held.is_empty(),
                        "revoked": u.credential.as_ref().is_some_and(|c| c.revoked),
                        "credentials": held,
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
            "validateLinkedDomain": r.validate_linked_domain, "acceptedIssuers": r.accepted_issuers,
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
            let types: Vec<&str> = u.credentials().map(|c| c.vc_type.as_str()).collect();
            users.push_str(&format!(
                "<option value=\"{}\">{} ({}, {}; {}){}</option>",
                esc(&u.upn),
                esc(&u.display_name),
                esc(u.mail.as_deref().unwrap_or(&u.upn)),
                esc(&t.display_name),
                esc(&types.join(", ")),
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
<label for=\"error_code\">Emulator only: Decline sends presentation_error with this code (empty: nothing is sent, as at Microsoft)</label>\
<input type=\"text\" id=\"error_code\" name=\"error_code\" data-testid=\"error-code\">\
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
    error_code: Option<String>,
    action: String,
}

async fn act(State(state): State<EmulatorState>, Form(a): Form<Act>) -> Response {
    let wallet = Authenticator::new(state.clone());
    let result = match a.action.as_str() {
        "scan" => wallet.scan(&a.request).await,
        "decline" => {
            wallet
                .decline_with(DeclineOptions {
                    request: a.request.clone(),
                    error_code: a.error_code.clone().filter(|c| !c.trim().is_empty()),
                    error_message: None,
                })
                .await
        }
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
                _ if a.action == "decline" => "Declined",
                Some("request_retrieved") => "Request opened",
                _ => "Done",
            };
            (
                StatusCode::OK,
                head,
                serde_json::to_string_pretty(&o).unwrap_or_default(),
            )
        }
        Err(e @ WalletError::Refused(_)) => (e.status(), "Not shared", e.to_string()),
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
