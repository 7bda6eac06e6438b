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
use super::ids::{TenantId, Token};
use super::retry::{Failed, RetryPolicy, retry_after, retrying};
use super::{ClientCredentials, GRAPH_USER_READ, MicrosoftEndpoints, VERIFIED_ID_ADMIN_APP};

/// Talks to Microsoft (or the emulator) for one app registration. Cheap to clone.
#[derive(Clone)]
pub struct MicrosoftClient {
    pub(crate) endpoints: MicrosoftEndpoints,
    pub(crate) credentials: ClientCredentials,
    pub(crate) http: reqwest::Client,
    pub(crate) jwks: Arc<Mutex<HashMap<TenantId, super::id_token::CachedKeys>>>,
    /// App tokens per tenant, reused until shortly before they expire.
    pub(crate) app_tokens: Arc<Mutex<HashMap<TenantId, super::verified_id::AppToken>>>,
    pub(crate) retry: RetryPolicy,
    /// In the service-provider pattern, the app registration that acts in our own tenant
    /// (request-service app tokens, reading our own authority), when customers consent to
    /// another one (`credentials`).
    pub(crate) own_tenant_credentials: Option<ClientCredentials>,
    /// How long connect waits for a fresh admin consent to reach the token endpoint.
    pub(crate) consent_wait: Duration,
    /// Seals the connecting administrator's refresh token at rest (`token_key`); `None`: none
    /// is kept, and the authority is re-read only when an administrator signs in.
    pub(crate) token_key: Option<super::TokenKey>,
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
    /// The tenant segment of the authorize URL; the code is redeemed at the same one
    /// (Microsoft refuses a code redeemed at another tenant's endpoint: AADSTS700005).
    pub token_tenant: String,
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

/// A delegated admin-API token and the refresh token that replaces the one redeemed.
#[derive(Debug, Clone)]
pub struct DelegatedToken {
    pub access_token: Token,
    /// `None` only if Microsoft sent none (it does whenever `offline_access` was consented).
    pub refresh_token: Option<Token>,
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
    /// The optional claim `xms_edov` (optional-claims-reference): Microsoft vouches that the
    /// owner of `email`'s domain is verified. Absent counts as not vouched.
    pub email_domain_verified: bool,
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

pub(crate) type MsTokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

pub(crate) type OAuthClient<HasAuthUrl> = oauth2::Client<
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
/// tells a refusal (4xx) from an outage (5xx); each token call is counted and timed under its
/// step, like every other call to Microsoft (`observe::microsoft_call`).
struct RecordingHttp<'a> {
    http: &'a reqwest::Client,
    step: Step,
    status: Mutex<Option<u16>>,
    retry_after: Mutex<Option<Duration>>,
}

impl<'c> AsyncHttpClient<'c> for RecordingHttp<'_> {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let answered = self.http.call(request).await;
            let ok = answered
                .as_ref()
                .is_ok_and(|response| response.status().is_success());
            crate::observe::microsoft_call(self.step.label(), ok, started.elapsed());
            let response = answered?;
            *self.status.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(response.status().as_u16());
            *self.retry_after.lock().unwrap_or_else(|p| p.into_inner()) =
                retry_after(response.headers());
            Ok(response)
        })
    }
}

