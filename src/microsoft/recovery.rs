//! Account recovery's calls to Microsoft Graph (issue 21, groundwork): find the one user an
//! email names, tell whether they hold a directory role, and create a Temporary Access Pass
//! for them. All app-only, as the **recovery** app registration: a second, optional
//! registration holding only what recovery needs, so that the verification registration keeps
//! asking for no more than verification does.
//!
//! Permissions (application, Microsoft Graph), each the least privileged Learn names:
//! - `User.Read.All`: list users by `mail`/`userPrincipalName` (user-list) and another user's
//!   transitive memberships, cast to directory roles (user-list-transitivememberof).
//! - `UserAuthenticationMethod.ReadWrite.All`: create a Temporary Access Pass for another user
//!   (authentication-post-temporaryaccesspassmethods).
//!
//! Graph calls here are made once, not retried: a pass created twice replaces the first, and
//! the caller (which may run in the background) decides when to try again, with the
//! `Retry-After` Microsoft sent ([`RecoveryError::Throttled`]).

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use tracing::instrument;

use super::ClientCredentials;
use super::client::MicrosoftClient;
use super::error::{MicrosoftError, Step, parse_error_body};
use super::id_token::unverified_payload;
use super::ids::{TenantId, Token};
use super::retry::retry_after;
use crate::email::EmailAddress;

/// Graph's `.default`: with client credentials, the application permissions granted on Graph.
const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
/// Finding users and reading their directory roles.
pub const GRAPH_USER_READ_ALL: &str = "User.Read.All";
/// Creating a Temporary Access Pass for another user.
pub const GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL: &str =
    "UserAuthenticationMethod.ReadWrite.All";

/// A user's object id in their tenant (a GUID, lower-cased), as Graph returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DirectoryUserId(String);

impl DirectoryUserId {
    /// `None` unless `s` is a GUID: only a parsed id is ever put into a Graph path.
    pub fn parse(s: &str) -> Option<DirectoryUserId> {
        uuid::Uuid::parse_str(s)
            .ok()
            .map(|u| DirectoryUserId(u.hyphenated().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DirectoryUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user as the lookup found them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub id: DirectoryUserId,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub display_name: Option<String>,
}

/// What an email address names in the tenant. Only `One` may be recovered: an address that
/// matches several accounts (one's mail, another's UPN) names nobody for certain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    One(DirectoryUser),
    None,
    Several(usize),
}

/// How long a pass lasts: 10 to 43 200 minutes, Graph's own bounds (the tenant's policy may
/// narrow them; Microsoft then refuses with [`RecoveryError::LifetimeOutOfBounds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassLifetime(u32);

impl PassLifetime {
    pub const MIN_MINUTES: u32 = 10;
    pub const MAX_MINUTES: u32 = 43_200;

    pub fn minutes(m: u32) -> Option<PassLifetime> {
        (Self::MIN_MINUTES..=Self::MAX_MINUTES)
            .contains(&m)
            .then_some(PassLifetime(m))
    }

    pub fn as_minutes(self) -> u32 {
        self.0
    }
}

/// What to ask Microsoft for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassRequest {
    pub lifetime: PassLifetime,
    /// One sign-in only (otherwise usable until it expires, if the tenant's policy allows).
    pub one_time: bool,
}

/// The pass itself: shown once to the person it is for, never stored, logged or sent
/// elsewhere. Neither `Display` nor a revealing `Debug`, so it cannot slip into a log line.
pub struct TemporaryAccessPass(String);

impl TemporaryAccessPass {
    /// The pass, for the one page that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TemporaryAccessPass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TemporaryAccessPass(<redacted>)")
    }
}

/// A pass Microsoft created.
#[derive(Debug)]
pub struct IssuedPass {
    pub pass: TemporaryAccessPass,
    /// Microsoft's id of the authentication method (not secret).
    pub method_id: String,
    pub starts_at: OffsetDateTime,
    pub valid_until: OffsetDateTime,
    pub lifetime_in_minutes: u32,
    pub one_time: bool,
    /// Whether it can be used now (`false` e.g. when it starts later).
    pub usable: bool,
}

