//! `MicrosoftClient`: the HTTP side of the connect flow (sign-in with PKCE, code exchange,
//! Graph `/organization`, delegated admin-API token) and the plumbing shared by all calls.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpClientError, HttpRequest, HttpResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use rand::RngCore;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tracing::instrument;
use url::Url;

use super::error::{MicrosoftError, Step};
use super::ids::{CredentialType, TenantId, Token};
use super::verified_id::Authority;
use super::{ClientCredentials, GRAPH_USER_READ, MicrosoftEndpoints, VERIFIED_ID_ADMIN_APP};

/// Talks to Microsoft (or the emulator) for one app registration. Cheap to clone.
#[derive(Clone)]
pub struct MicrosoftClient {
    pub(crate) endpoints: MicrosoftEndpoints,
    pub(crate) credentials: ClientCredentials,
    pub(crate) http: reqwest::Client,
    pub(crate) jwks: Arc<Mutex<HashMap<TenantId, super::id_token::CachedKeys>>>,
}

impl fmt::Debug for MicrosoftClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MicrosoftClient")
            .field("endpoints", &self.endpoints)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// Where to send the admin, and what to remember (bound to their session) until they return.
pub struct AuthorizationRequest {
    /// `{login}/organizations/oauth2/v2.0/authorize?...` with PKCE (S256) and `prompt=consent`.
    pub url: Url,
    /// 256 random bits; must come back unchanged as `state`.
    pub state: String,
    /// The PKCE verifier for `exchange_code`. Secret.
    pub pkce_verifier: String,
    /// 256 random bits; the ID token must carry it.
    pub nonce: String,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url.path())
            .field("state", &"<redacted>")
            .field("pkce_verifier", &"<redacted>")
            .field("nonce", &"<redacted>")
            .finish()
    }
}

/// Tokens from the code exchange. `Token` keeps them out of `Debug`.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// Delegated Microsoft Graph token (`User.Read`).
    pub access_token: Token,
    pub id_token: Token,
    /// Present because we ask for `offline_access`; mints the admin-API token.
    pub refresh_token: Token,
    pub expires_at: Option<OffsetDateTime>,
}

/// The validated ID token: who signed in, and in which tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub tenant_id: TenantId,
    /// The user's immutable object id in the tenant.
    pub oid: String,
    pub name: Option<String>,
    /// The UPN; for display only.
    pub preferred_username: Option<String>,
    pub email: Option<String>,
}

/// The tenant as Graph describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: TenantId,
    pub display_name: String,
    pub verified_domains: Vec<VerifiedDomain>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDomain {
    /// Lower-cased, e.g. `contoso.com`.
    pub name: String,
    pub is_default: bool,
    pub is_initial: bool,
}

/// Everything the connect flow learns, once every step succeeded.
#[derive(Debug, Clone)]
pub struct ConnectedTenant {
    pub admin: IdTokenClaims,
    pub organization: Organization,
    /// The tenant's (first) Verified ID authority.
    pub authority: Authority,
    /// Credential types of the authority's contracts (`rules.vc.type`), de-duplicated.
    pub credential_types: Vec<CredentialType>,
}

/// `id_token` next to the standard token fields.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdTokenField(<redacted>)")
    }
}

impl ExtraTokenFields for IdTokenField {}

type MsTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

type OAuthClient<HasAuthUrl> = oauth2::Client<
    BasicErrorResponse,
    MsTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Hands oauth2 our reqwest client and remembers the HTTP status, which oauth2 drops but which
/// tells a refusal (4xx) from an outage (5xx).
struct RecordingHttp<'a> {
    http: &'a reqwest::Client,
    status: Mutex<Option<u16>>,
}

impl<'c> AsyncHttpClient<'c> for RecordingHttp<'_> {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.http.call(request).await?;
            *self.status.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(response.status().as_u16());
            Ok(response)
        })
    }
}

