//! `MicrosoftError`: what went wrong talking to Microsoft, and at which step, in words an admin
//! or an agent can act on. Also the parsing of Microsoft's three error body shapes.

use std::fmt;

use serde::Deserialize;

/// The step of a Microsoft flow that failed, so the UI can say which service misbehaved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Redeeming the authorization code at the token endpoint.
    CodeExchange,
    /// OIDC discovery and the tenant's signing keys (JWKS).
    Discovery,
    /// Microsoft Graph (`/v1.0/organization`).
    Graph,
    /// Refresh-token grant for a delegated Verified ID admin API token.
    AdminApiToken,
    /// The Verified ID admin API (authorities, contracts).
    AdminApi,
    /// Client-credentials grant for the Verified ID request service.
    AppToken,
    /// `createPresentationRequest` at the Verified ID request service.
    PresentationRequest,
    /// A callback Verified ID posted to us.
    Callback,
}

impl Step {
    /// The step's name as a metric label (`observe::MICROSOFT_CALLS`): fixed, no ids.
    pub fn label(self) -> &'static str {
        match self {
            Step::CodeExchange => "code_exchange",
            Step::Discovery => "discovery",
            Step::Graph => "graph",
            Step::AdminApiToken => "admin_api_token",
            Step::AdminApi => "admin_api",
            Step::AppToken => "app_token",
            Step::PresentationRequest => "presentation_request",
            Step::Callback => "callback",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::CodeExchange => "Microsoft sign-in (code exchange)",
            Step::Discovery => "Microsoft sign-in metadata (discovery and signing keys)",
            Step::Graph => "Microsoft Graph",
            Step::AdminApiToken => "Microsoft sign-in (token for the Verified ID admin API)",
            Step::AdminApi => "the Verified ID admin API",
            Step::AppToken => "Microsoft sign-in (app token for the Verified ID request service)",
            Step::PresentationRequest => "the Verified ID request service",
            Step::Callback => "a Verified ID callback",
        })
    }
}

/// Verified ID's `innererror`: the precise reason, often naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InnerError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub target: Option<String>,
}

/// Why an ID token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenProblem {
    #[error("it is not a well-formed JWT ({0})")]
    Malformed(String),
    #[error("it is signed with {0}, only RS256 is accepted")]
    Algorithm(String),
    #[error("it names no signing key (kid)")]
    MissingKeyId,
    #[error("its signing key is not among the tenant's keys")]
    UnknownKey,
    #[error("its signature does not verify")]
    Signature,
    #[error("it has expired")]
    Expired,
    #[error("it is not valid yet")]
    NotYetValid,
    #[error("it was issued by someone other than its tenant")]
    Issuer,
    #[error("it was issued for another application")]
    Audience,
    #[error("its nonce does not match this sign-in")]
    Nonce,
    #[error("its tenant is unknown to Microsoft")]
    UnknownTenant,
    #[error("the claim `{0}` is missing or invalid")]
    Claim(&'static str),
}

