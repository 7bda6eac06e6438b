//! Clients for Microsoft: the identity platform (sign-in, tokens), Microsoft Graph (the tenant's
//! verified domains) and Entra Verified ID (admin API, request service), plus the callbacks
//! Verified ID posts to us. The emulator is only a different set of base URLs.
//!
//! # Connect (an org admin links a tenant; see `connect.rs` for why two legs)
//! ```text
//! let ms = MicrosoftClient::new(MicrosoftEndpoints::microsoft(), ClientCredentials::new(id, secret))?;
//! let consent = ms.admin_consent_request(&redirect_uri);   // store state; redirect to consent.url
//! // ... Microsoft redirects back with ?admin_consent=True&tenant&state ...
//! let auth = ms.authorization_request(Some(&tenant_hint), &redirect_uri); // store state, pkce, nonce
//! // ... Microsoft redirects back with ?code&state ...
//! let tenant = ms.read_tenant(&code, &auth.pkce_verifier, &redirect_uri, &auth.nonce, &auth.token_tenant).await?;
//! let role = ms.app_token(&tenant.admin.tenant_id).await?;  // proves the app role
//! ```
//! `read_tenant` is `exchange_code` → `validate_id_token` → `organization` → `admin_api_token` →
//! `authorities` → `contracts`; each is public for callers that need the steps one by one.
//! A tenant without Verified ID ends in [`MicrosoftError::VerifiedIdNotSetUp`], whether the token
//! request for the admin API fails (`invalid_resource`, AADSTS500011) or the authority list is empty.
//! Calls that are safe to repeat are retried on 429/5xx within a [`RetryPolicy`].
//!
//! # Verify (ask a person for a presentation)
//! `app_token(&tenant)` (client credentials; refused with [`MicrosoftError::MissingRole`] when
//! the token lacks `VerifiableCredential.Create.All`/`.PresentRequest`) →
//! `create_presentation_request(&app_token, &PresentationRequest::new(..))` → [`CreatedRequest`].
//! Microsoft then POSTs callbacks; [`Callback::parse`] turns a body into a [`CallbackEvent`].
//!
//! # Account recovery (groundwork, issue 21)
//! `ms.recovery(recovery_credentials)` → [`RecoveryClient`]: `find_user_by_email` →
//! [`UserLookup`], `holds_directory_role`, `issue_temporary_access_pass` → [`IssuedPass`]
//! (its [`TemporaryAccessPass`] never prints), each refusal a [`RecoveryError`].
//!
//! # Errors
//! One enum, [`MicrosoftError`]; [`MicrosoftError::step`] names the failing [`Step`] and
//! `Display` is a sentence a person can read. Tokens and secrets never appear in errors, in
//! `Debug` output ([`Token`], [`ClientCredentials`]) or in tracing spans.

mod app_only;
mod callback;
mod client;
mod connect;
mod contract;
mod error;
mod id_token;
mod ids;
mod recovery;
mod retry;
mod sign_in;
mod token_key;
mod verified_id;

use std::fmt;

use url::Url;

pub use app_only::GRAPH_ORGANIZATION_READ_ALL;
pub use callback::{
    Callback, CallbackEvent, ErrorInfo, FaceCheckResult, Presentation, Receipt, RevocationStatus,
    VerifiedCredential,
};
pub use client::{
    AuthorizationRequest, DelegatedToken, IdTokenClaims, MicrosoftClient, Organization, TokenSet,
    VerifiedDomain,
};
pub use connect::{ADMIN_CONSENT_SCOPE, AuthorityOffer, ConnectedTenant, ConsentRequest};
pub use contract::{
    Attestation, ClaimSource, Contract, EmailSource, OwnEntra, weakest as contract_weakest,
};
pub use error::{IdTokenProblem, InnerError, MicrosoftError, Step};
pub use ids::{CredentialType, Did, IdParseError, TenantId, Token};
pub use recovery::{
    DirectoryUser, DirectoryUserId, GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL,
    GRAPH_USER_READ_ALL, IssuedPass, PassLifetime, PassRequest, RecoveryClient, RecoveryError,
    TemporaryAccessPass, UserLookup,
};
pub use retry::RetryPolicy;
pub use sign_in::{PendingSignIn, SIGN_IN_SCOPES, SignInRequest};
pub use token_key::{TOKEN_KEY_VAR, TokenKey};
pub use verified_id::{
    AppToken, Authority, CreatedRequest, FaceCheck, LinkedDomain, PresentationCallback,
    PresentationRequest, Registration, RequestedCredential,
};

/// Delegated Graph permission used at sign-in to read `/organization`.
pub const GRAPH_USER_READ: &str = "https://graph.microsoft.com/User.Read";
/// Application id of the Verifiable Credentials Service Admin (the admin API).
pub const VERIFIED_ID_ADMIN_APP: &str = "6a8b4b39-c021-437c-b060-5a14a3fd65f3";
/// Application id of the Verifiable Credentials Service Request (the request service).
pub const VERIFIED_ID_REQUEST_APP: &str = "3db474b9-6a0c-4840-96ac-1fceb342124f";
/// App roles that allow `createPresentationRequest`.
pub const PRESENTATION_ROLES: [&str; 2] = [
    "VerifiableCredential.Create.All",
    "VerifiableCredential.Create.PresentRequest",
];

