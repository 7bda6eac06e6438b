//! Entra Verified ID: the admin API (authorities and their contracts) and the request service
//! (app token with its role check, `createPresentationRequest`).

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::instrument;
use url::Url;

use super::client::MicrosoftClient;
use super::contract::{Contract, parse_contract};
use super::error::{MicrosoftError, Step};
use super::id_token::unverified_payload;
use super::ids::{CredentialType, Did, TenantId, Token};
use super::{PRESENTATION_ROLES, VERIFIED_ID_REQUEST_APP};

/// A Verified ID authority of the tenant: the issuer/verifier identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub id: String,
    pub name: String,
    pub did: Did,
    pub linked_domain_urls: Vec<Url>,
    /// What Microsoft says of the linked domain. With `validateLinkedDomain: true` Microsoft
    /// refuses presentations from an issuer whose linked domain is not verified
    /// (presentation-request-api).
    pub linked_domain: LinkedDomain,
    /// `didModel.didDocumentStatus`: `published`, `outOfSync`, `submitted` (legacy did:ion)...
    pub did_document_status: Option<String>,
}

/// Whether an authority's linked domain is verified: three-valued, because Microsoft's *List
/// authorities* and *Get authority* answers do not carry `linkedDomainsVerified` (only create,
/// rotate and sync do; admin-api). A missing field is not a "no".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkedDomain {
    /// `linkedDomainsVerified: true`, or `validateWellKnownDidConfiguration` answered 204.
    Verified,
    /// `linkedDomainsVerified: false`: Microsoft would refuse every presentation.
    NotVerified,
    /// Microsoft did not say and could not confirm it. Usable: every request carries
    /// `validateLinkedDomain: true`, so Microsoft itself refuses an unverified domain when the
    /// person presents.
    #[default]
    Unknown,
}

impl LinkedDomain {
    /// From the listing's `linkedDomainsVerified`, absent or not a boolean being unknown.
    pub fn from_listing(value: Option<bool>) -> LinkedDomain {
        match value {
            Some(true) => LinkedDomain::Verified,
            Some(false) => LinkedDomain::NotVerified,
            None => LinkedDomain::Unknown,
        }
    }

    /// As stored (`microsoft_integrations.linked_domain`).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkedDomain::Verified => "verified",
            LinkedDomain::NotVerified => "not_verified",
            LinkedDomain::Unknown => "unknown",
        }
    }

    pub fn parse(stored: &str) -> Option<LinkedDomain> {
        [
            LinkedDomain::Verified,
            LinkedDomain::NotVerified,
            LinkedDomain::Unknown,
        ]
        .into_iter()
        .find(|l| l.as_str() == stored)
    }

    /// Whether presentations can work: anything but a "no" from Microsoft.
    pub fn is_usable(self) -> bool {
        self != LinkedDomain::NotVerified
    }
}

impl Authority {
    /// Linked domain not known to be unverified and DID document published: an authority
    /// Microsoft will accept presentations for (an unknown linked domain is checked by
    /// Microsoft at presentation time, see [`LinkedDomain::Unknown`]).
    pub fn is_ready(&self) -> bool {
        self.linked_domain.is_usable()
            && self
                .did_document_status
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case("published"))
    }
}

/// A client-credentials token for the Verified ID request service in one tenant, checked to
/// carry a role that allows presentation requests.
#[derive(Debug, Clone)]
pub struct AppToken {
    pub tenant: TenantId,
    pub token: Token,
    pub roles: Vec<String>,
    pub expires_at: Option<OffsetDateTime>,
}

impl AppToken {
    /// Whether the token expires within `margin` (reuse it until then).
    pub fn expires_within(&self, margin: time::Duration) -> bool {
        self.expires_at
            .is_none_or(|at| at - margin <= OffsetDateTime::now_utc())
    }
}

/// The body of `createPresentationRequest`. Build it with [`PresentationRequest::new`]; the
/// fields stay public for the cases the constructor does not cover.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationRequest {
    /// The verifier's DID.
    pub authority: Did,
    pub registration: Registration,
    pub callback: PresentationCallback,
    pub requested_credentials: Vec<RequestedCredential>,
}

