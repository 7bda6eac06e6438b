//! The presentation callbacks Verified ID POSTs to our callback URL.
//!
//! Only `requestId`, `requestStatus` and `state` are needed to route a callback, so only they
//! are required. Everything else is read leniently (Microsoft adds fields, omits optional ones
//! and formats dates in more than one ISO 8601 form): a field we cannot read is kept as absent
//! and judged later, so a real callback is never lost to a 400. Reference: presentation-request-api
//! "Callback events" and the shapes in `reference/microsoft-verified-id.md` §6.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::error::MicrosoftError;

/// Longest error code kept from a `presentation_error` (Microsoft's are short camelCase words).
const MAX_CODE_CHARS: usize = 80;
/// Longest error message kept from a `presentation_error`.
const MAX_MESSAGE_CHARS: usize = 300;
/// Longest text kept from the short free-text fields (issuer, revocation status, URLs).
const MAX_SHORT_TEXT_CHARS: usize = 512;
/// The only `presentation_error` code Microsoft documents: Face Check below the threshold or a
/// constraint not met (using-facecheck, presentation-request-api).
pub const CLAIM_VALIDATION_ERROR: &str = "claimValidationError";

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

/// A verified presentation: the holder and the credentials Microsoft could describe.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// The holder's DID (`subject`), e.g. `did:ion:...`.
    pub subject: Option<String>,
    /// The readable entries of `verifiedCredentialsData`. Empty only when Microsoft sent none
    /// we could read; the caller decides what that means.
    pub credentials: Vec<VerifiedCredential>,
    /// Only with `includeReceipt: true` (debugging).
    pub receipt: Option<Receipt>,
}

/// One entry of `verifiedCredentialsData`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCredential {
    /// The issuer's DID as Microsoft sent it (empty when absent). Not parsed: an issuer we do
    /// not recognise is an alignment failure, not a broken callback.
    pub issuer: String,
    /// E.g. `["VerifiableCredential", "VerifiedEmployee"]`.
    pub types: Vec<String>,
    /// Claim name → value. Documented as strings; numbers and booleans are kept as their JSON
    /// text, other values (null, objects, arrays) are skipped.
    pub claims: BTreeMap<String, String>,
    /// `credentialState.revocationStatus`; `None` when Microsoft sent no state.
    pub revocation_status: Option<RevocationStatus>,
    /// `domainValidation.url`: the issuer's verified linked domain.
    pub linked_domain: Option<String>,
    /// `None` when absent or not a date we can read.
    pub issuance_date: Option<OffsetDateTime>,
    /// `None` when absent or not a date we can read.
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

    /// Revoked when Microsoft gave a status other than `VALID`: `VALID` is the only documented
    /// value and the samples treat anything else as not valid. An absent status is unknown, and
    /// unknown counts as not revoked, as with Microsoft's default (the wallet refuses revoked
    /// credentials itself): no stricter rule is invented here.
    pub fn is_revoked(&self) -> bool {
        matches!(
            self.revocation_status,
            Some(RevocationStatus::Revoked | RevocationStatus::Other(_))
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationStatus {
    Valid,
    Revoked,
    /// Anything else Microsoft may send (sanitised); treated as not valid.
    Other(String),
}

impl fmt::Display for RevocationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevocationStatus::Valid => f.write_str("VALID"),
            RevocationStatus::Revoked => f.write_str("REVOKED"),
            RevocationStatus::Other(other) => f.write_str(other),
        }
    }
}

/// `faceCheck` of a credential; each part may be missing.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceCheckResult {
    pub match_confidence_score: Option<f64>,
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

/// `error` of a `presentation_error`, kept as Microsoft sent it but sanitised (no control
/// characters) and length-capped, so it can be shown to the agent. Either may be empty when
/// Microsoft left it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
}

impl ErrorInfo {
    /// `claimValidationError`: Face Check below the threshold, or a constraint not met.
    pub fn is_claim_validation(&self) -> bool {
        self.code.eq_ignore_ascii_case(CLAIM_VALIDATION_ERROR)
    }
}

impl fmt::Display for ErrorInfo {
    /// `code: message`, with placeholders for missing parts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = if self.code.is_empty() {
            "(no code)"
        } else {
            &self.code
        };
        if self.message.is_empty() {
            f.write_str(code)
        } else {
            write!(f, "{code}: {}", self.message)
        }
    }
}

