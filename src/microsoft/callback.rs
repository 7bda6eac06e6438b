//! The presentation callbacks Verified ID POSTs to our callback URL, parsed into a shape where
//! a verified presentation always has credentials and an error always has its reason.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use time::OffsetDateTime;

use super::error::MicrosoftError;
use super::ids::Did;

/// One callback: which request and `state` it is about, and what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    pub request_id: String,
    /// Our own `callback.state`, echoed by Microsoft.
    pub state: String,
    pub event: CallbackEvent,
}

/// What the callback reports.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackEvent {
    /// `request_retrieved`: the QR code was scanned or the deep link opened. Not terminal; may repeat.
    Retrieved,
    /// `presentation_verified`: Microsoft verified a presentation (our own checks still apply).
    Verified(Presentation),
    /// `presentation_error`: Microsoft refused the presentation.
    Error(ErrorInfo),
}

/// A verified presentation: the holder and at least one credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// The holder's DID (`subject`), e.g. `did:ion:...`.
    pub subject: Option<String>,
    /// Never empty.
    pub credentials: Vec<VerifiedCredential>,
    /// Only with `includeReceipt: true` (debugging).
    pub receipt: Option<Receipt>,
}

/// One entry of `verifiedCredentialsData`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCredential {
    pub issuer: Did,
    /// E.g. `["VerifiableCredential", "VerifiedEmployee"]`.
    pub types: Vec<String>,
    /// Claim name → value. Non-string values (not expected) are kept as their JSON text.
    pub claims: BTreeMap<String, String>,
    /// `credentialState.revocationStatus`; `None` when Microsoft sent no state.
    pub revocation_status: Option<RevocationStatus>,
    /// `domainValidation.url`: the issuer's verified linked domain.
    pub linked_domain: Option<String>,
    pub issuance_date: Option<OffsetDateTime>,
    pub expiration_date: Option<OffsetDateTime>,
    /// Present only for Face Check requests.
    pub face_check: Option<FaceCheckResult>,
}