impl<'a> RecordingHttp<'a> {
    fn new(http: &'a reqwest::Client, step: Step) -> Self {
        RecordingHttp {
            http,
            step,
            status: Mutex::new(None),
            retry_after: Mutex::new(None),
        }
    }
    fn status(&self) -> Option<u16> {
        *self.status.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn failed(&self, error: MicrosoftError) -> Failed {
        Failed {
            error,
            retry_after: *self.retry_after.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

pub(crate) fn random_token() -> String {
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
            app_tokens: Arc::default(),
            retry: RetryPolicy::INTERACTIVE,
            own_tenant_credentials: None,
            consent_wait: Self::DEFAULT_CONSENT_WAIT,
            token_key: None,
        })
    }

    /// The same client, minting request-service app tokens (and reading our own tenant's
    /// authorities) as `own` instead: customers consent to this client's app registration,
    /// which then needs no request-service role (issue 17, least privilege in provider mode).
    pub fn with_own_tenant_app(mut self, own: ClientCredentials) -> MicrosoftClient {
        self.own_tenant_credentials = Some(own);
        self
    }

    /// The app registration that acts in our own tenant.
    pub(crate) fn own_tenant_credentials(&self) -> &ClientCredentials {
        self.own_tenant_credentials
            .as_ref()
            .unwrap_or(&self.credentials)
    }

    pub const DEFAULT_CONSENT_WAIT: Duration = Duration::from_secs(60);

    /// The same client with another consent propagation window (see `integrations::consent`).
    pub fn with_consent_wait(mut self, wait: Duration) -> MicrosoftClient {
        self.consent_wait = wait;
        self
    }

    /// How long connect waits for a fresh admin consent to reach the token endpoint.
    pub fn consent_wait(&self) -> Duration {
        self.consent_wait
    }

    /// The same client, keeping the connecting administrator's refresh token sealed with `key`
    /// (see `integrations::admin_token`).
    pub fn with_token_key(mut self, key: Option<super::TokenKey>) -> MicrosoftClient {
        self.token_key = key;
        self
    }

    /// The key refresh tokens are sealed with, if any.
    pub fn token_key(&self) -> Option<&super::TokenKey> {
        self.token_key.as_ref()
    }

    /// The same client with another retry policy (tests that must see the first answer).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> MicrosoftClient {
        self.retry = retry;
        self
    }

    pub fn endpoints(&self) -> &MicrosoftEndpoints {
        &self.endpoints
    }

    pub fn client_id(&self) -> &str {
        self.credentials.client_id()
    }

    pub(crate) fn oauth_client(&self, token_tenant: &str) -> OAuthClient<EndpointNotSet> {
        self.oauth_client_as(&self.credentials, token_tenant)
    }