impl Callback {
    /// Parses a callback body. Refused (`InvalidCallback`) only when the body is not a JSON
    /// object or lacks a string `requestId`, `requestStatus` or `state`; an unknown
    /// `requestStatus` is `UnknownCallbackStatus` (Microsoft's samples answer both with 400).
    pub fn parse(body: &[u8]) -> Result<Callback, MicrosoftError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| MicrosoftError::InvalidCallback(e.to_string()))?;
        let Value::Object(raw) = value else {
            return Err(MicrosoftError::InvalidCallback(
                "the body is not a JSON object".into(),
            ));
        };
        let required = |name: &str| {
            text(&raw, name).map(str::to_owned).ok_or_else(|| {
                MicrosoftError::InvalidCallback(format!("{name} is missing or not a string"))
            })
        };
        let request_id = required("requestId")?;
        let request_status = required("requestStatus")?;
        let state = required("state")?;
        let event = match request_status.as_str() {
            "request_retrieved" => CallbackEvent::Retrieved,
            "presentation_verified" => CallbackEvent::Verified(presentation(&raw)),
            "presentation_error" => CallbackEvent::Error(error_info(raw.get("error"))),
            other => {
                return Err(MicrosoftError::UnknownCallbackStatus(sanitize(
                    other,
                    MAX_CODE_CHARS,
                )));
            }
        };
        Ok(Callback {
            request_id,
            state,
            event,
        })
    }
}

fn presentation(raw: &Map<String, Value>) -> Presentation {
    let entries = match raw.get("verifiedCredentialsData") {
        Some(Value::Array(entries)) => entries.as_slice(),
        // One object where an array was expected: read it as a list of one.
        Some(entry @ Value::Object(_)) => std::slice::from_ref(entry),
        _ => &[],
    };
    let credentials: Vec<VerifiedCredential> = entries
        .iter()
        .filter_map(|entry| match entry {
            Value::Object(entry) => Some(credential(entry)),
            _ => {
                tracing::warn!("skipped a verifiedCredentialsData entry that is not an object");
                None
            }
        })
        .collect();
    Presentation {
        subject: text(raw, "subject").map(|s| sanitize(s, MAX_SHORT_TEXT_CHARS)),
        credentials,
        receipt: match raw.get("receipt") {
            Some(Value::Object(r)) => Some(Receipt {
                vp_tokens: strings(r.get("vp_token")),
                id_token: text(r, "id_token").map(str::to_owned),
            }),
            _ => None,
        },
    }
}

fn credential(raw: &Map<String, Value>) -> VerifiedCredential {
    let claims = match raw.get("claims") {
        Some(Value::Object(claims)) => claims
            .iter()
            .filter_map(|(name, value)| {
                let value = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null | Value::Array(_) | Value::Object(_) => return None,
                };
                Some((name.clone(), value))
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let revocation_status = object(raw, "credentialState")
        .and_then(|s| text(s, "revocationStatus"))
        .map(|s| match s.trim() {
            s if s.eq_ignore_ascii_case("VALID") => RevocationStatus::Valid,
            s if s.eq_ignore_ascii_case("REVOKED") => RevocationStatus::Revoked,
            s => RevocationStatus::Other(sanitize(s, MAX_SHORT_TEXT_CHARS)),
        });
    VerifiedCredential {
        issuer: text(raw, "issuer")
            .map(|s| sanitize(s.trim(), MAX_SHORT_TEXT_CHARS))
            .unwrap_or_default(),
        types: strings(raw.get("type")),
        claims,
        revocation_status,
        linked_domain: object(raw, "domainValidation")
            .and_then(|d| text(d, "url"))
            .map(|s| sanitize(s, MAX_SHORT_TEXT_CHARS)),
        issuance_date: text(raw, "issuanceDate").and_then(parse_date),
        expiration_date: text(raw, "expirationDate").and_then(parse_date),
        face_check: object(raw, "faceCheck").map(|f| FaceCheckResult {
            match_confidence_score: match f.get("matchConfidenceScore") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            }
            .filter(|score: &f64| score.is_finite()),
            source_photo_quality: text(f, "sourcePhotoQuality")
                .map(|s| sanitize(s, MAX_CODE_CHARS)),
        }),
    }
}

fn error_info(raw: Option<&Value>) -> ErrorInfo {
    match raw {
        Some(Value::Object(error)) => ErrorInfo {
            code: text(error, "code")
                .map(|c| sanitize(c, MAX_CODE_CHARS))
                .unwrap_or_default(),
            message: text(error, "message")
                .map(|m| sanitize(m, MAX_MESSAGE_CHARS))
                .unwrap_or_default(),
        },
        // A bare string where the object was expected: take it as the code.
        Some(Value::String(code)) => ErrorInfo {
            code: sanitize(code, MAX_CODE_CHARS),
            message: String::new(),
        },
        _ => ErrorInfo {
            code: String::new(),
            message: String::new(),
        },
    }
}

fn text<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    object.get(name).and_then(Value::as_str)
}