/// Why a recovery call did not succeed, one reason per refusal the product must explain.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The tenant's authentication methods policy has Temporary Access Pass turned off.
    #[error("Temporary Access Pass is turned off in the tenant's authentication methods policy")]
    PolicyDisabled,
    /// The user is not among those the tenant's Temporary Access Pass policy targets.
    #[error("the user is not in the group the tenant's Temporary Access Pass policy targets")]
    UserNotTargeted,
    /// The lifetime asked for is outside the tenant policy's minimum and maximum.
    #[error("the pass lifetime is outside the tenant's policy: {message}")]
    LifetimeOutOfBounds { message: String },
    /// The tenant's policy allows only one-time passes.
    #[error("the tenant's policy allows only one-time passes")]
    ReusablePassNotAllowed,
    /// The user holds a directory role: never recovered this way.
    #[error("the user holds a directory role, so no pass is issued")]
    Privileged,
    /// The user is not (or no longer) in the tenant.
    #[error("the user was not found in the tenant")]
    UserNotFound,
    /// The recovery registration lacks a permission (not consented, or withdrawn).
    #[error("the recovery app may not do this in the tenant (missing {permission})")]
    Forbidden { permission: &'static str },
    /// Microsoft asked us to slow down (429).
    #[error("Microsoft Graph is throttling requests{}", retry_after.map(|d| format!(" (try again in {} s)", d.as_secs())).unwrap_or_default())]
    Throttled { retry_after: Option<Duration> },
    /// Microsoft could not be reached, timed out or answered 5xx.
    #[error("Microsoft Graph is unavailable right now{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Unavailable {
        status: Option<u16>,
        retry_after: Option<Duration>,
    },
    /// Any other refusal, with Microsoft's code and first line of message.
    #[error("Microsoft Graph refused (HTTP {status}): {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    /// The app token could not be had, or an answer was not in Graph's documented shape.
    #[error(transparent)]
    Microsoft(#[from] MicrosoftError),
}

impl RecoveryError {
    fn from_token(e: MicrosoftError) -> RecoveryError {
        match e {
            MicrosoftError::Unavailable {
                status: Some(429), ..
            } => RecoveryError::Throttled { retry_after: None },
            MicrosoftError::Unavailable { status, .. } => RecoveryError::Unavailable {
                status,
                retry_after: None,
            },
            MicrosoftError::Timeout { .. } => RecoveryError::Unavailable {
                status: None,
                retry_after: None,
            },
            other => RecoveryError::Microsoft(other),
        }
    }
}

/// Graph's 400 for a pass, read by its message. Learn documents no error codes for the create
/// (authentication-post-temporaryaccesspassmethods), so the words are matched loosely; an
/// unknown one stays `Refused` with Microsoft's own message, which still explains it.
fn classify_pass_refusal(code: String, message: String) -> RecoveryError {
    let m = message.to_ascii_lowercase();
    if m.contains("lifetimeinminutes") {
        RecoveryError::LifetimeOutOfBounds { message }
    } else if m.contains("isusableonce") {
        RecoveryError::ReusablePassNotAllowed
    } else if m.contains("not a target") || m.contains("not targeted") {
        RecoveryError::UserNotTargeted
    } else if m.contains("disabled") || m.contains("not enabled") {
        RecoveryError::PolicyDisabled
    } else {
        RecoveryError::Refused {
            status: 400,
            code,
            message,
        }
    }
}

/// The recovery registration's client. Built from the product's `MicrosoftClient` (same
/// endpoints, timeouts) with the recovery registration's credentials.
#[derive(Clone, Debug)]
pub struct RecoveryClient {
    ms: MicrosoftClient,
}

impl MicrosoftClient {
    /// The same endpoints and timeouts, acting as the recovery app registration.
    pub fn recovery(&self, credentials: ClientCredentials) -> RecoveryClient {
        let mut ms = self.clone();
        ms.credentials = credentials;
        ms.own_tenant_credentials = None;
        // App tokens are per registration: never hand the other registration's out.
        ms.app_tokens = Default::default();
        RecoveryClient { ms }
    }
}

impl RecoveryClient {
    /// The recovery registration's Application (client) ID.
    pub fn client_id(&self) -> &str {
        self.ms.client_id()
    }