/// Shown to the person in Authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub client_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// Where Microsoft posts the callbacks, the `state` it echoes, and the `api-key` header it
/// sends with each (a per-request secret; redacted in `Debug`).
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationCallback {
    pub url: Url,
    pub state: String,
    pub api_key: Token,
}

impl PresentationCallback {
    pub fn new(url: Url, state: impl Into<String>, api_key: impl Into<String>) -> Self {
        PresentationCallback {
            url,
            state: state.into(),
            api_key: Token::new(api_key),
        }
    }
}

/// One requested credential and how Microsoft must validate it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestedCredential {
    pub credential_type: CredentialType,
    pub purpose: Option<String>,
    /// Empty means any issuer: always set it.
    pub accepted_issuers: Vec<Did>,
    /// `true` in our requests: see [`PresentationRequest::new`].
    pub allow_revoked: bool,
    pub validate_linked_domain: bool,
    pub face_check: Option<FaceCheck>,
}

/// Face Check: compare the person's face with the credential's photo claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceCheck {
    pub source_photo_claim_name: String,
    /// 50 to 100; Microsoft's default is 70.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_confidence_threshold: Option<u8>,
}

impl FaceCheck {
    /// Against the VerifiedEmployee `photo` claim.
    pub fn photo(match_confidence_threshold: u8) -> FaceCheck {
        FaceCheck::on("photo", match_confidence_threshold)
    }

    /// Against the credential's own photo claim, as its contract names it.
    pub fn on(photo_claim: &str, match_confidence_threshold: u8) -> FaceCheck {
        FaceCheck {
            source_photo_claim_name: photo_claim.to_owned(),
            match_confidence_threshold: Some(match_confidence_threshold),
        }
    }
}

impl PresentationRequest {
    /// One credential of `credential_type` issued by `authority` itself, from an issuer with a
    /// validated linked domain; no QR code (render `url`), no receipt.
    ///
    /// `allowRevoked: true` (presentation-request-api, `configuration.validation`; its default
    /// is `false`): with the default Microsoft refuses a revoked credential in the wallet and
    /// no source documents a callback for that, so the agent would only ever see the request
    /// run out. Allowed through, a revoked credential arrives as `presentation_verified` with
    /// `credentialState.revocationStatus` other than `VALID`, and our alignment fails it as
    /// revoked with a reason the agent can act on. It is never accepted.
    ///
    /// `validateLinkedDomain: true` (default `false`): only issuers whose linked domain
    /// Microsoft verified, so `domainValidation.url` means something.
    pub fn new(
        authority: Did,
        credential_type: CredentialType,
        registration: Registration,
        callback: PresentationCallback,
    ) -> PresentationRequest {
        PresentationRequest {
            requested_credentials: vec![RequestedCredential {
                credential_type,
                purpose: None,
                accepted_issuers: vec![authority.clone()],
                allow_revoked: true,
                validate_linked_domain: true,
                face_check: None,
            }],
            authority,
            registration,
            callback,
        }
    }

    /// Adds Face Check to every requested credential.
    pub fn with_face_check(mut self, face_check: FaceCheck) -> PresentationRequest {
        for c in &mut self.requested_credentials {
            c.face_check = Some(face_check.clone());
        }
        self
    }

    /// Accepts credentials from `issuer` only, whoever verifies: in Microsoft's service-provider
    /// pattern the verifier (`authority`) is the provider and the customer is the issuer
    /// (helpdesk-with-verified-id).
    pub fn accepting_issuer(mut self, issuer: Did) -> PresentationRequest {
        for c in &mut self.requested_credentials {
            c.accepted_issuers = vec![issuer.clone()];
        }
        self
    }

    /// The JSON Microsoft expects (camelCase, `includeQRCode`, nested `configuration.validation`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(WireRequest::from(self)).expect("plain data serializes")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest<'a> {
    authority: &'a Did,
    #[serde(rename = "includeQRCode")]
    include_qr_code: bool,
    include_receipt: bool,
    registration: &'a Registration,
    callback: WireCallback<'a>,
    requested_credentials: Vec<WireCredential<'a>>,
}

