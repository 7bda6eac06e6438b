//! Verified ID (verifiedid.did.msidentity.com): the admin API (authorities, contracts), the
//! request service's `createPresentationRequest`, and the wallet-facing `request_uri`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::auth::{AccessClaims, bearer};
use crate::errors::VcError;
use crate::keys::{now, random_token};
use crate::seed::{
    ADMIN_RESOURCE, Authority, CREATE_ALL_ROLE, Contract, ContractAttestation,
    PRESENT_REQUEST_ROLE, REQUEST_SERVICE_RESOURCE, Seed, Tenant, VERIFIED_EMPLOYEE,
};
use crate::state::EmulatorState;

pub(crate) fn routes() -> axum::Router<EmulatorState> {
    axum::Router::new()
        .route(
            "/v1.0/verifiableCredentials/authorities",
            get(list_authorities),
        )
        .route(
            "/v1.0/verifiableCredentials/authorities/{id}",
            get(get_authority),
        )
        .route(
            "/v1.0/verifiableCredentials/authorities/{id}/contracts",
            get(list_contracts),
        )
        .route(
            "/v1.0/verifiableCredentials/authorities/{id}/validateWellKnownDidConfiguration",
            post(validate_well_known_did_configuration),
        )
        .route(
            "/v1.0/verifiableCredentials/createPresentationRequest",
            post(create_presentation_request),
        )
        .route(
            "/v1.0/tenants/{tid}/verifiableCredentials/presentationRequests/{id}",
            get(request_object),
        )
}

fn token_error(p: crate::auth::TokenProblem) -> VcError {
    VcError::new(StatusCode::UNAUTHORIZED, "tokenError", p.message())
}

// ---------------------------------------------------------------- admin API

fn admin_caller(
    state: &EmulatorState,
    headers: &HeaderMap,
) -> Result<(AccessClaims, Tenant), VcError> {
    let claims = bearer(state, headers, &[ADMIN_RESOURCE]).map_err(token_error)?;
    let tenant =
        state.seed().tenant(&claims.tid).cloned().ok_or_else(|| {
            VcError::new(StatusCode::UNAUTHORIZED, "tokenError", "Unknown tenant.")
        })?;
    // Every caller of this function reads (GET); a write would need `ReadWrite`.
    let allowed = if claims.is_app() {
        claims.has_role("VerifiableCredential.Authority.ReadWrite")
    } else {
        // A delegated token acts with the signed-in user's directory roles: `full_access` is
        // consented for everyone, but only Global Administrator and Authentication Policy
        // Administrator may call the admin API, a Global Reader only for reading.
        // Learn: https://learn.microsoft.com/en-us/entra/verified-id/admin-api ("Authentication")
        claims.has_scope("full_access")
            && claims
                .oid
                .as_deref()
                .and_then(|oid| tenant.user_by_oid(oid))
                .is_some_and(|u| u.admin_api_access() != crate::seed::AdminApiAccess::None)
    };
    if !allowed {
        return Err(VcError::new(
            StatusCode::FORBIDDEN,
            "tokenError",
            "The caller lacks the required role or permission for the Verified ID admin API.",
        ));
    }
    Ok((claims, tenant))
}