/// Base URLs of the three Microsoft hosts. Paths are appended, so a base with a path prefix
/// (the emulator's `http://127.0.0.1:4000/login`) works with or without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrosoftEndpoints {
    login: Url,
    graph: Url,
    verified_id: Url,
}

impl MicrosoftEndpoints {
    /// The real services.
    pub fn microsoft() -> MicrosoftEndpoints {
        MicrosoftEndpoints::new(
            "https://login.microsoftonline.com",
            "https://graph.microsoft.com",
            "https://verifiedid.did.msidentity.com",
        )
        .expect("Microsoft's base URLs are valid")
    }

    /// From three base URLs (e.g. the emulator's `login_url()`, `graph_url()`, `verified_id_url()`).
    pub fn new(
        login: &str,
        graph: &str,
        verified_id: &str,
    ) -> Result<MicrosoftEndpoints, MicrosoftError> {
        Ok(MicrosoftEndpoints {
            login: base_url("login", login)?,
            graph: base_url("graph", graph)?,
            verified_id: base_url("verified_id", verified_id)?,
        })
    }

    pub fn login(&self) -> &Url {
        &self.login
    }
    pub fn graph(&self) -> &Url {
        &self.graph
    }
    pub fn verified_id(&self) -> &Url {
        &self.verified_id
    }

    /// The ID-token issuer of a tenant: `{login}/{tid}/v2.0`.
    pub fn issuer(&self, tenant: &TenantId) -> String {
        format!("{}/{tenant}/v2.0", trimmed(&self.login))
    }

    pub(crate) fn login_at(&self, path: &str) -> Url {
        join(&self.login, path)
    }
    pub(crate) fn graph_at(&self, path: &str) -> Url {
        join(&self.graph, path)
    }
    pub(crate) fn verified_id_at(&self, path: &str) -> Url {
        join(&self.verified_id, path)
    }
}

fn base_url(name: &str, s: &str) -> Result<Url, MicrosoftError> {
    let bad = |why: &str| MicrosoftError::InvalidConfiguration(format!("{name} base URL: {why}"));
    let url = Url::parse(s).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("must not carry a query, fragment or credentials"));
    }
    Ok(url)
}

fn trimmed(base: &Url) -> &str {
    base.as_str().trim_end_matches('/')
}

/// `base` + `/` + `path`, keeping the base's own path prefix. Paths here are built from
/// constants and parsed ids (GUIDs, `organizations`), never from raw input.
fn join(base: &Url, path: &str) -> Url {
    Url::parse(&format!(
        "{}/{}",
        trimmed(base),
        path.trim_start_matches('/')
    ))
    .expect("a valid base URL plus a plain path is a valid URL")
}

/// The app registration's credentials. The secret never shows in `Debug`.
#[derive(Clone)]
pub struct ClientCredentials {
    client_id: String,
    client_secret: String,
}

impl ClientCredentials {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn client_secret(&self) -> &str {
        &self.client_secret
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining_keeps_a_base_path_with_or_without_a_trailing_slash() {
        for login in [
            "http://127.0.0.1:4000/login",
            "http://127.0.0.1:4000/login/",
        ] {
            let e = MicrosoftEndpoints::new(login, "http://h/graph", "http://h/vid").unwrap();
            assert_eq!(
                e.login_at("organizations/oauth2/v2.0/token").as_str(),
                "http://127.0.0.1:4000/login/organizations/oauth2/v2.0/token"
            );
            let t = TenantId::parse("84841066-274d-4ec0-a5c1-276be684bdd3").unwrap();
            assert_eq!(
                e.issuer(&t),
                "http://127.0.0.1:4000/login/84841066-274d-4ec0-a5c1-276be684bdd3/v2.0"
            );
        }
        let ms = MicrosoftEndpoints::microsoft();
        assert_eq!(
            ms.graph_at("/v1.0/organization").as_str(),
            "https://graph.microsoft.com/v1.0/organization"
        );
        let t = TenantId::parse("84841066-274d-4ec0-a5c1-276be684bdd3").unwrap();
        assert_eq!(
            ms.issuer(&t),
            "https://login.microsoftonline.com/84841066-274d-4ec0-a5c1-276be684bdd3/v2.0"
        );
    }

    #[test]
    fn odd_base_urls_are_refused() {
        for bad in [
            "not a url",
            "ftp://h/",
            "http://h/?x=1",
            "http://h/#f",
            "http://u:p@h/",
        ] {
            assert!(
                matches!(
                    MicrosoftEndpoints::new(bad, "http://h", "http://h"),
                    Err(MicrosoftError::InvalidConfiguration(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_client_secret_is_not_in_debug() {
        let c = ClientCredentials::new("app", "s3cr3t");
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