#[derive(Serialize)]
struct WireCallback<'a> {
    url: &'a str,
    state: &'a str,
    headers: WireHeaders<'a>,
}

#[derive(Serialize)]
struct WireHeaders<'a> {
    #[serde(rename = "api-key")]
    api_key: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireCredential<'a> {
    #[serde(rename = "type")]
    credential_type: &'a CredentialType,
    #[serde(skip_serializing_if = "Option::is_none")]
    purpose: Option<&'a str>,
    accepted_issuers: &'a [Did],
    configuration: WireConfiguration<'a>,
}

#[derive(Serialize)]
struct WireConfiguration<'a> {
    validation: WireValidation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireValidation<'a> {
    allow_revoked: bool,
    validate_linked_domain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    face_check: Option<&'a FaceCheck>,
}

impl<'a> From<&'a PresentationRequest> for WireRequest<'a> {
    fn from(r: &'a PresentationRequest) -> Self {
        WireRequest {
            authority: &r.authority,
            include_qr_code: false,
            // Never with Face Check, and only for debugging otherwise.
            include_receipt: false,
            registration: &r.registration,
            callback: WireCallback {
                url: r.callback.url.as_str(),
                state: &r.callback.state,
                headers: WireHeaders {
                    api_key: r.callback.api_key.expose(),
                },
            },
            requested_credentials: r
                .requested_credentials
                .iter()
                .map(|c| WireCredential {
                    credential_type: &c.credential_type,
                    purpose: c.purpose.as_deref(),
                    accepted_issuers: &c.accepted_issuers,
                    configuration: WireConfiguration {
                        validation: WireValidation {
                            allow_revoked: c.allow_revoked,
                            validate_linked_domain: c.validate_linked_domain,
                            face_check: c.face_check.as_ref(),
                        },
                    },
                })
                .collect(),
        }
    }
}

/// Microsoft's answer to `createPresentationRequest` (201).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedRequest {
    pub request_id: String,
    /// `openid-vc://?request_uri=...`: opaque; show it as a QR code and a deep link.
    pub url: String,
    /// When the request stops working (about 5 minutes after creation).
    #[serde(with = "time::serde::timestamp")]
    pub expiry: OffsetDateTime,
}