    /// The admin consent for the recovery registration, at the connected tenant (its GUID: the
    /// grant is proved there afterwards, whatever `tenant` Microsoft's redirect names).
    pub fn admin_consent_request(
        &self,
        tenant: &TenantId,
        redirect_uri: &url::Url,
    ) -> super::ConsentRequest {
        self.ms
            .admin_consent_request_at(tenant.as_str(), redirect_uri)
    }

    /// Proves the tenant granted every application permission recovery uses: an app token
    /// for the recovery registration that carries each role (as connect proves its own).
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn prove_granted(&self, tenant: &TenantId) -> Result<(), RecoveryError> {
        self.token(tenant, GRAPH_USER_READ_ALL).await?;
        self.token(tenant, GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL)
            .await?;
        Ok(())
    }

    /// An app-only Graph token holding `permission`; `Forbidden` when the tenant never granted
    /// it (Microsoft still issues a token, without the role: v2-oauth2-client-creds-grant-flow).
    async fn token(
        &self,
        tenant: &TenantId,
        permission: &'static str,
    ) -> Result<Token, RecoveryError> {
        #[derive(Deserialize)]
        struct AppClaims {
            #[serde(default)]
            roles: Vec<String>,
        }
        let (token, _) = self
            .ms
            .client_credentials(Step::Graph, tenant, GRAPH_DEFAULT)
            .await
            .map_err(RecoveryError::from_token)?;
        let claims: AppClaims = unverified_payload(token.expose()).ok_or_else(|| {
            MicrosoftError::malformed(Step::Graph, "the access token is not a JWT")
        })?;
        if !claims
            .roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(permission))
        {
            return Err(RecoveryError::Forbidden { permission });
        }
        Ok(token)
    }

    /// One Graph call: the body of an `expected` answer, or the refusal mapped.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        expected: StatusCode,
        permission: &'static str,
    ) -> Result<Vec<u8>, Failure> {
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| RecoveryError::from_token(MicrosoftError::transport(Step::Graph, &e)))?;
        let status = response.status();
        let hint = retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| RecoveryError::from_token(MicrosoftError::transport(Step::Graph, &e)))?;
        if status == expected {
            return Ok(body.to_vec());
        }
        let (code, message) = parse_error_body(&body)
            .map(|(c, m, _)| (c, m))
            .unwrap_or_else(|| (format!("http_{}", status.as_u16()), String::new()));
        Err(match status.as_u16() {
            429 => Failure::Done(RecoveryError::Throttled { retry_after: hint }),
            s if s >= 500 => Failure::Done(RecoveryError::Unavailable {
                status: Some(s),
                retry_after: hint,
            }),
            403 => Failure::Done(RecoveryError::Forbidden { permission }),
            404 => Failure::Done(RecoveryError::UserNotFound),
            400 => Failure::BadRequest { code, message },
            s if status.is_success() => {
                Failure::Done(RecoveryError::Microsoft(MicrosoftError::malformed(
                    Step::Graph,
                    format!("expected HTTP {expected}, got {s}"),
                )))
            }
            s => Failure::Done(RecoveryError::Refused {
                status: s,
                code,
                message,
            }),
        })
    }

    /// The one user whose `mail` or `userPrincipalName` is `email` (Graph compares both
    /// without regard to case).
    #[instrument(skip_all, fields(tenant = %tenant))]
    pub async fn find_user_by_email(
        &self,
        tenant: &TenantId,
        email: &EmailAddress,
    ) -> Result<UserLookup, RecoveryError> {
        #[derive(Deserialize)]
        struct List {
            value: Vec<RawUser>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RawUser {
            id: String,
            #[serde(default)]
            user_principal_name: Option<String>,
            #[serde(default)]
            mail: Option<String>,
            #[serde(default)]
            display_name: Option<String>,
        }
        let token = self.token(tenant, GRAPH_USER_READ_ALL).await?;
        // OData doubles a quote inside a string literal; an address may hold one.
        let quoted = email.as_str().replace('\'', "''");
        let mut url = self.ms.endpoints.graph_at("v1.0/users");
        url.query_pairs_mut()
            .append_pair(
                "$filter",
                &format!("mail eq '{quoted}' or userPrincipalName eq '{quoted}'"),
            )
            .append_pair("$select", "id,displayName,mail,userPrincipalName");
        let body = self
            .send(
                self.ms.http.get(url).bearer_auth(token.expose()),
                StatusCode::OK,
                GRAPH_USER_READ_ALL,
            )
            .await
            .map_err(Failure::plain)?;
        let list: List =
            serde_json::from_slice(&body).map_err(|e| MicrosoftError::malformed(Step::Graph, e))?;
        let mut users = Vec::new();
        for raw in list.value {
            let id = DirectoryUserId::parse(&raw.id)
                .ok_or_else(|| MicrosoftError::malformed(Step::Graph, "a user id is not a GUID"))?;
            if users.iter().any(|u: &DirectoryUser| u.id == id) {
                continue;
            }
            users.push(DirectoryUser {
                id,
                user_principal_name: raw.user_principal_name.unwrap_or_default(),
                mail: raw.mail,
                display_name: raw.display_name,
            });
        }
        Ok(match users.len() {
            0 => UserLookup::None,
            1 => UserLookup::One(users.remove(0)),
            n => UserLookup::Several(n),
        })
    }

    /// Whether the user holds any directory role, directly or through a role-assignable
    /// group: `transitiveMemberOf`, cast to `directoryRole` (user-list-transitivememberof).
    /// Only the count matters, so `User.Read.All` suffices: role objects the app may not read
    /// still appear, by id (permissions-overview, "Limited information returned").
    #[instrument(skip_all, fields(tenant = %tenant, user = %user))]
    pub async fn holds_directory_role(
        &self,
        tenant: &TenantId,
        user: &DirectoryUserId,
    ) -> Result<bool, RecoveryError> {
        #[derive(Deserialize)]
        struct List {
            value: Vec<serde_json::Value>,
        }
        let token = self.token(tenant, GRAPH_USER_READ_ALL).await?;
        let mut url = self.ms.endpoints.graph_at(&format!(
            "v1.0/users/{user}/transitiveMemberOf/microsoft.graph.directoryRole"
        ));
        url.query_pairs_mut().append_pair("$select", "id");
        let body = self
            .send(
                self.ms.http.get(url).bearer_auth(token.expose()),
                StatusCode::OK,
                GRAPH_USER_READ_ALL,
            )
            .await
            .map_err(Failure::plain)?;
        let list: List =
            serde_json::from_slice(&body).map_err(|e| MicrosoftError::malformed(Step::Graph, e))?;
        Ok(!list.value.is_empty())
    }

    /// Creates a Temporary Access Pass for the user (replacing any they hold: Learn, "the
    /// previous Temporary Access Pass will be deleted"). Each policy refusal is its own
    /// [`RecoveryError`].
    #[instrument(skip_all, fields(tenant = %tenant, user = %user, lifetime = request.lifetime.as_minutes(), one_time = request.one_time))]
    pub async fn create_temporary_access_pass(
        &self,
        tenant: &TenantId,
        user: &DirectoryUserId,
        request: PassRequest,
    ) -> Result<IssuedPass, RecoveryError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Created {
            id: String,
            temporary_access_pass: Option<String>,
            #[serde(default, with = "time::serde::rfc3339::option")]
            start_date_time: Option<OffsetDateTime>,
            #[serde(default, with = "time::serde::rfc3339::option")]
            created_date_time: Option<OffsetDateTime>,
            lifetime_in_minutes: u32,
            is_usable_once: bool,
            #[serde(default)]
            is_usable: bool,
        }
        let token = self
            .token(tenant, GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL)
            .await?;
        let url = self.ms.endpoints.graph_at(&format!(
            "v1.0/users/{user}/authentication/temporaryAccessPassMethods"
        ));
        let body = serde_json::json!({
            "lifetimeInMinutes": request.lifetime.as_minutes(),
            "isUsableOnce": request.one_time,
        });
        let answer = self
            .send(
                self.ms
                    .http
                    .post(url)
                    .bearer_auth(token.expose())
                    .json(&body),
                StatusCode::CREATED,
                GRAPH_USER_AUTHENTICATION_METHOD_READ_WRITE_ALL,
            )
            .await
            .map_err(|f| match f {
                Failure::BadRequest { code, message } => classify_pass_refusal(code, message),
                Failure::Done(e) => e,
            })?;
        // The error names the field only; never the body, which holds the pass.
        let created: Created = serde_json::from_slice(&answer).map_err(|e| {
            MicrosoftError::malformed(
                Step::Graph,
                format!(
                    "temporary access pass answer (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let pass = created
            .temporary_access_pass
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                MicrosoftError::malformed(Step::Graph, "no temporaryAccessPass in the answer")
            })?;
        let starts_at = created
            .start_date_time
            .or(created.created_date_time)
            .unwrap_or_else(OffsetDateTime::now_utc);
        Ok(IssuedPass {
            pass: TemporaryAccessPass(pass),
            method_id: created.id,
            starts_at,
            valid_until: starts_at
                + time::Duration::minutes(i64::from(created.lifetime_in_minutes)),
            lifetime_in_minutes: created.lifetime_in_minutes,
            one_time: created.is_usable_once,
            usable: created.is_usable,
        })
    }

    /// Recovery's order: a user holding a directory role is refused (`Privileged`) before any
    /// pass is asked for; otherwise the pass is created.
    pub async fn issue_temporary_access_pass(
        &self,
        tenant: &TenantId,
        user: &DirectoryUserId,
        request: PassRequest,
    ) -> Result<IssuedPass, RecoveryError> {
        if self.holds_directory_role(tenant, user).await? {
            return Err(RecoveryError::Privileged);
        }
        self.create_temporary_access_pass(tenant, user, request)
            .await
    }
}

/// A Graph call's failure: final, or a 400 whose meaning depends on the call.
enum Failure {
    Done(RecoveryError),
    BadRequest { code: String, message: String },
}

impl From<RecoveryError> for Failure {
    fn from(e: RecoveryError) -> Self {
        Failure::Done(e)
    }
}

impl Failure {
    /// For calls whose 400 has no special meaning.
    fn plain(self) -> RecoveryError {
        match self {
            Failure::Done(e) => e,
            Failure::BadRequest { code, message } => RecoveryError::Refused {
                status: 400,
                code,
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pass_never_shows_in_debug() {
        let issued = IssuedPass {
            pass: TemporaryAccessPass("+drkzqAD".into()),
            method_id: "m".into(),
            starts_at: OffsetDateTime::UNIX_EPOCH,
            valid_until: OffsetDateTime::UNIX_EPOCH,
            lifetime_in_minutes: 60,
            one_time: true,
            usable: true,
        };
        assert!(!format!("{issued:?}").contains("+drkzqAD"));
    }

    #[test]
    fn lifetimes_stay_within_graphs_bounds() {
        assert!(PassLifetime::minutes(9).is_none());
        assert!(PassLifetime::minutes(43_201).is_none());
        assert_eq!(PassLifetime::minutes(60).unwrap().as_minutes(), 60);
    }

    #[test]
    fn user_ids_must_be_guids() {
        assert!(DirectoryUserId::parse("../me").is_none());
        assert_eq!(
            DirectoryUserId::parse("9A1B2C3D-0001-4000-8000-000000000001")
                .unwrap()
                .as_str(),
            "9a1b2c3d-0001-4000-8000-000000000001"
        );
    }

    #[test]
    fn pass_refusals_are_told_apart_by_their_words() {
        let c = |m: &str| classify_pass_refusal("badRequest".into(), m.into());
        assert!(matches!(
            c("Invalid LifetimeInMinutes specified. The valid range between 60 and 480."),
            RecoveryError::LifetimeOutOfBounds { .. }
        ));
        assert!(matches!(
            c("Invalid IsUsableOnce specified."),
            RecoveryError::ReusablePassNotAllowed
        ));
        assert!(matches!(
            c(
                "The user is not a target of the Temporary Access Pass authentication methods policy."
            ),
            RecoveryError::UserNotTargeted
        ));
        assert!(matches!(
            c("Temporary Access Pass is disabled in the tenant's authentication methods policy."),
            RecoveryError::PolicyDisabled
        ));
        assert!(matches!(
            c("Something else."),
            RecoveryError::Refused { .. }
        ));
    }
}