impl<'a> RecordingHttp<'a> {
    fn new(http: &'a reqwest::Client) -> Self {
        RecordingHttp {
            http,
            status: Mutex::new(None),
        }
    }
    fn status(&self) -> Option<u16> {
        *self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl MicrosoftClient {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn new(
        endpoints: MicrosoftEndpoints,
        credentials: ClientCredentials,
    ) -> Result<MicrosoftClient, MicrosoftError> {
        MicrosoftClient::with_timeout(endpoints, credentials, Self::DEFAULT_TIMEOUT)
    }

    /// `timeout` bounds each HTTP request (connect + answer).
    pub fn with_timeout(
        endpoints: MicrosoftEndpoints,
        credentials: ClientCredentials,
        timeout: Duration,
    ) -> Result<MicrosoftClient, MicrosoftError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // oauth2 requires it (no code or token may follow a redirect), and Microsoft's APIs
            // answer directly.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("traceless/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MicrosoftError::InvalidConfiguration(e.to_string()))?;
        Ok(MicrosoftClient {
            endpoints,
            credentials,
            http,
            jwks: Arc::default(),
        })
    }

    pub fn endpoints(&self) -> &MicrosoftEndpoints {
        &self.endpoints
    }

    pub fn client_id(&self) -> &str {
        self.credentials.client_id()
    }

    fn oauth_client(&self, token_tenant: &str) -> OAuthClient<EndpointNotSet> {
        oauth2::Client::new(ClientId::new(self.credentials.client_id().to_string()))
            .set_client_secret(ClientSecret::new(
                self.credentials.client_secret().to_string(),
            ))
            // client_secret_post, as Microsoft documents it.
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::from_url(
                self.endpoints
                    .login_at(&format!("{token_tenant}/oauth2/v2.0/token")),
            ))
    }