impl MicrosoftClient {
    /// The tenant's Verified ID authorities (admin API, delegated `full_access` token).
    /// Read leniently: unknown fields are ignored and an entry we cannot use is skipped with
    /// a logged reason, never failing the whole list. No usable entry at all means Verified ID
    /// is not set up: `VerifiedIdNotSetUp`.
    #[instrument(skip_all)]
    pub async fn authorities(&self, admin_token: &Token) -> Result<Vec<Authority>, MicrosoftError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            value: Vec<serde_json::Value>,
        }

        let url = self
            .endpoints
            .verified_id_at("v1.0/verifiableCredentials/authorities");
        let list: List = self
            .send_json(
                Step::AdminApi,
                self.http.get(url).bearer_auth(admin_token.expose()),
                StatusCode::OK,
            )
            .await?;
        let authorities: Vec<Authority> = list
            .value
            .iter()
            .enumerate()
            .filter_map(|(index, raw)| match parse_authority(raw) {
                Ok(a) => Some(a),
                Err(reason) => {
                    tracing::warn!(index, reason, "skipped a Verified ID authority entry");
                    None
                }
            })
            .collect();
        if authorities.is_empty() {
            return Err(MicrosoftError::VerifiedIdNotSetUp);
        }
        let mut authorities = authorities;
        for authority in &mut authorities {
            if authority.linked_domain == LinkedDomain::Unknown
                && self
                    .validate_well_known_did_configuration(admin_token, &authority.id)
                    .await
            {
                authority.linked_domain = LinkedDomain::Verified;
            }
        }
        Ok(authorities)
    }

    /// `POST /v1.0/verifiableCredentials/authorities/{id}/validateWellKnownDidConfiguration`
    /// (admin-api, "Well-known DID configuration"): Microsoft checks the linked domain's
    /// `/.well-known/did-configuration.json` against the DID; 204 means it checks out.
    /// Learn: https://learn.microsoft.com/en-us/entra/verified-id/admin-api
    /// Any other answer (the docs show no failure shape), or no answer, leaves the state
    /// unknown: it is logged, never fatal, because requests carry `validateLinkedDomain: true`
    /// and Microsoft refuses an unverified domain at presentation time anyway.
    #[instrument(skip_all, fields(authority_id = %authority_id))]
    pub async fn validate_well_known_did_configuration(
        &self,
        admin_token: &Token,
        authority_id: &str,
    ) -> bool {
        let mut url = self
            .endpoints
            .verified_id_at("v1.0/verifiableCredentials/authorities");
        let Ok(mut segments) = url.path_segments_mut() else {
            return false;
        };
        segments
            .push(authority_id)
            .push("validateWellKnownDidConfiguration");
        drop(segments);
        match self
            .http
            .post(url)
            .bearer_auth(admin_token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
        {
            Ok(response) if response.status() == StatusCode::NO_CONTENT => true,
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                let error = MicrosoftError::from_status(Step::AdminApi, status, &body);
                tracing::info!(status, %error, "Microsoft did not confirm the linked domain; it stays unknown");
                false
            }
            Err(e) => {
                tracing::info!(error = %MicrosoftError::transport(Step::AdminApi, &e), "could not ask Microsoft to confirm the linked domain; it stays unknown");
                false
            }
        }
    }

    /// The contracts (credential types) of one authority, read as leniently as authorities.
    #[instrument(skip_all, fields(authority_id = %authority_id))]
    pub async fn contracts(
        &self,
        admin_token: &Token,
        authority_id: &str,
    ) -> Result<Vec<Contract>, MicrosoftError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            value: Vec<serde_json::Value>,
        }

        let mut url = self
            .endpoints
            .verified_id_at("v1.0/verifiableCredentials/authorities");
        url.path_segments_mut()
            .map_err(|()| MicrosoftError::InvalidConfiguration("verified_id base URL".into()))?
            .push(authority_id)
            .push("contracts");
        let list: List = self
            .send_json(
                Step::AdminApi,
                self.http.get(url).bearer_auth(admin_token.expose()),
                StatusCode::OK,
            )
            .await?;
        Ok(list
            .value
            .iter()
            .filter_map(|raw| match parse_contract(raw) {
                Ok(c) => Some(c),
                Err(reason) => {
                    tracing::warn!(reason, "skipped a Verified ID contract entry");
                    None
                }
            })
            .collect())
    }

    /// A client-credentials token for the request service in `tenant`, refused with
    /// `MissingRole` unless it carries `VerifiableCredential.Create.All` or `.PresentRequest`
    /// (Microsoft issues app tokens without roles when none was granted).
    ///
    /// Tokens are cached per tenant and reused until five minutes before they expire:
    /// Microsoft throttles token requests per app, and every customer shares ours.
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn app_token(&self, tenant: &TenantId) -> Result<AppToken, MicrosoftError> {
        const MARGIN: time::Duration = time::Duration::minutes(5);
        let cached = self
            .app_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .filter(|t| !t.expires_within(MARGIN))
            .cloned();
        if let Some(token) = cached {
            return Ok(token);
        }
        let token = self.fetch_app_token(tenant).await?;
        self.app_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.clone(), token.clone());
        Ok(token)
    }

    /// Drops a cached app token that Microsoft no longer accepts (revoked consent, rotated
    /// keys): the next `app_token` asks afresh.
    pub fn forget_app_token(&self, tenant: &TenantId) {
        self.app_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tenant);
    }

    async fn fetch_app_token(&self, tenant: &TenantId) -> Result<AppToken, MicrosoftError> {
        #[derive(Deserialize)]
        struct AppClaims {
            #[serde(default)]
            roles: Vec<String>,
            #[serde(default)]
            tid: Option<String>,
        }

        let step = Step::AppToken;
        let (token, expires_at) = self
            .client_credentials_as(
                self.own_tenant_credentials(),
                step,
                tenant,
                &format!("{VERIFIED_ID_REQUEST_APP}/.default"),
            )
            .await?;
        // Not verified: the token is for the request service, not for us; we only read what
        // Microsoft granted.
        let claims: AppClaims = unverified_payload(token.expose())
            .ok_or_else(|| MicrosoftError::malformed(step, "the access token is not a JWT"))?;
        if let Some(tid) = &claims.tid
            && TenantId::parse(tid).ok().as_ref() != Some(tenant)
        {
            return Err(MicrosoftError::malformed(
                step,
                "the access token is for another tenant",
            ));
        }
        if !claims
            .roles
            .iter()
            .any(|r| PRESENTATION_ROLES.contains(&r.as_str()))
        {
            return Err(MicrosoftError::MissingRole);
        }
        Ok(AppToken {
            tenant: tenant.clone(),
            token,
            roles: claims.roles,
            expires_at,
        })
    }

    /// `POST /v1.0/verifiableCredentials/createPresentationRequest`; 201 is success.
    #[instrument(skip_all, fields(tenant = %app_token.tenant, authority = %request.authority))]
    pub async fn create_presentation_request(
        &self,
        app_token: &AppToken,
        request: &PresentationRequest,
    ) -> Result<CreatedRequest, MicrosoftError> {
        let url = self
            .endpoints
            .verified_id_at("v1.0/verifiableCredentials/createPresentationRequest");
        let created: CreatedRequest = self
            .send_json(
                Step::PresentationRequest,
                self.http
                    .post(url)
                    .bearer_auth(app_token.token.expose())
                    .json(&WireRequest::from(request)),
                StatusCode::CREATED,
            )
            .await
            .inspect_err(|e| {
                if matches!(
                    e,
                    MicrosoftError::Rejected {
                        status: 401 | 403,
                        ..
                    }
                ) {
                    self.forget_app_token(&app_token.tenant);
                }
            })?;
        tracing::debug!(request_id = %created.request_id, "presentation request created");
        Ok(created)
    }
}