/// Everything that can go wrong in `traceless::microsoft`.
#[derive(Debug, thiserror::Error)]
pub enum MicrosoftError {
    /// No answer within the client's timeout. Retrying later may help.
    #[error("{step} did not answer in time")]
    Timeout { step: Step },
    /// Microsoft could not be reached (`status: None`) or answered 5xx/429. Retrying later may help.
    #[error("{step} is unavailable right now{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_else(|| " (could not connect)".into()))]
    Unavailable { step: Step, status: Option<u16> },
    /// Microsoft answered 4xx with its error JSON: `code` is the OAuth `error` (e.g.
    /// `invalid_grant`) or Graph/Verified ID's `error.code`; `description` is the first line of
    /// `error_description`/`error.message` (so AADSTS codes are kept, trace ids are not).
    #[error("Microsoft refused ({step}): {code}: {description}{}", inner.as_ref().map(|i| format!(" [{}{}: {}]", i.code, i.target.as_ref().map(|t| format!(" at {t}")).unwrap_or_default(), i.message)).unwrap_or_default())]
    Rejected {
        step: Step,
        status: u16,
        code: String,
        description: String,
        inner: Option<InnerError>,
    },
    /// The ID token from the sign-in did not pass validation; the sign-in must not be trusted.
    #[error("the ID token from Microsoft failed validation: {0}")]
    InvalidIdToken(IdTokenProblem),
    /// The tenant has not onboarded Entra Verified ID (no service principal for its APIs, or
    /// no authority).
    #[error("Verified ID is not set up for this tenant")]
    VerifiedIdNotSetUp,
    /// The app token carries neither `VerifiableCredential.Create.All` nor
    /// `VerifiableCredential.Create.PresentRequest`: admin consent is missing.
    #[error(
        "this app may not create Verified ID presentation requests in this tenant (the admin consent for VerifiableCredential.Create.PresentRequest is missing)"
    )]
    MissingRole,
    /// A delegated permission the app registration lists was never consented in the tenant,
    /// so a refresh token cannot mint it (`invalid_grant`, AADSTS65001 "The user or
    /// administrator has not consented to use the application").
    #[error("the admin consent for {permission} is missing in this tenant")]
    ConsentMissing { permission: &'static str },
    /// Microsoft answered, but not in the shape documented for this step.
    #[error("unexpected answer from {step}: {detail}")]
    Malformed { step: Step, detail: String },
    /// A base URL or credential given to the client is not usable.
    #[error("invalid Microsoft configuration: {0}")]
    InvalidConfiguration(String),
    /// A callback body that is not a Verified ID presentation callback.
    #[error("not a valid Verified ID callback: {0}")]
    InvalidCallback(String),
    /// A callback with a `requestStatus` we do not know (e.g. an issuance status).
    #[error("unknown Verified ID callback status {0:?}")]
    UnknownCallbackStatus(String),
}

impl MicrosoftError {
    /// The step that failed, where there is one.
    pub fn step(&self) -> Option<Step> {
        match self {
            MicrosoftError::Timeout { step }
            | MicrosoftError::Unavailable { step, .. }
            | MicrosoftError::Rejected { step, .. }
            | MicrosoftError::Malformed { step, .. } => Some(*step),
            MicrosoftError::InvalidIdToken(_) => Some(Step::Discovery),
            MicrosoftError::VerifiedIdNotSetUp => Some(Step::AdminApi),
            MicrosoftError::MissingRole => Some(Step::AppToken),
            MicrosoftError::ConsentMissing { .. } => Some(Step::AdminApiToken),
            MicrosoftError::InvalidCallback(_) | MicrosoftError::UnknownCallbackStatus(_) => {
                Some(Step::Callback)
            }
            MicrosoftError::InvalidConfiguration(_) => None,
        }
    }