    /// The sign-in URL for an org admin: multi-tenant (`organizations`), authorization code with
    /// PKCE (S256), `prompt=consent` so the admin consents for the whole tenant, and a nonce.
    pub fn authorization_request(&self, redirect_uri: &Url) -> AuthorizationRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = random_token();
        let state = random_token();
        let (url, _) = self
            .oauth_client("organizations")
            .set_auth_uri(AuthUrl::from_url(
                self.endpoints
                    .login_at("organizations/oauth2/v2.0/authorize"),
            ))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
            .authorize_url(|| CsrfToken::new(state.clone()))
            .add_scopes(
                ["openid", "profile", "offline_access", GRAPH_USER_READ]
                    .map(|s| Scope::new(s.to_string())),
            )
            .set_pkce_challenge(challenge)
            .add_extra_param("response_mode", "query")
            .add_extra_param("prompt", "consent")
            .add_extra_param("nonce", &nonce)
            .url();
        AuthorizationRequest {
            url,
            state,
            pkce_verifier: verifier.into_secret(),
            nonce,
        }
    }

    /// Redeems the authorization code (with the PKCE verifier) for Graph, ID and refresh tokens.
    #[instrument(skip_all, fields(redirect_uri = %redirect_uri))]
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &Url,
    ) -> Result<TokenSet, MicrosoftError> {
        let step = Step::CodeExchange;
        let client = self
            .oauth_client("organizations")
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        let http = RecordingHttp::new(&self.http);
        let result = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&http)
            .await;
        let response = result.map_err(|e| map_oauth_error(step, http.status(), e))?;
        let id_token =
            response.extra_fields().id_token.clone().ok_or_else(|| {
                MicrosoftError::malformed(step, "no id_token in the token response")
            })?;
        let refresh_token = response.refresh_token().ok_or_else(|| {
            MicrosoftError::malformed(step, "no refresh_token in the token response")
        })?;
        Ok(TokenSet {
            access_token: Token::new(response.access_token().secret().clone()),
            id_token: Token::new(id_token),
            refresh_token: Token::new(refresh_token.secret().clone()),
            expires_at: expires_at(&response),
        })
    }

    /// A delegated token for the Verified ID admin API (`full_access`), minted from the sign-in's
    /// refresh token. A tenant without Verified ID gives `VerifiedIdNotSetUp`.
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn admin_api_token(
        &self,
        refresh_token: &Token,
        tenant: &TenantId,
    ) -> Result<Token, MicrosoftError> {
        let step = Step::AdminApiToken;
        let http = RecordingHttp::new(&self.http);
        let refresh = RefreshToken::new(refresh_token.expose().to_string());
        let result = self
            .oauth_client(tenant.as_str())
            .exchange_refresh_token(&refresh)
            .add_scope(Scope::new(format!("{VERIFIED_ID_ADMIN_APP}/full_access")))
            .request_async(&http)
            .await;
        let response = result.map_err(|e| map_oauth_error(step, http.status(), e))?;
        Ok(Token::new(response.access_token().secret().clone()))
    }

    /// Client-credentials token for `scope` in `tenant` (the raw response; see `app_token`).
    pub(crate) async fn client_credentials(
        &self,
        step: Step,
        tenant: &TenantId,
        scope: &str,
    ) -> Result<(Token, Option<OffsetDateTime>), MicrosoftError> {
        let http = RecordingHttp::new(&self.http);
        let result = self
            .oauth_client(tenant.as_str())
            .exchange_client_credentials()
            .add_scope(Scope::new(scope.to_string()))
            .request_async(&http)
            .await;
        let response = result.map_err(|e| map_oauth_error(step, http.status(), e))?;
        Ok((
            Token::new(response.access_token().secret().clone()),
            expires_at(&response),
        ))
    }

    /// The signed-in admin's tenant from Graph `GET /v1.0/organization` (delegated `User.Read`).
    #[instrument(skip_all)]
    pub async fn organization(&self, access_token: &Token) -> Result<Organization, MicrosoftError> {
        #[derive(Deserialize)]
        struct List {
            value: Vec<RawOrganization>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RawOrganization {
            id: TenantId,
            #[serde(default)]
            display_name: Option<String>,
            #[serde(default)]
            verified_domains: Vec<RawDomain>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RawDomain {
            name: String,
            #[serde(default)]
            is_default: bool,
            #[serde(default)]
            is_initial: bool,
        }

        let step = Step::Graph;
        let mut url = self.endpoints.graph_at("v1.0/organization");
        url.query_pairs_mut()
            .append_pair("$select", "id,displayName,verifiedDomains");
        let list: List = self
            .send_json(
                step,
                self.http.get(url).bearer_auth(access_token.expose()),
                StatusCode::OK,
            )
            .await?;
        let mut orgs = list.value.into_iter();
        let (Some(org), None) = (orgs.next(), orgs.next()) else {
            return Err(MicrosoftError::malformed(
                step,
                "expected exactly one organization",
            ));
        };
        Ok(Organization {
            id: org.id,
            display_name: org.display_name.unwrap_or_default(),
            verified_domains: org
                .verified_domains
                .into_iter()
                .map(|d| VerifiedDomain {
                    name: d.name.trim_end_matches('.').to_ascii_lowercase(),
                    is_default: d.is_default,
                    is_initial: d.is_initial,
                })
                .collect(),
        })
    }

    /// The whole connect flow after Microsoft redirected back with a code: exchange it, validate
    /// the ID token, read the verified domains, find the Verified ID authority and its
    /// credential types. Succeeds only if every step did.
    #[instrument(skip_all)]
    pub async fn connect(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &Url,
        nonce: &str,
    ) -> Result<ConnectedTenant, MicrosoftError> {
        let tokens = self
            .exchange_code(code, pkce_verifier, redirect_uri)
            .await?;
        let admin = self.validate_id_token(&tokens.id_token, nonce).await?;
        let organization = self.organization(&tokens.access_token).await?;
        if organization.id != admin.tenant_id {
            return Err(MicrosoftError::malformed(
                Step::Graph,
                "the organization is not the tenant the admin signed in to",
            ));
        }
        let admin_token = self
            .admin_api_token(&tokens.refresh_token, &admin.tenant_id)
            .await?;
        let authority = self
            .authorities(&admin_token)
            .await?
            .into_iter()
            .next()
            .ok_or(MicrosoftError::VerifiedIdNotSetUp)?;
        let mut credential_types: Vec<CredentialType> = Vec::new();
        for contract in self.contracts(&admin_token, &authority.id).await? {
            for t in contract.credential_types {
                if !credential_types.contains(&t) {
                    credential_types.push(t);
                }
            }
        }
        tracing::info!(tenant = %admin.tenant_id, did = %authority.did, "Microsoft tenant connected");
        Ok(ConnectedTenant {
            admin,
            organization,
            authority,
            credential_types,
        })
    }

    /// Sends a request and reads a JSON answer of the `expected` status; everything else is
    /// mapped to a `MicrosoftError` for `step`.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        step: Step,
        request: reqwest::RequestBuilder,
        expected: StatusCode,
    ) -> Result<T, MicrosoftError> {
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| MicrosoftError::transport(step, &e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| MicrosoftError::transport(step, &e))?;
        if status != expected {
            if status.is_success() {
                return Err(MicrosoftError::malformed(
                    step,
                    format!("expected HTTP {expected}, got {status}"),
                ));
            }
            return Err(MicrosoftError::from_status(step, status.as_u16(), &body));
        }
        serde_json::from_slice(&body).map_err(|e| MicrosoftError::malformed(step, e))
    }
}