/// One entry of the admin API's authority list (admin-api: `id`, `name`, `status`,
/// `didModel{did, linkedDomainUrls, didDocumentStatus}`, `linkedDomainsVerified`).
fn parse_authority(raw: &serde_json::Value) -> Result<Authority, &'static str> {
    let id = raw["id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or("no id")?;
    let model = raw
        .get("didModel")
        .filter(|m| m.is_object())
        .ok_or("no didModel")?;
    let did = model["did"].as_str().ok_or("no didModel.did")?;
    let did = Did::parse(did).map_err(|_| "didModel.did is not a DID")?;
    let linked_domain_urls = model["linkedDomainUrls"]
        .as_array()
        .map(|urls| {
            urls.iter()
                .filter_map(|u| u.as_str().and_then(|u| Url::parse(u).ok()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Authority {
        id: id.to_owned(),
        name: raw["name"].as_str().unwrap_or_default().to_owned(),
        did,
        linked_domain_urls,
        linked_domain: LinkedDomain::from_listing(raw["linkedDomainsVerified"].as_bool()),
        did_document_status: model["didDocumentStatus"].as_str().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn authorities_are_read_leniently_and_odd_entries_skipped() {
        let ok = json!({"id":"a1","name":"Woodgrove","status":"Enabled","futureField":{"x":1},
            "didModel":{"did":"did:web:verifiedid.woodgrovebank.com","linkedDomainUrls":["https://verifiedid.woodgrovebank.com/", 7],
                        "didDocumentStatus":"published"},
            "linkedDomainsVerified":true});
        let a = parse_authority(&ok).unwrap();
        assert_eq!(a.did.as_str(), "did:web:verifiedid.woodgrovebank.com");
        assert_eq!(a.linked_domain_urls.len(), 1);
        assert!(a.is_ready());
        let legacy = json!({"id":"a2","didModel":{"did":"did:ion:EiAbc","didDocumentStatus":"submitted"},"linkedDomainsVerified":true});
        assert!(!parse_authority(&legacy).unwrap().is_ready());
        let unverified =
            json!({"id":"a3","didModel":{"did":"did:web:x.example"},"linkedDomainsVerified":false});
        assert!(!parse_authority(&unverified).unwrap().is_ready());
        assert_eq!(parse_authority(&json!({"id":"a4"})), Err("no didModel"));
        assert_eq!(
            parse_authority(&json!({"id":"a5","didModel":{}})),
            Err("no didModel.did")
        );
        assert_eq!(
            parse_authority(&json!({"id":"a6","didModel":{"did":"nope"}})),
            Err("didModel.did is not a DID")
        );
        assert_eq!(parse_authority(&json!("text")), Err("no id"));
    }

    #[test]
    fn a_listing_without_linked_domains_verified_is_unknown_and_still_ready() {
        // admin-api's List/Get examples carry no `linkedDomainsVerified`.
        let listed = json!({"id":"a1","name":"Contoso","status":"Enabled",
            "didModel":{"did":"did:web:verifiedid.contoso.com","didDocumentStatus":"published"}});
        let a = parse_authority(&listed).unwrap();
        assert_eq!(a.linked_domain, LinkedDomain::Unknown);
        assert!(a.is_ready());
        let odd =
            json!({"id":"a2","didModel":{"did":"did:web:x.example"},"linkedDomainsVerified":"yes"});
        assert_eq!(
            parse_authority(&odd).unwrap().linked_domain,
            LinkedDomain::Unknown
        );
        for l in [
            LinkedDomain::Verified,
            LinkedDomain::NotVerified,
            LinkedDomain::Unknown,
        ] {
            assert_eq!(LinkedDomain::parse(l.as_str()), Some(l));
        }
        assert!(!LinkedDomain::NotVerified.is_usable());
    }

    #[test]
    fn a_presentation_request_serializes_as_microsoft_documents_it() {
        let did = Did::parse("did:web:verifiedid.contoso.com").unwrap();
        let r = PresentationRequest::new(
            did.clone(),
            CredentialType::verified_employee(),
            Registration {
                client_name: "Traceless".into(),
                purpose: Some("Verify your employment".into()),
            },
            PresentationCallback::new(
                Url::parse("https://traceless.example/api/microsoft/callback").unwrap(),
                "verification-42",
                "key-1",
            ),
        )
        .with_face_check(FaceCheck::photo(70));
        assert_eq!(
            r.to_json(),
            json!({
                "authority": "did:web:verifiedid.contoso.com",
                "includeQRCode": false,
                "includeReceipt": false,
                "registration": {"clientName": "Traceless", "purpose": "Verify your employment"},
                "callback": {"url": "https://traceless.example/api/microsoft/callback",
                             "state": "verification-42", "headers": {"api-key": "key-1"}},
                "requestedCredentials": [{
                    "type": "VerifiedEmployee",
                    "acceptedIssuers": ["did:web:verifiedid.contoso.com"],
                    "configuration": {"validation": {
                        "allowRevoked": true, "validateLinkedDomain": true,
                        "faceCheck": {"sourcePhotoClaimName": "photo", "matchConfidenceThreshold": 70}}}
                }]
            })
        );
        assert!(!format!("{r:?}").contains("key-1"));
    }

    #[test]
    fn the_created_request_reads_expiry_as_unix_seconds() {
        let c: CreatedRequest = serde_json::from_str(
            r#"{"requestId":"e4ef27ca-eb8c-4b63-823b-3b95140eac11",
                "url":"openid-vc://?request_uri=https://verifiedid.did.msidentity.com/v1.0/tenants/t/verifiableCredentials/presentationRequests/e4ef27ca",
                "expiry":1633017751,"qrCode":"data:image/png;base64,iVBORw0KGgoA"}"#,
        )
        .unwrap();
        assert_eq!(c.expiry.unix_timestamp(), 1633017751);
        assert!(c.url.starts_with("openid-vc://"));
    }
}