    fn oauth_client_as(
        &self,
        credentials: &ClientCredentials,
        token_tenant: &str,
    ) -> OAuthClient<EndpointNotSet> {
        oauth2::Client::new(ClientId::new(credentials.client_id().to_string()))
            .set_client_secret(ClientSecret::new(credentials.client_secret().to_string()))
            // client_secret_post, as Microsoft documents it.
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::from_url(
                self.endpoints
                    .login_at(&format!("{token_tenant}/oauth2/v2.0/token")),
            ))
    }

    /// The sign-in that follows the admin consent: authorization code with PKCE (S256) and a
    /// nonce, at the tenant that consented when it is known (so Microsoft's single sign-on
    /// picks the same account and answers without a page), otherwise `organizations`.
    ///
    /// No `prompt=consent`: the grants come from the admin consent endpoint (see
    /// `admin_consent_request`); the scopes asked here are all among the app's static delegated
    /// permissions the administrator just granted, so Microsoft shows nothing more.
    pub fn authorization_request(
        &self,
        tenant: Option<&TenantId>,
        redirect_uri: &Url,
    ) -> AuthorizationRequest {
        self.authorization_request_prompting(tenant, redirect_uri, None)
    }

    /// `authorization_request` with a `prompt`: `select_account` makes Microsoft show its
    /// account picker even when someone is signed in (v2-oauth2-auth-code-flow), for "Sign in
    /// with another account".
    pub fn authorization_request_prompting(
        &self,
        tenant: Option<&TenantId>,
        redirect_uri: &Url,
        prompt: Option<&str>,
    ) -> AuthorizationRequest {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = random_token();
        let state = random_token();
        let path_tenant = tenant.map_or("organizations", TenantId::as_str);
        let (mut url, _) = self
            .oauth_client(path_tenant)
            .set_auth_uri(AuthUrl::from_url(
                self.endpoints
                    .login_at(&format!("{path_tenant}/oauth2/v2.0/authorize")),
            ))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
            .authorize_url(|| CsrfToken::new(state.clone()))
            .add_scopes(
                ["openid", "profile", "offline_access", GRAPH_USER_READ]
                    .map(|s| Scope::new(s.to_string())),
            )
            .set_pkce_challenge(challenge)
            .add_extra_param("response_mode", "query")
            .add_extra_param("nonce", &nonce)
            .url();
        if let Some(prompt) = prompt {
            url.query_pairs_mut().append_pair("prompt", prompt);
        }
        AuthorizationRequest {
            url,
            state,
            pkce_verifier: verifier.into_secret(),
            nonce,
            token_tenant: path_tenant.to_owned(),
        }
    }

    /// Redeems the authorization code (with the PKCE verifier) for Graph, ID and refresh tokens.
    #[instrument(skip_all, fields(redirect_uri = %redirect_uri))]
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &Url,
        token_tenant: &str,
    ) -> Result<TokenSet, MicrosoftError> {
        let step = Step::CodeExchange;
        let (response, id_token) = self
            .redeem_code(code, pkce_verifier, redirect_uri, token_tenant)
            .await?;
        let refresh_token = response.refresh_token().ok_or_else(|| {
            MicrosoftError::malformed(step, "no refresh_token in the token response")
        })?;
        Ok(TokenSet {
            access_token: Token::new(response.access_token().secret().clone()),
            id_token,
            refresh_token: Token::new(refresh_token.secret().clone()),
            expires_at: expires_at(&response),
        })
    }

    /// Redeems an authorization code (with its PKCE verifier): the token response and the ID
    /// token in it, which every sign-in asks for (`openid`).
    pub(crate) async fn redeem_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        redirect_uri: &Url,
        token_tenant: &str,
    ) -> Result<(MsTokenResponse, Token), MicrosoftError> {
        let step = Step::CodeExchange;
        let client = self
            .oauth_client(token_tenant)
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        let http = RecordingHttp::new(&self.http, step);
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
        Ok((response, Token::new(id_token)))
    }

    /// A delegated token for the Verified ID admin API (`full_access`), minted from a refresh
    /// token (the sign-in's, or the one kept for the daily re-read), with the refresh token
    /// Microsoft returns in its place: keep that one and forget the one used (refresh-tokens:
    /// "Refresh tokens replace themselves with a fresh token upon every use"). A tenant without
    /// Verified ID gives `VerifiedIdNotSetUp`; a refresh token Microsoft no longer honours
    /// (`invalid_grant`: expired, revoked) gives `Rejected` with `is_dead_grant()`.
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn admin_api_token(
        &self,
        refresh_token: &Token,
        tenant: &TenantId,
    ) -> Result<DelegatedToken, MicrosoftError> {
        let step = Step::AdminApiToken;
        let refresh = RefreshToken::new(refresh_token.expose().to_string());
        let scope = Scope::new(format!("{VERIFIED_ID_ADMIN_APP}/full_access"));
        let response = retrying(self.retry, || async {
            let http = RecordingHttp::new(&self.http, step);
            let result = self
                .oauth_client(tenant.as_str())
                .exchange_refresh_token(&refresh)
                .add_scope(scope.clone())
                .request_async(&http)
                .await;
            result.map_err(|e| {
                http.failed(match map_oauth_error(step, http.status(), e) {
                    // v2-oauth2-auth-code-flow (refresh): a refresh token is good only for
                    // permissions already consented; AADSTS65001 says this one never was.
                    MicrosoftError::Rejected { description, .. }
                        if description.starts_with("AADSTS65001") =>
                    {
                        MicrosoftError::ConsentMissing {
                            permission: "Verifiable Credentials Service Admin: full_access (delegated)",
                        }
                    }
                    other => other,
                })
            })
        })
        .await?;
        Ok(DelegatedToken {
            access_token: Token::new(response.access_token().secret().clone()),
            refresh_token: response
                .refresh_token()
                .map(|r| Token::new(r.secret().clone())),
        })
    }

    /// Client-credentials token for `scope` in `tenant` (the raw response; see `app_token`).
    pub(crate) async fn client_credentials(
        &self,
        step: Step,
        tenant: &TenantId,
        scope: &str,
    ) -> Result<(Token, Option<OffsetDateTime>), MicrosoftError> {
        self.client_credentials_as(&self.credentials, step, tenant, scope)
            .await
    }

    /// `client_credentials` as another app registration (see `with_own_tenant_app`).
    pub(crate) async fn client_credentials_as(
        &self,
        credentials: &ClientCredentials,
        step: Step,
        tenant: &TenantId,
        scope: &str,
    ) -> Result<(Token, Option<OffsetDateTime>), MicrosoftError> {
        let response = retrying(self.retry, || async {
            let http = RecordingHttp::new(&self.http, step);
            let result = self
                .oauth_client_as(credentials, tenant.as_str())
                .exchange_client_credentials()
                .add_scope(Scope::new(scope.to_string()))
                .request_async(&http)
                .await;
            result.map_err(|e| http.failed(map_oauth_error(step, http.status(), e)))
        })
        .await?;
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

    /// Sends a request and reads a JSON answer of the `expected` status; everything else is
    /// mapped to a `MicrosoftError` for `step`.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        step: Step,
        request: reqwest::RequestBuilder,
        expected: StatusCode,
    ) -> Result<T, MicrosoftError> {
        let request = request.header(reqwest::header::ACCEPT, "application/json");
        retrying(self.retry, || async {
            let attempt = request
                .try_clone()
                .expect("Microsoft request bodies are in memory");
            self.send_json_once(step, attempt, expected).await
        })
        .await
    }

    async fn send_json_once<T: DeserializeOwned>(
        &self,
        step: Step,
        request: reqwest::RequestBuilder,
        expected: StatusCode,
    ) -> Result<T, Failed> {
        let started = std::time::Instant::now();
        let answered = self.send_json_try(step, request, expected).await;
        crate::observe::microsoft_call(step.label(), answered.is_ok(), started.elapsed());
        answered
    }

    async fn send_json_try<T: DeserializeOwned>(
        &self,
        step: Step,
        request: reqwest::RequestBuilder,
        expected: StatusCode,
    ) -> Result<T, Failed> {
        let started = std::time::Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| MicrosoftError::transport(step, &e))?;
        let status = response.status();
        let hint = retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| MicrosoftError::transport(step, &e))?;
        tracing::debug!(%step, status = status.as_u16(), latency_ms = started.elapsed().as_millis() as u64, "Microsoft answered");
        if status != expected {
            if status.is_success() {
                return Err(MicrosoftError::malformed(
                    step,
                    format!("expected HTTP {expected}, got {status}"),
                )
                .into());
            }
            return Err(Failed {
                error: MicrosoftError::from_status(step, status.as_u16(), &body),
                retry_after: hint,
            });
        }
        serde_json::from_slice(&body).map_err(|e| MicrosoftError::malformed(step, e).into())
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

/// A client for unit tests: nothing listens at its base URLs.
#[cfg(test)]
pub(crate) fn test_client() -> MicrosoftClient {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> MicrosoftClient {
        test_client()
    }

    #[test]
    fn each_sign_in_has_fresh_secrets_and_keeps_them_out_of_the_url_and_debug() {
        let redirect = Url::parse("http://127.0.0.1:3000/auth/microsoft/callback").unwrap();
        let a = client().authorization_request(None, &redirect);
        let q: HashMap<String, String> = a.url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "5f0c7a3e-9d1b-4c2a-8e6f-2b7d9a1c4e80");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], redirect.as_str());
        assert_eq!(q["state"], a.state);
        assert!(!q.values().any(|v| v == &a.pkce_verifier));
        assert_eq!(a.state.len(), 43);
        assert_eq!(a.nonce.len(), 43);
        let b = client().authorization_request(None, &redirect);
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, b.nonce);
        assert!(!format!("{a:?}").contains(&a.pkce_verifier));
    }
}