fn expires_at(response: &MsTokenResponse) -> Option<OffsetDateTime> {
    response
        .expires_in()
        .and_then(|d| time::Duration::try_from(d).ok())
        .map(|d| OffsetDateTime::now_utc() + d)
}

/// oauth2's error, with the status we recorded, as a `MicrosoftError`.
fn map_oauth_error(
    step: Step,
    status: Option<u16>,
    e: RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>,
) -> MicrosoftError {
    let failed = status.filter(|s| *s != 200);
    match e {
        RequestTokenError::Request(HttpClientError::Reqwest(e)) => {
            MicrosoftError::transport(step, &e)
        }
        RequestTokenError::Request(_) => MicrosoftError::Unavailable { step, status: None },
        RequestTokenError::ServerResponse(err) => {
            let body = serde_json::json!({
                "error": err.error().as_ref(),
                "error_description": err.error_description(),
            });
            MicrosoftError::from_status(step, failed.unwrap_or(400), body.to_string().as_bytes())
        }
        RequestTokenError::Parse(e, body) => match failed {
            Some(s) => MicrosoftError::from_status(step, s, &body),
            // The path names the field; the error text never contains the token itself.
            None => MicrosoftError::malformed(step, format!("token response: {}", e.path())),
        },
        RequestTokenError::Other(detail) => match failed {
            Some(s) => MicrosoftError::from_status(step, s, b""),
            None => MicrosoftError::malformed(step, detail),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> MicrosoftClient {
        MicrosoftClient::new(
            MicrosoftEndpoints::new(
                "http://127.0.0.1:9/login",
                "http://127.0.0.1:9/graph",
                "http://127.0.0.1:9/verifiedid",
            )
            .unwrap(),
            ClientCredentials::new("5f0c7a3e-9d1b-4c2a-8e6f-2b7d9a1c4e80", "secret"),
        )
        .unwrap()
    }

    #[test]
    fn the_authorization_url_asks_for_consent_with_pkce_and_a_nonce() {
        let redirect = Url::parse("http://127.0.0.1:3000/auth/microsoft/callback").unwrap();
        let a = client().authorization_request(&redirect);
        assert_eq!(a.url.path(), "/login/organizations/oauth2/v2.0/authorize");
        let q: HashMap<String, String> = a.url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "5f0c7a3e-9d1b-4c2a-8e6f-2b7d9a1c4e80");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], redirect.as_str());
        assert_eq!(
            q["scope"],
            "openid profile offline_access https://graph.microsoft.com/User.Read"
        );
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], a.state);
        assert_eq!(q["nonce"], a.nonce);
        assert!(!q.values().any(|v| v == &a.pkce_verifier));
        // 256 bits, base64url.
        assert_eq!(a.state.len(), 43);
        assert_eq!(a.nonce.len(), 43);
        let b = client().authorization_request(&redirect);
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, b.nonce);
        assert!(!format!("{a:?}").contains(&a.pkce_verifier));
    }
}