/// An authority as the admin API returns it (admin-api, "authority type"), plus any extra
/// fields the seed adds (the API grows fields a client does not know).
fn authority_json(a: &Authority) -> Value {
    let kv = a
        .name
        .to_ascii_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "status": "Enabled",
        "didModel": {
            "did": a.did,
            "signingKeys": [format!("https://vc{kv}kv.vault.azure.net/keys/vcSigningKey-{}/5257c49d", a.id)],
            "recoveryKeys": [], "updateKeys": [], "encryptionKeys": [],
            "linkedDomainUrls": a.linked_domain_urls,
            "didDocumentStatus": a.did_document_status,
        },
        "keyVaultMetadata": {
            "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "resourceGroup": "verifiablecredentials",
            "resourceName": format!("vc{kv}kv"),
            "resourceUrl": format!("https://vc{kv}kv.vault.azure.net/"),
        },
        "linkedDomainsVerified": a.linked_domains_verified,
    });
    // Learn: https://learn.microsoft.com/en-us/entra/verified-id/admin-api (List/Get
    // authority examples carry no `linkedDomainsVerified`; only create, rotate, sync do).
    if a.listing_omits_linked_domains_verified
        && let Some(obj) = v.as_object_mut()
    {
        obj.remove("linkedDomainsVerified");
    }
    if let Some(obj) = v.as_object_mut() {
        for (k, x) in &a.extra_fields {
            obj.insert(k.clone(), x.clone());
        }
    }
    v
}