    /// Whether the same call may succeed if tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            MicrosoftError::Timeout { .. } | MicrosoftError::Unavailable { .. }
        )
    }

    /// A refresh token Microsoft no longer honours: expired, revoked (revokeSignInSessions,
    /// a password reset), its user disabled or deleted, or a new sign-in demanded. Only a new
    /// interactive sign-in gives a new one (refresh-tokens, "Token revocation"; reference-error-codes:
    /// AADSTS50173 FreshTokenNeeded, AADSTS70008/700082 ExpiredOrRevokedGrant, AADSTS50076
    /// interaction required).
    pub fn is_dead_grant(&self) -> bool {
        matches!(
            self,
            MicrosoftError::Rejected { step: Step::AdminApiToken, code, .. }
                if code == "invalid_grant" || code == "interaction_required"
        )
    }

    pub(crate) fn malformed(step: Step, detail: impl fmt::Display) -> MicrosoftError {
        MicrosoftError::Malformed {
            step,
            detail: detail.to_string(),
        }
    }

    /// A transport error from reqwest. Never includes the URL (it may carry a code or token).
    pub(crate) fn transport(step: Step, e: &reqwest::Error) -> MicrosoftError {
        if e.is_timeout() {
            MicrosoftError::Timeout { step }
        } else if let Some(s) = e.status() {
            MicrosoftError::Unavailable {
                step,
                status: Some(s.as_u16()),
            }
        } else if e.is_decode() || e.is_body() {
            MicrosoftError::malformed(step, "the response body could not be read")
        } else {
            MicrosoftError::Unavailable { step, status: None }
        }
    }

    /// Maps a non-success HTTP answer: 429/5xx are `Unavailable`, 4xx are `Rejected` with
    /// whichever of Microsoft's error bodies it carries.
    pub(crate) fn from_status(step: Step, status: u16, body: &[u8]) -> MicrosoftError {
        if status == 429 || status >= 500 {
            return MicrosoftError::Unavailable {
                step,
                status: Some(status),
            };
        }
        let parsed = parse_error_body(body);
        let (code, description, inner) = match parsed {
            Some(p) => p,
            None => (
                format!("http_{status}"),
                "Microsoft answered with an error but no error details".to_string(),
                None,
            ),
        };
        if matches!(step, Step::AdminApiToken | Step::AppToken)
            && verified_id_missing(&code, &description)
        {
            return MicrosoftError::VerifiedIdNotSetUp;
        }
        MicrosoftError::Rejected {
            step,
            status,
            code,
            description,
            inner,
        }
    }
}

/// A token request for a Verified ID resource that the tenant does not have: the resource's
/// service principal is missing (AADSTS500011, `invalid_resource`) or its service is not
/// enabled (AADSTS650052).
fn verified_id_missing(code: &str, description: &str) -> bool {
    code == "invalid_resource"
        || description.starts_with("AADSTS500011")
        || description.starts_with("AADSTS650052")
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    /// Identity platform: `{"error":"invalid_grant","error_description":"AADSTS..."}`.
    OAuth(String),
    /// Graph and Verified ID: `{"error":{"code","message","innererror"}}`.
    Envelope {
        code: String,
        #[serde(default)]
        message: String,
        #[serde(default, alias = "innerError")]
        innererror: Option<serde_json::Value>,
    },
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorField,
    #[serde(default)]
    error_description: Option<String>,
}

/// `(code, first line of the description, innererror)`; `None` if the body is none of the
/// shapes Microsoft documents.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<(String, String, Option<InnerError>)> {
    let b: ErrorBody = serde_json::from_slice(body).ok()?;
    Some(match b.error {
        ErrorField::OAuth(code) => (
            code,
            first_line(b.error_description.as_deref().unwrap_or_default()),
            None,
        ),
        ErrorField::Envelope {
            code,
            message,
            innererror,
        } => {
            // Graph's `innerError` carries only dates and request ids; Verified ID's carries
            // a code, message and target. Keep it only in the latter shape.
            let inner = innererror
                .and_then(|v| serde_json::from_value::<InnerError>(v).ok())
                .map(|i| InnerError {
                    message: first_line(&i.message),
                    ..i
                });
            (code, first_line(&message), inner)
        }
    })
}