impl VerifiedCredential {
    pub fn has_type(&self, credential_type: &str) -> bool {
        self.types.iter().any(|t| t == credential_type)
    }

    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).map(String::as_str)
    }

    /// Only `VALID` counts as not revoked; a missing or unknown status does not.
    pub fn is_valid(&self) -> bool {
        self.revocation_status == Some(RevocationStatus::Valid)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationStatus {
    Valid,
    Revoked,
    /// Anything else Microsoft may send; treated as not valid.
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaceCheckResult {
    pub match_confidence_score: f64,
    pub source_photo_quality: Option<String>,
}

/// `receipt`: the raw presentation, for debugging only. Values are redacted in `Debug`.
#[derive(Clone, PartialEq)]
pub struct Receipt {
    /// `vp_token`, normalized: Microsoft sends one string or an array of strings.
    pub vp_tokens: Vec<String>,
    pub id_token: Option<String>,
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("vp_tokens", &self.vp_tokens.len())
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `error` of a `presentation_error`, e.g. `claimValidationError`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorInfo {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

// ---- wire shapes (unknown fields are ignored) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCallback {
    request_id: String,
    request_status: String,
    state: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    verified_credentials_data: Option<Vec<RawCredential>>,
    #[serde(default)]
    receipt: Option<RawReceipt>,
    #[serde(default)]
    error: Option<ErrorInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCredential {
    issuer: Did,
    #[serde(rename = "type", default)]
    types: Vec<String>,
    #[serde(default)]
    claims: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    credential_state: Option<RawCredentialState>,
    #[serde(default)]
    domain_validation: Option<RawDomainValidation>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    issuance_date: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expiration_date: Option<OffsetDateTime>,
    #[serde(default)]
    face_check: Option<RawFaceCheck>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCredentialState {
    revocation_status: Option<String>,
}

#[derive(Deserialize)]
struct RawDomainValidation {
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFaceCheck {
    match_confidence_score: f64,
    #[serde(default)]
    source_photo_quality: Option<String>,
}

#[derive(Deserialize)]
struct RawReceipt {
    #[serde(default)]
    vp_token: Option<OneOrMany>,
    #[serde(default)]
    id_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Callback {
    /// Parses a callback body. Unknown fields are ignored; an unknown `requestStatus` is
    /// `UnknownCallbackStatus`; a verified presentation without credentials, or an error
    /// without its `error`, is `InvalidCallback`.
    pub fn parse(body: &[u8]) -> Result<Callback, MicrosoftError> {
        let raw: RawCallback = serde_json::from_slice(body)
            .map_err(|e| MicrosoftError::InvalidCallback(e.to_string()))?;
        let event = match raw.request_status.as_str() {
            "request_retrieved" => CallbackEvent::Retrieved,
            "presentation_verified" => {
                let credentials: Vec<VerifiedCredential> = raw
                    .verified_credentials_data
                    .unwrap_or_default()
                    .into_iter()
                    .map(VerifiedCredential::from)
                    .collect();
                if credentials.is_empty() {
                    return Err(MicrosoftError::InvalidCallback(
                        "presentation_verified without verifiedCredentialsData".into(),
                    ));
                }
                CallbackEvent::Verified(Presentation {
                    subject: raw.subject,
                    credentials,
                    receipt: raw.receipt.map(|r| Receipt {
                        vp_tokens: match r.vp_token {
                            None => Vec::new(),
                            Some(OneOrMany::One(t)) => vec![t],
                            Some(OneOrMany::Many(ts)) => ts,
                        },
                        id_token: r.id_token,
                    }),
                })
            }
            "presentation_error" => CallbackEvent::Error(raw.error.ok_or_else(|| {
                MicrosoftError::InvalidCallback("presentation_error without error".into())
            })?),
            other => return Err(MicrosoftError::UnknownCallbackStatus(other.to_string())),
        };
        Ok(Callback {
            request_id: raw.request_id,
            state: raw.state,
            event,
        })
    }
}

impl From<RawCredential> for VerifiedCredential {
    fn from(r: RawCredential) -> Self {
        VerifiedCredential {
            issuer: r.issuer,
            types: r.types,
            claims: r
                .claims
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k, s),
                    other => (k, other.to_string()),
                })
                .collect(),
            revocation_status: r.credential_state.and_then(|s| s.revocation_status).map(
                |s| match s.as_str() {
                    "VALID" => RevocationStatus::Valid,
                    "REVOKED" => RevocationStatus::Revoked,
                    _ => RevocationStatus::Other(s),
                },
            ),
            linked_domain: r.domain_validation.and_then(|d| d.url),
            issuance_date: r.issuance_date,
            expiration_date: r.expiration_date,
            face_check: r.face_check.map(|f| FaceCheckResult {
                match_confidence_score: f.match_confidence_score,
                source_photo_quality: f.source_photo_quality,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIED: &str = r#"{
  "requestId": "e4ef27ca-eb8c-4b63-823b-3b95140eac11",
  "requestStatus": "presentation_verified",
  "state": "92d076dd-450a-4247-aa5b-d2e75a1a5d58",
  "subject": "did:ion:EiA...holder-DID",
  "verifiedCredentialsData": [
    {
      "issuer": "did:web:verifiedid.contoso.com",
      "type": ["VerifiableCredential", "VerifiedEmployee"],
      "claims": { "displayName": "Megan Bowen", "givenName": "Megan", "surname": "Bowen",
                  "jobTitle": "Auditor", "preferredLanguage": "en-US", "mail": "meganb@contoso.com",
                  "revocationId": "meganb@contoso.onmicrosoft.com", "photo": "<base64url JPEG>" },
      "credentialState": { "revocationStatus": "VALID" },
      "domainValidation": { "url": "https://contoso.com/" },
      "issuanceDate": "2024-05-01T10:00:00Z",
      "expirationDate": "2024-11-01T10:00:00Z",
      "faceCheck": { "matchConfidenceScore": 86.314159, "sourcePhotoQuality": "HIGH" }
    }
  ],
  "receipt": { "id_token": "eyJraWQ...", "vp_token": "eyJ...", "state": "..." }
}"#;

    #[test]
    fn request_retrieved_parses() {
        let c = Callback::parse(br#"{"requestId":"e4ef27ca-eb8c-4b63-823b-3b95140eac11","requestStatus":"request_retrieved","state":"92d076dd-450a-4247-aa5b-d2e75a1a5d58"}"#).unwrap();
        assert_eq!(c.request_id, "e4ef27ca-eb8c-4b63-823b-3b95140eac11");
        assert_eq!(c.state, "92d076dd-450a-4247-aa5b-d2e75a1a5d58");
        assert_eq!(c.event, CallbackEvent::Retrieved);
    }

    #[test]
    fn presentation_verified_parses_the_reference_example() {
        let c = Callback::parse(VERIFIED.as_bytes()).unwrap();
        let CallbackEvent::Verified(p) = c.event else {
            panic!("{:?}", c.event)
        };
        assert_eq!(p.subject.as_deref(), Some("did:ion:EiA...holder-DID"));
        let vc = &p.credentials[0];
        assert_eq!(vc.issuer.as_str(), "did:web:verifiedid.contoso.com");
        assert!(vc.has_type("VerifiedEmployee"));
        assert_eq!(vc.claim("mail"), Some("meganb@contoso.com"));
        assert_eq!(
            vc.claim("revocationId"),
            Some("meganb@contoso.onmicrosoft.com")
        );
        assert!(vc.is_valid());
        assert_eq!(vc.linked_domain.as_deref(), Some("https://contoso.com/"));
        assert_eq!(
            vc.issuance_date.unwrap(),
            time::macros::datetime!(2024-05-01 10:00 UTC)
        );
        assert_eq!(
            vc.expiration_date.unwrap(),
            time::macros::datetime!(2024-11-01 10:00 UTC)
        );
        let fc = vc.face_check.as_ref().unwrap();
        assert!((fc.match_confidence_score - 86.314159).abs() < 1e-9);
        assert_eq!(fc.source_photo_quality.as_deref(), Some("HIGH"));
        let r = p.receipt.unwrap();
        assert_eq!(r.vp_tokens, vec!["eyJ...".to_string()]);
        assert!(!format!("{r:?}").contains("eyJ"));
    }

    #[test]
    fn a_vp_token_array_is_kept_whole() {
        let body = VERIFIED.replace(
            r#""vp_token": "eyJ...""#,
            r#""vp_token": ["eyJ.one", "eyJ.two"]"#,
        );
        let c = Callback::parse(body.as_bytes()).unwrap();
        let CallbackEvent::Verified(p) = c.event else {
            panic!()
        };
        assert_eq!(p.receipt.unwrap().vp_tokens, vec!["eyJ.one", "eyJ.two"]);
    }

    #[test]
    fn unknown_fields_are_ignored_and_optional_parts_may_be_missing() {
        let body = r#"{"requestId":"r1","requestStatus":"presentation_verified","state":"s1",
            "somethingNew":{"x":1},
            "verifiedCredentialsData":[{"issuer":"did:web:verifiedid.contoso.com",
               "type":["VerifiableCredential","VerifiedEmployee"],
               "claims":{"mail":"a@contoso.com","age":42},
               "credentialState":{"revocationStatus":"REVOKED","extra":true},
               "futureField":"x"}]}"#;
        let c = Callback::parse(body.as_bytes()).unwrap();
        let CallbackEvent::Verified(p) = c.event else {
            panic!()
        };
        let vc = &p.credentials[0];
        assert_eq!(vc.revocation_status, Some(RevocationStatus::Revoked));
        assert!(!vc.is_valid());
        assert_eq!(vc.claim("age"), Some("42"));
        assert!(p.receipt.is_none() && p.subject.is_none());
        assert!(vc.face_check.is_none() && vc.linked_domain.is_none());
    }

    #[test]
    fn presentation_error_carries_its_reason() {
        let c = Callback::parse(br#"{"requestId":"r","requestStatus":"presentation_error","state":"s",
            "error":{"code":"claimValidationError","message":"Match confidence score failing to meet the threshold."}}"#).unwrap();
        assert_eq!(
            c.event,
            CallbackEvent::Error(ErrorInfo {
                code: "claimValidationError".into(),
                message: "Match confidence score failing to meet the threshold.".into()
            })
        );
    }

    #[test]
    fn an_unknown_request_status_is_an_error() {
        let e = Callback::parse(
            br#"{"requestId":"r","requestStatus":"issuance_successful","state":"s"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(e, MicrosoftError::UnknownCallbackStatus(ref s) if s == "issuance_successful")
        );
    }

    #[test]
    fn inconsistent_or_broken_callbacks_are_refused() {
        for body in [
            r#"{"requestId":"r","requestStatus":"presentation_verified","state":"s"}"#,
            r#"{"requestId":"r","requestStatus":"presentation_verified","state":"s","verifiedCredentialsData":[]}"#,
            r#"{"requestId":"r","requestStatus":"presentation_error","state":"s"}"#,
            r#"{"requestStatus":"request_retrieved","state":"s"}"#,
            r#"{"requestId":"r","requestStatus":"request_retrieved"}"#,
            r#"{"requestId":"r","requestStatus":"presentation_verified","state":"s","verifiedCredentialsData":[{"issuer":"not a did"}]}"#,
            r#"not json"#,
        ] {
            assert!(
                matches!(
                    Callback::parse(body.as_bytes()),
                    Err(MicrosoftError::InvalidCallback(_))
                ),
                "{body}"
            );
        }
    }
}