async fn list_authorities(State(state): State<EmulatorState>, headers: HeaderMap) -> Response {
    match admin_caller(&state, &headers) {
        Ok((_, t)) => {
            let mut value: Vec<Value> = t.authorities().into_iter().map(authority_json).collect();
            value.extend(t.odd_authority_entries.iter().cloned());
            Json(json!({"value": value})).into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn find_authority(t: &Tenant, id: &str) -> Result<Authority, VcError> {
    t.authorities()
        .into_iter()
        .find(|a| a.id.eq_ignore_ascii_case(id))
        .cloned()
        .ok_or_else(|| {
            VcError::new(
                StatusCode::NOT_FOUND,
                "notFound",
                "Requested authority could not be found.",
            )
            .target("authorityId")
        })
}

async fn get_authority(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match admin_caller(&state, &headers).and_then(|(_, t)| find_authority(&t, &id)) {
        Ok(a) => Json(authority_json(&a)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST authorities/{id}/validateWellKnownDidConfiguration`: 204 when the linked domain's
/// well-known DID configuration checks out.
/// Learn: https://learn.microsoft.com/en-us/entra/verified-id/admin-api ("Well-known DID
/// configuration"). The docs show only the 204; for a domain that does not check out the
/// emulator answers 400 `badRequest` with innererror `badOrMissingField`, target
/// `linkedDomainUrls` (an assumption, see the README).
async fn validate_well_known_did_configuration(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match admin_caller(&state, &headers).and_then(|(_, t)| find_authority(&t, &id)) {
        Ok(a) if a.linked_domains_verified => StatusCode::NO_CONTENT.into_response(),
        Ok(a) => VcError::field(
            "linkedDomainUrls",
            format!(
                "The well-known DID configuration of {} could not be validated for {}.",
                a.linked_domain_urls.join(", "),
                a.did
            ),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn list_contracts(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (t, a) = match admin_caller(&state, &headers)
        .and_then(|(_, t)| find_authority(&t, &id).map(|a| (t, a)))
    {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let value: Vec<Value> = a
        .contracts
        .iter()
        .map(|c| contract_json(&state, &t, &a, c))
        .collect();
    Json(json!({"value": value})).into_response()
}

/// A contract as the admin API returns it.
/// Learn: https://learn.microsoft.com/en-us/entra/verified-id/admin-api ("contract type":
/// `rules`, `displays`) and https://learn.microsoft.com/en-us/entra/verified-id/rules-and-display-definitions-model
/// (`rulesModel.attestations`: `idTokens`, `idTokenHints`, `presentations` and `accessTokens`
/// are collections, `selfIssued` a single instance; each carries `mapping[]` of
/// `{inputClaim, outputClaim, required, indexed}`; `idTokenAttestation.configuration` is the
/// identity provider's OpenID configuration URL; `displayClaims.type` `image/jpg;base64url`
/// for a photo). Every claim sits under the attestation its contract maps it from.
fn contract_json(state: &EmulatorState, t: &Tenant, a: &Authority, c: &Contract) -> Value {
    let vid = state.verified_id_url();
    let claims = c.claim_names();
    let verified_employee = c.vc_types.iter().any(|ty| ty == VERIFIED_EMPLOYEE);
    let mapping: Vec<Value> = claims
        .iter()
        .map(|name| {
            let input = if verified_employee && name == "revocationId" {
                "userPrincipalName".to_string()
            } else {
                name.clone()
            };
            json!({"inputClaim": input, "outputClaim": name, "required": name == "revocationId",
                   "indexed": name == "revocationId"})
        })
        .collect();
    let own_entra = format!("{}/.well-known/openid-configuration", state.issuer(&t.id));
    let id_tokens = |configuration: &str| {
        json!({"idTokens": [{"required": true, "mapping": mapping, "configuration": configuration,
            "clientId": "00000000-0000-0000-0000-000000000000", "redirectUri": "vcclient://openid/",
            "scope": "openid profile email"}]})
    };
    let attestations = match &c.attestation {
        ContractAttestation::Auto if verified_employee => {
            json!({"accessTokens": [{"required": true, "mapping": mapping}]})
        }
        ContractAttestation::AccessTokens => {
            json!({"accessTokens": [{"required": true, "mapping": mapping}]})
        }
        ContractAttestation::Auto
        | ContractAttestation::IdTokens {
            configuration: None,
        } => id_tokens(&own_entra),
        ContractAttestation::IdTokens {
            configuration: Some(url),
        } => id_tokens(url),
        ContractAttestation::IdTokenHints => {
            json!({"idTokenHints": [{"required": true, "mapping": mapping, "trustedIssuers": []}]})
        }
        ContractAttestation::Presentations => {
            json!({"presentations": [{"required": true, "mapping": mapping,
                "credentialType": "VerifiableCredential", "trustedIssuers": []}]})
        }
        // A single instance, not a collection.
        ContractAttestation::SelfIssued => {
            json!({"selfIssued": {"required": true, "mapping": mapping}})
        }
    };
    let photo = c.photo_claim.clone().unwrap_or_else(|| "photo".into());
    let display_claims: Vec<Value> = claims
        .iter()
        .map(|name| {
            let kind = if *name == photo {
                "image/jpg;base64url"
            } else {
                "String"
            };
            json!({"claim": format!("vc.credentialSubject.{name}"), "label": name, "type": kind})
        })
        .collect();
    json!({
        "id": c.id, "name": c.name, "authorityId": a.id, "status": "Enabled",
        "issueNotificationEnabled": false, "issueNotificationAllowedToGroupOids": null,
        "availableInVcDirectory": false,
        "manifestUrl": format!("{vid}/v1.0/tenants/{}/verifiableCredentials/contracts/{}/manifest", t.id, c.id),
        "allowOverrideValidityIntervalOnIssuance": false,
        "rules": {
            "attestations": attestations,
            "validityInterval": 15552000,
            "vc": {"type": c.vc_types},
        },
        "displays": [{"locale": "en-US",
            "card": {"title": c.name, "issuedBy": t.display_name, "backgroundColor": "#000000",
                     "textColor": "#ffffff", "description": format!("{} credential issued by {}.", c.name, t.display_name),
                     "logo": {"uri": "https://example.invalid/logo.png", "description": "Logo"}},
            "consent": {"title": format!("Do you want to accept the {} credential?", c.name), "instructions": "Sign in with your account to receive this card."},
            "claims": display_claims}],
    })
}

// ---------------------------------------------------------------- request service

#[derive(Clone, Debug)]
pub(crate) enum Constraint {
    Values(String, Vec<String>),
    Contains(String, String),
    StartsWith(String, String),
}

impl Constraint {
    /// Case-insensitive, as Microsoft documents.
    pub fn holds(&self, claims: &serde_json::Map<String, Value>) -> bool {
        let get = |c: &str| claims.get(c).and_then(Value::as_str).map(str::to_lowercase);
        match self {
            Constraint::Values(c, vs) => {
                get(c).is_some_and(|v| vs.iter().any(|x| x.to_lowercase() == v))
            }
            Constraint::Contains(c, s) => get(c).is_some_and(|v| v.contains(&s.to_lowercase())),
            Constraint::StartsWith(c, s) => {
                get(c).is_some_and(|v| v.starts_with(&s.to_lowercase()))
            }
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct PresentationRequest {
    pub id: String,
    pub tenant_id: String,
    pub authority: String,
    pub client_name: String,
    pub purpose: Option<String>,
    pub callback_url: String,
    pub callback_headers: Vec<(String, String)>,
    pub state: String,
    pub include_receipt: bool,
    pub credential_type: String,
    pub accepted_issuers: Vec<String>,
    pub allow_revoked: bool,
    /// `configuration.validation.validateLinkedDomain` (default false, presentation-request-api).
    pub validate_linked_domain: bool,
    pub face_check_threshold: Option<f64>,
    pub constraints: Vec<Constraint>,
    pub expiry: i64,
    pub nonce: String,
    pub retrieved: bool,
    pub completed: bool,
}

fn request_service_caller(
    state: &EmulatorState,
    headers: &HeaderMap,
) -> Result<AccessClaims, VcError> {
    let claims = bearer(state, headers, &[REQUEST_SERVICE_RESOURCE]).map_err(token_error)?;
    // presentation-request-api: the app token needs VerifiableCredential.Create.All or the
    // granular VerifiableCredential.Create.PresentRequest; a token without `roles` gets 403.
    if !(claims.has_role(CREATE_ALL_ROLE) || claims.has_role(PRESENT_REQUEST_ROLE)) {
        return Err(VcError::new(
            StatusCode::FORBIDDEN,
            "tokenError",
            "The access token does not contain the role VerifiableCredential.Create.All or VerifiableCredential.Create.PresentRequest.",
        ));
    }
    Ok(claims)
}

async fn create_presentation_request(
    State(state): State<EmulatorState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let claims = match request_service_caller(&state, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let tenant = match state.seed().tenant(&claims.tid).cloned() {
        Some(t) => t,
        None => {
            return VcError::new(StatusCode::UNAUTHORIZED, "tokenError", "Unknown tenant.")
                .into_response();
        }
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return VcError::field("body", "The request body is not a valid JSON object.")
                .into_response();
        }
    };
    let require_public = state.seed().require_public_callback;
    let lifetime = state.seed().request_lifetime_secs as i64;
    let req = match validate(&body, &tenant, &state.seed(), require_public) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let id = uuid::Uuid::new_v4().to_string();
    let expiry = now() + lifetime;
    let request_uri = format!(
        "{}/v1.0/tenants/{}/verifiableCredentials/presentationRequests/{id}",
        state.verified_id_url(),
        tenant.id
    );
    let url = format!("openid-vc://?request_uri={request_uri}");
    let include_qr = body
        .get("includeQRCode")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let stored = PresentationRequest {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        expiry,
        ..req
    };
    state.store().requests.insert(id.clone(), stored);
    tracing::info!(request_id = %id, tenant = %tenant.id, "presentation request created");
    let mut out = json!({"requestId": id, "url": url, "expiry": expiry});
    if include_qr {
        out["qrCode"] = json!(qr_data_uri(&url));
    }
    (StatusCode::CREATED, Json(out)).into_response()
}

/// An SVG QR code as a data URI (Microsoft returns a PNG; render `url` yourself to be safe).
fn qr_data_uri(text: &str) -> String {
    use base64::Engine;
    let svg = qrcode::QrCode::new(text.as_bytes())
        .map(|c| {
            c.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

fn opt_bool(body: &Value, field: &str) -> Result<bool, VcError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(VcError::field(
            field,
            format!("The request contains `{field}`, but it is not boolean."),
        )),
    }
}

fn req_str<'a>(v: &'a Value, field: &str, target: &str) -> Result<&'a str, VcError> {
    match v.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        None | Some(Value::Null) => Err(VcError::field(
            target,
            format!("The request does not contain `{target}`."),
        )),
        Some(_) => Err(VcError::field(
            target,
            format!("The request contains `{target}`, but it is not a non-empty string."),
        )),
    }
}

fn is_public_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            !(d.eq_ignore_ascii_case("localhost")
                || d.ends_with(".localhost")
                || d.ends_with(".local")
                || !d.contains('.'))
        }
        url::Host::Ipv4(ip) => {
            !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified())
        }
        url::Host::Ipv6(ip) => !(ip.is_loopback() || ip.is_unspecified()),
    }
}

/// Validates a createPresentationRequest body the way Microsoft does, field by field.
fn validate(
    body: &Value,
    tenant: &Tenant,
    seed: &Seed,
    require_public: bool,
) -> Result<PresentationRequest, VcError> {
    let authority = req_str(body, "authority", "authority").map_err(|_| {
        VcError::field(
            "authority",
            "The request does not contain a valid authority DID.",
        )
    })?;
    if !authority.starts_with("did:") {
        return Err(VcError::field(
            "authority",
            "The request does not contain a valid authority DID.",
        ));
    }
    // presentation-request-api: `authority` is one of the calling tenant's own authorities.
    let Some(own) = tenant
        .authorities()
        .into_iter()
        .find(|a| a.did == authority)
    else {
        return Err(VcError::new(
            StatusCode::BAD_REQUEST,
            "notFound",
            "Requested authority could not be found.",
        )
        .target("authority"));
    };
    opt_bool(body, "includeQRCode")?;
    let include_receipt = opt_bool(body, "includeReceipt")?;

    let registration = body
        .get("registration")
        .filter(|r| r.is_object())
        .ok_or_else(|| {
            VcError::field(
                "registration",
                "The request does not contain `registration`.",
            )
        })?;
    let client_name = req_str(registration, "clientName", "registration.clientName")?.to_string();
    let purpose = registration
        .get("purpose")
        .and_then(Value::as_str)
        .map(str::to_string);

    let callback = body
        .get("callback")
        .filter(|c| c.is_object())
        .ok_or_else(|| VcError::field("callback", "The request does not contain `callback`."))?;
    let callback_url = req_str(callback, "url", "callback.url")?;
    let parsed = url::Url::parse(callback_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            VcError::field(
                "callback.url",
                "The callback url is not a valid absolute http(s) URL.",
            )
        })?;
    if require_public && !parsed.host().is_some_and(|h| is_public_host(&h)) {
        return Err(VcError::field("callback.url", "URL must be public"));
    }
    let state = req_str(callback, "state", "callback.state")?.to_string();
    let mut callback_headers = Vec::new();
    match callback.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                if !(k.eq_ignore_ascii_case("api-key") || k.eq_ignore_ascii_case("authorization")) {
                    return Err(VcError::field(
                        "callback.headers",
                        format!(
                            "Invalid callback header `{k}`: only `api-key` or `Authorization` are allowed."
                        ),
                    ));
                }
                let Some(v) = v.as_str() else {
                    return Err(VcError::field(
                        "callback.headers",
                        format!("The callback header `{k}` is not a string."),
                    ));
                };
                callback_headers.push((k.clone(), v.to_string()));
            }
        }
        Some(_) => {
            return Err(VcError::field(
                "callback.headers",
                "The request contains `callback.headers`, but it is not an object.",
            ));
        }
    }

    let creds = body
        .get("requestedCredentials")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            VcError::field(
                "requestedCredentials",
                "The request does not contain `requestedCredentials`.",
            )
        })?;
    let rc = &creds[0];
    let credential_type = req_str(rc, "type", "requestedCredentials[0].type")?.to_string();
    let accepted_issuers = match rc.get("acceptedIssuers") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(_) => {
            return Err(VcError::field(
                "requestedCredentials[0].acceptedIssuers",
                "`acceptedIssuers` must be an array of DIDs.",
            ));
        }
    };
    // The type must be one the request's authority issues, or (helpdesk-with-verified-id: a
    // service provider verifies with its own authority and lists its customers' DIDs in
    // `acceptedIssuers`) one that an accepted issuer issues.
    let issues_type = |a: &Authority| {
        a.contracts
            .iter()
            .any(|c| c.vc_types.iter().any(|t| t == &credential_type))
    };
    let mut issuing: Vec<&Authority> = vec![own];
    issuing.extend(
        accepted_issuers
            .iter()
            .filter_map(|did| seed.authority_by_did(did))
            .map(|(_, a)| a),
    );
    issuing.retain(|a| issues_type(a));
    if issuing.is_empty() {
        return Err(VcError::new(
            StatusCode::BAD_REQUEST,
            "notFound",
            format!(
                "The requested credential type `{credential_type}` was not found for the authority or the accepted issuers."
            ),
        )
        .target("requestedCredentials[0].type"));
    }
    let validation = rc.get("configuration").and_then(|c| c.get("validation"));
    let validate_linked_domain = match validation.and_then(|v| v.get("validateLinkedDomain")) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(VcError::field(
                "requestedCredentials[0].configuration.validation.validateLinkedDomain",
                "`validateLinkedDomain` is not boolean.",
            ));
        }
    };
    let allow_revoked = match validation.and_then(|v| v.get("allowRevoked")) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(VcError::field(
                "requestedCredentials[0].configuration.validation.allowRevoked",
                "`allowRevoked` is not boolean.",
            ));
        }
    };
    let face_check_threshold = match validation.and_then(|v| v.get("faceCheck")) {
        None | Some(Value::Null) => None,
        Some(fc) => {
            let t = "requestedCredentials[0].configuration.validation.faceCheck";
            let photo_claim = req_str(
                fc,
                "sourcePhotoClaimName",
                &format!("{t}.sourcePhotoClaimName"),
            )?;
            // using-facecheck: the requested credential must contain the photo claim.
            let has_photo = issuing.iter().any(|a| {
                a.contracts
                    .iter()
                    .filter(|c| c.vc_types.iter().any(|ty| ty == &credential_type))
                    .any(|c| c.claim_names().iter().any(|n| n == photo_claim))
            });
            if !has_photo {
                return Err(VcError::field(
                    &format!("{t}.sourcePhotoClaimName"),
                    format!(
                        "The credential type `{credential_type}` has no claim `{photo_claim}` to compare the selfie with."
                    ),
                ));
            }
            let threshold = match fc.get("matchConfidenceThreshold") {
                None | Some(Value::Null) => 70,
                Some(v) => v
                    .as_u64()
                    .filter(|n| (50..=100).contains(n))
                    .ok_or_else(|| {
                        VcError::field(
                            &format!("{t}.matchConfidenceThreshold"),
                            "`matchConfidenceThreshold` must be an integer from 50 to 100.",
                        )
                    })?,
            };
            if include_receipt {
                return Err(VcError::field(
                    "includeReceipt",
                    "`includeReceipt` must be false when `faceCheck` is requested.",
                ));
            }
            if !own.face_check_enabled {
                return Err(VcError::field(
                    "authority",
                    "Premium features cannot be used until billing is enabled by the admin. See https://aka.ms/fcbilling",
                ));
            }
            Some(threshold as f64)
        }
    };
    let mut constraints = Vec::new();
    if let Some(cs) = rc.get("constraints").filter(|c| !c.is_null()) {
        let arr = cs.as_array().ok_or_else(|| {
            VcError::field(
                "requestedCredentials[0].constraints",
                "`constraints` must be an array.",
            )
        })?;
        for (i, c) in arr.iter().enumerate() {
            let t = format!("requestedCredentials[0].constraints[{i}]");
            let claim = req_str(c, "claimName", &format!("{t}.claimName"))?.to_string();
            let kinds = ["values", "contains", "startsWith"]
                .iter()
                .filter(|k| c.get(**k).is_some())
                .count();
            if kinds != 1 {
                return Err(VcError::field(
                    &t,
                    "A constraint must have exactly one of `values`, `contains` or `startsWith`.",
                ));
            }
            let parsed = if let Some(v) = c.get("values") {
                let vs = v
                    .as_array()
                    .filter(|a| a.iter().all(Value::is_string))
                    .ok_or_else(|| {
                        VcError::field(
                            &format!("{t}.values"),
                            "`values` must be an array of strings.",
                        )
                    })?;
                Constraint::Values(
                    claim,
                    vs.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                )
            } else if let Some(s) = c.get("contains") {
                Constraint::Contains(
                    claim,
                    s.as_str()
                        .ok_or_else(|| {
                            VcError::field(&format!("{t}.contains"), "`contains` must be a string.")
                        })?
                        .to_string(),
                )
            } else {
                let s = c.get("startsWith").and_then(Value::as_str).ok_or_else(|| {
                    VcError::field(&format!("{t}.startsWith"), "`startsWith` must be a string.")
                })?;
                Constraint::StartsWith(claim, s.to_string())
            };
            constraints.push(parsed);
        }
    }
    Ok(PresentationRequest {
        id: String::new(),
        tenant_id: tenant.id.clone(),
        authority: authority.to_string(),
        client_name,
        purpose,
        callback_url: callback_url.to_string(),
        callback_headers,
        state,
        include_receipt,
        credential_type,
        accepted_issuers,
        allow_revoked,
        validate_linked_domain,
        face_check_threshold,
        constraints,
        expiry: 0,
        nonce: random_token(16),
        retrieved: false,
        completed: false,
    })
}

/// The wallet fetches the request: a signed request object (`application/jwt`), and Microsoft
/// tells the relying party with a `request_retrieved` callback.
async fn request_object(
    State(state): State<EmulatorState>,
    Path((tid, id)): Path<(String, String)>,
) -> Response {
    let req = match crate::authenticator::retrieve(&state, &id) {
        Ok(r) if r.tenant_id.eq_ignore_ascii_case(&tid) => r,
        Ok(_) => {
            return VcError::new(
                StatusCode::NOT_FOUND,
                "notFound",
                "The presentation request was not found.",
            )
            .target("requestId")
            .into_response();
        }
        Err(e) => return e.into_vc_error().into_response(),
    };
    let st = state.clone();
    let rid = id.clone();
    tokio::spawn(async move {
        crate::authenticator::send_retrieved(&st, &rid).await;
    });
    let jwt = request_object_jwt(&state, &req);
    ([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response()
}

pub(crate) fn request_object_jwt(state: &EmulatorState, req: &PresentationRequest) -> String {
    let iat = now();
    state.0.keys.sign(&json!({
        "jti": req.id,
        "iat": iat,
        "exp": req.expiry,
        "response_type": "id_token",
        "response_mode": "post",
        "scope": "openid",
        "client_id": req.authority,
        "redirect_uri": format!("{}/v1.0/verifiablecredentials/verifyPresentation", state.verified_id_url()),
        "nonce": req.nonce,
        "state": random_token(16),
        "registration": {"client_name": req.client_name, "purpose": req.purpose, "vp_formats": {"jwt_vp": {"alg": ["ES256K", "EdDSA"]}}},
        "claims": {"vp_token": {"presentation_definition": {
            "id": req.id,
            "input_descriptors": [{"id": req.credential_type, "name": req.credential_type,
                "purpose": req.purpose,
                "schema": [{"uri": req.credential_type}],
                "constraints": {"fields": [{"path": ["$.issuer", "$.vc.issuer", "$.iss"],
                    "filter": {"type": "string", "pattern": req.accepted_issuers.join("|")}}]}}]
        }}},
    }))
}