/// The first line of a Microsoft description, bounded: the rest is trace and correlation ids.
pub(crate) fn first_line(s: &str) -> String {
    const MAX: usize = 300;
    let line = s.lines().next().unwrap_or_default().trim();
    if line.len() <= MAX {
        return line.to_string();
    }
    let mut end = MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_platform_errors_keep_the_code_and_the_first_line() {
        let body = br#"{"error":"invalid_scope",
 "error_description":"AADSTS70011: The provided value for the input parameter 'scope' is not valid.\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2016-01-09 02:02:12Z",
 "error_codes":[70011],"timestamp":"2016-01-09 02:02:12Z","trace_id":"0000","correlation_id":"1111",
 "error_uri":"https://login.microsoftonline.com/error?code=70011"}"#;
        let e = MicrosoftError::from_status(Step::CodeExchange, 400, body);
        match &e {
            MicrosoftError::Rejected {
                step,
                status,
                code,
                description,
                inner,
            } => {
                assert_eq!(*step, Step::CodeExchange);
                assert_eq!(*status, 400);
                assert_eq!(code, "invalid_scope");
                assert_eq!(
                    description,
                    "AADSTS70011: The provided value for the input parameter 'scope' is not valid."
                );
                assert!(inner.is_none());
            }
            other => panic!("{other:?}"),
        }
        let text = e.to_string();
        assert!(text.contains("Microsoft refused") && text.contains("AADSTS70011"));
        assert!(!text.contains("Trace ID"));
    }

    #[test]
    fn verified_id_envelopes_keep_the_inner_error_and_its_target() {
        let body = br#"{"requestId":"782628eb-503a-4978-84f2-d7c634f25b15","date":"Fri, 29 Apr 2022 11:20:19 GMT","mscv":"QbBLwF7XAp0dt4Lw.1",
 "error":{"code":"badRequest","message":"The request is invalid.",
          "innererror":{"code":"badOrMissingField","message":"The request contains `includeQRCode`, but it is not boolean.","target":"includeQRCode"}}}"#;
        let e = MicrosoftError::from_status(Step::PresentationRequest, 400, body);
        let MicrosoftError::Rejected {
            code, inner, step, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*step, Step::PresentationRequest);
        assert_eq!(code, "badRequest");
        let inner = inner.as_ref().unwrap();
        assert_eq!(inner.code, "badOrMissingField");
        assert_eq!(inner.target.as_deref(), Some("includeQRCode"));
        assert!(e.to_string().contains("badOrMissingField at includeQRCode"));
    }

    #[test]
    fn graph_errors_map_without_their_request_ids() {
        let body = br#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired.",
            "innerError":{"date":"2024-01-01T00:00:00","request-id":"abc","client-request-id":"abc"}}}"#;
        let e = MicrosoftError::from_status(Step::Graph, 401, body);
        let MicrosoftError::Rejected {
            code,
            description,
            inner,
            ..
        } = e
        else {
            panic!()
        };
        assert_eq!(code, "InvalidAuthenticationToken");
        assert_eq!(description, "Access token has expired.");
        assert!(inner.is_none());
    }

    #[test]
    fn server_errors_and_throttling_are_unavailable_whatever_the_body() {
        for status in [429, 500, 502, 503, 504] {
            let e = MicrosoftError::from_status(Step::Graph, status, b"<html>oops</html>");
            assert!(
                matches!(e, MicrosoftError::Unavailable { step: Step::Graph, status: Some(s) } if s == status)
            );
            assert!(e.is_transient());
        }
    }

    #[test]
    fn a_missing_verified_id_resource_is_verified_id_not_set_up() {
        let body = br#"{"error":"invalid_resource","error_description":"AADSTS500011: The resource principal named 6a8b4b39-c021-437c-b060-5a14a3fd65f3 was not found in the tenant.\r\nTrace ID: x"}"#;
        assert!(matches!(
            MicrosoftError::from_status(Step::AdminApiToken, 400, body),
            MicrosoftError::VerifiedIdNotSetUp
        ));
        assert!(matches!(
            MicrosoftError::from_status(Step::AppToken, 400, body),
            MicrosoftError::VerifiedIdNotSetUp
        ));
        // The same body from another step is reported as it is.
        assert!(matches!(
            MicrosoftError::from_status(Step::CodeExchange, 400, body),
            MicrosoftError::Rejected { .. }
        ));
    }

    #[test]
    fn an_unparseable_error_body_still_names_the_status() {
        let e = MicrosoftError::from_status(Step::AdminApi, 404, b"not json");
        assert!(
            matches!(e, MicrosoftError::Rejected { status: 404, ref code, .. } if code == "http_404")
        );
    }

    #[test]
    fn long_descriptions_are_cut_on_a_char_boundary() {
        let long = "é".repeat(400);
        let cut = first_line(&long);
        assert!(cut.len() <= 304 && cut.ends_with('…'));
    }
}