fn object<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    object.get(name).and_then(Value::as_object)
}

/// One string or an array of strings (non-strings skipped), as `type` and `vp_token` come.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Text from outside fit to store and show: control characters become spaces, surrounding
/// space goes, and at most `max_chars` characters are kept.
fn sanitize(value: &str, max_chars: usize) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    match trimmed.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

/// An ISO 8601 date or date-time in any of the forms Microsoft's services write: RFC 3339
/// (`2024-05-01T10:00:00Z`), .NET's seven-digit fractions, numeric offsets, no offset (read as
/// UTC, as Microsoft's timestamps are), a space instead of `T`, or a date alone (midnight UTC).
fn parse_date(value: &str) -> Option<OffsetDateTime> {
    let value = value.trim();
    let spaced = value.len() > 10 && value.as_bytes()[10] == b' ';
    let value = if spaced {
        format!("{}T{}", &value[..10], value[11..].trim_start())
    } else {
        value.to_owned()
    };
    OffsetDateTime::parse(&value, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&value, &Iso8601::DEFAULT))
        .ok()
        .or_else(|| {
            PrimitiveDateTime::parse(&value, &Iso8601::DEFAULT)
                .ok()
                .map(PrimitiveDateTime::assume_utc)
        })
        .or_else(|| {
            Date::parse(&value, &Iso8601::DEFAULT)
                .ok()
                .map(|d| d.midnight().assume_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// presentation-request-api "Callback events", `presentation_verified` (reference §6).
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

    fn verified(body: &str) -> Presentation {
        match Callback::parse(body.as_bytes()).unwrap().event {
            CallbackEvent::Verified(p) => p,
            other => panic!("{other:?}"),
        }
    }

    /// The documented example with one credential's field replaced (or removed with `null`).
    fn with_credential_field(name: &str, value: Value) -> Presentation {
        let mut body: Value = serde_json::from_str(VERIFIED).unwrap();
        let credential = &mut body["verifiedCredentialsData"][0];
        if value.is_null() {
            credential.as_object_mut().unwrap().remove(name);
        } else {
            credential[name] = value;
        }
        verified(&body.to_string())
    }

    #[test]
    fn request_retrieved_parses() {
        let c = Callback::parse(br#"{"requestId":"e4ef27ca-eb8c-4b63-823b-3b95140eac11","requestStatus":"request_retrieved","state":"92d076dd-450a-4247-aa5b-d2e75a1a5d58"}"#).unwrap();
        assert_eq!(c.request_id, "e4ef27ca-eb8c-4b63-823b-3b95140eac11");
        assert_eq!(c.state, "92d076dd-450a-4247-aa5b-d2e75a1a5d58");
        assert_eq!(c.event, CallbackEvent::Retrieved);
    }

    #[test]
    fn presentation_verified_parses_the_reference_example() {
        let p = verified(VERIFIED);
        assert_eq!(p.subject.as_deref(), Some("did:ion:EiA...holder-DID"));
        let vc = &p.credentials[0];
        assert_eq!(vc.issuer, "did:web:verifiedid.contoso.com");
        assert!(vc.has_type("VerifiedEmployee"));
        assert_eq!(vc.claim("mail"), Some("meganb@contoso.com"));
        assert_eq!(
            vc.claim("revocationId"),
            Some("meganb@contoso.onmicrosoft.com")
        );
        assert_eq!(vc.revocation_status, Some(RevocationStatus::Valid));
        assert!(!vc.is_revoked());
        assert_eq!(vc.linked_domain.as_deref(), Some("https://contoso.com/"));
        assert_eq!(vc.issuance_date, Some(datetime!(2024-05-01 10:00 UTC)));
        assert_eq!(vc.expiration_date, Some(datetime!(2024-11-01 10:00 UTC)));
        let fc = vc.face_check.as_ref().unwrap();
        assert!((fc.match_confidence_score.unwrap() - 86.314159).abs() < 1e-9);
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
        assert_eq!(
            verified(&body).receipt.unwrap().vp_tokens,
            vec!["eyJ.one", "eyJ.two"]
        );
    }

    #[test]
    fn dates_are_read_in_every_iso_8601_form_and_otherwise_left_out() {
        let cases = [
            (
                "2024-05-01T10:00:00Z",
                Some(datetime!(2024-05-01 10:00 UTC)),
            ),
            // .NET writes seven fractional digits.
            (
                "2024-05-01T10:00:00.1234567Z",
                Some(datetime!(2024-05-01 10:00:00.1234567 UTC)),
            ),
            (
                "2024-05-01T12:00:00+02:00",
                Some(datetime!(2024-05-01 10:00 UTC)),
            ),
            (
                "2024-05-01T12:00:00.5+0200",
                Some(datetime!(2024-05-01 10:00:00.5 UTC)),
            ),
            ("2024-05-01T10:00:00", Some(datetime!(2024-05-01 10:00 UTC))),
            (
                "2024-05-01 10:00:00Z",
                Some(datetime!(2024-05-01 10:00 UTC)),
            ),
            ("20240501T100000Z", Some(datetime!(2024-05-01 10:00 UTC))),
            ("2024-05-01", Some(datetime!(2024-05-01 0:00 UTC))),
            ("2024-05-01T10:00Z", Some(datetime!(2024-05-01 10:00 UTC))),
            (
                "2024-05-01t10:00:00z",
                Some(datetime!(2024-05-01 10:00 UTC)),
            ),
            (
                "2024-05-01T05:00:00-05:00",
                Some(datetime!(2024-05-01 10:00 UTC)),
            ),
            (
                " 2024-05-01T10:00:00Z ",
                Some(datetime!(2024-05-01 10:00 UTC)),
            ),
            ("01/05/2024", None),
            ("yesterday", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let p = with_credential_field("issuanceDate", Value::String(text.into()));
            assert_eq!(p.credentials[0].issuance_date, expected, "{text}");
        }
        for odd in [
            serde_json::json!(1714557600),
            serde_json::json!({"date": "x"}),
        ] {
            let p = with_credential_field("expirationDate", odd);
            assert_eq!(p.credentials[0].expiration_date, None);
        }
        let p = with_credential_field("issuanceDate", Value::Null);
        assert_eq!(p.credentials[0].issuance_date, None);
    }

    #[test]
    fn unknown_fields_are_ignored_and_optional_parts_may_be_missing() {
        let body = r#"{"requestId":"r1","requestStatus":"presentation_verified","state":"s1",
            "somethingNew":{"x":1}, "subject": 42,
            "verifiedCredentialsData":[{"issuer":"did:web:verifiedid.contoso.com",
               "type":["VerifiableCredential","VerifiedEmployee"],
               "claims":{"mail":"a@contoso.com"},
               "credentialState":{"extra":true},
               "faceCheck":{"sourcePhotoQuality":"MEDIUM"},
               "futureField":"x"}]}"#;
        let p = verified(body);
        let vc = &p.credentials[0];
        assert_eq!(vc.revocation_status, None);
        assert!(!vc.is_revoked(), "no state is not a revocation");
        assert!(p.receipt.is_none() && p.subject.is_none());
        assert!(vc.linked_domain.is_none() && vc.issuance_date.is_none());
        assert_eq!(
            vc.face_check,
            Some(FaceCheckResult {
                match_confidence_score: None,
                source_photo_quality: Some("MEDIUM".into())
            })
        );
    }

    #[test]
    fn claims_that_are_not_strings_are_stringified_or_skipped() {
        let p = with_credential_field(
            "claims",
            serde_json::json!({"mail": "a@contoso.com", "age": 42, "admin": false,
                               "nothing": null, "nested": {"x": 1}, "list": ["a"]}),
        );
        let vc = &p.credentials[0];
        assert_eq!(vc.claim("age"), Some("42"));
        assert_eq!(vc.claim("admin"), Some("false"));
        assert_eq!(vc.claims.len(), 3, "{:?}", vc.claims);
    }

    #[test]
    fn any_revocation_status_but_valid_is_revoked() {
        for (status, expected) in [
            ("VALID", RevocationStatus::Valid),
            ("valid", RevocationStatus::Valid),
            ("REVOKED", RevocationStatus::Revoked),
            ("SUSPENDED", RevocationStatus::Other("SUSPENDED".into())),
        ] {
            let p = with_credential_field(
                "credentialState",
                serde_json::json!({ "revocationStatus": status }),
            );
            let vc = &p.credentials[0];
            assert_eq!(vc.revocation_status.as_ref(), Some(&expected));
            assert_eq!(vc.is_revoked(), expected != RevocationStatus::Valid);
        }
    }

    #[test]
    fn an_issuer_we_do_not_recognise_is_kept_for_alignment_to_judge() {
        for (issuer, expected) in [
            (serde_json::json!("not a did"), "not a did"),
            (serde_json::json!("did:example:123"), "did:example:123"),
            (serde_json::json!(7), ""),
            (Value::Null, ""),
        ] {
            let p = with_credential_field("issuer", issuer);
            assert_eq!(p.credentials[0].issuer, expected);
        }
        let p = with_credential_field("type", serde_json::json!("VerifiedEmployee"));
        assert!(p.credentials[0].has_type("VerifiedEmployee"));
    }

    #[test]
    fn a_presentation_without_readable_credentials_still_parses() {
        for body in [
            r#"{"requestId":"r","requestStatus":"presentation_verified","state":"s"}"#,
            r#"{"requestId":"r","requestStatus":"presentation_verified","state":"s","verifiedCredentialsData":[]}"#,
            r#"{"requestId":"r","requestStatus":"presentation_verified","state":"s","verifiedCredentialsData":["x", 1]}"#,
        ] {
            assert!(verified(body).credentials.is_empty(), "{body}");
        }
    }

    #[test]
    fn presentation_error_carries_its_reason() {
        let c = Callback::parse(br#"{"requestId":"r","requestStatus":"presentation_error","state":"s",
            "error":{"code":"claimValidationError","message":"Match confidence score failing to meet the threshold."}}"#).unwrap();
        let CallbackEvent::Error(error) = c.event else {
            panic!("{:?}", c.event)
        };
        assert!(error.is_claim_validation());
        assert_eq!(
            error.to_string(),
            "claimValidationError: Match confidence score failing to meet the threshold."
        );
    }

    #[test]
    fn an_undocumented_error_code_is_kept_sanitised_and_capped() {
        let long = "x".repeat(2000);
        let body = serde_json::json!({"requestId": "r", "requestStatus": "presentation_error", "state": "s",
            "error": {"code": "walletBusy\r\n<b>", "message": long, "innererror": {"code": "x"}}});
        let CallbackEvent::Error(error) =
            Callback::parse(body.to_string().as_bytes()).unwrap().event
        else {
            panic!()
        };
        assert_eq!(error.code, "walletBusy  <b>");
        assert!(!error.is_claim_validation());
        assert_eq!(error.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(error.message.ends_with('…'));
    }

    #[test]
    fn a_presentation_error_without_its_error_still_parses() {
        for body in [
            r#"{"requestId":"r","requestStatus":"presentation_error","state":"s"}"#,
            r#"{"requestId":"r","requestStatus":"presentation_error","state":"s","error":{"message":"Something"}}"#,
        ] {
            let CallbackEvent::Error(error) = Callback::parse(body.as_bytes()).unwrap().event
            else {
                panic!("{body}")
            };
            assert_eq!(error.code, "", "{body}");
            assert!(error.to_string().starts_with("(no code)"));
        }
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
    fn only_the_routing_fields_are_required() {
        for body in [
            r#"{"requestStatus":"request_retrieved","state":"s"}"#,
            r#"{"requestId":"r","requestStatus":"request_retrieved"}"#,
            r#"{"requestId":"r","state":"s"}"#,
            r#"{"requestId":7,"requestStatus":"request_retrieved","state":"s"}"#,
            r#"{"requestId":"r","requestStatus":"request_retrieved","state":null}"#,
            r#"["requestId"]"#,
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
