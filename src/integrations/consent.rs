//! The consent side of connecting a tenant, around the legs in `connect`:
//!
//! - **Which tenant consents** (`ConsentTenant`): `organizations` by default, or the tenant the
//!   admin names on the card (its GUID or one of its domains) for administrators whose account
//!   lives elsewhere (MSP/GDAP, a tenant run by a personal account). v2-admin-consent: the
//!   `{tenant}` segment is a tenant GUID, a domain name, or `organizations`.
//! - **What the admin consent endpoint says it granted** (`check_granted_scope`): the redirect
//!   carries `scope`, "the set of permissions that were granted access to" (v2-admin-consent);
//!   one we need that is missing ends the connect before the sign-in leg, with its name.
//! - **Signing in with another account** (`start_sign_in_with_another_account`): after an
//!   account that may consent but not read Verified ID, only the sign-in leg again, with
//!   Microsoft's account picker (`prompt=select_account`, v2-oauth2-auth-code-flow).
//! - **Waiting for consent to propagate** (`finish_waiting`): right after admin consent,
//!   Microsoft's token endpoint may still answer client credentials without `roles`, or with
//!   AADSTS700016 (the app's service principal is not there yet). The connect then keeps what
//!   it read, and the browser shows "Microsoft is finishing your consent", asking again with
//!   back-off until the window (`TRACELESS_MS_CONSENT_WAIT_SECS`, 60 s) ends; only then is the
//!   grant reported missing. Each ask is a request of the waiting page, so any instance can
//!   answer it and nothing runs in the background.

use std::time::Duration;

use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use super::IntegrationError;
use super::connect::{self, ConnectProgress, ConnectStart};
use super::failure::{ConnectFailure, REQUEST_ROLE_PERMISSION};
use super::store::{self, PendingConnection, Phase};
use crate::accounts::{OrganizationId, User, UserId};
use crate::audit::{self, Action};
use crate::db::{self, Connection, Pool};
use crate::microsoft::{MicrosoftClient, MicrosoftError, Step, TenantId};
use crate::secret::SecretHash;

/// Where the admin consent goes: `organizations`, or one tenant by GUID or domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTenant(String);

/// The card's "tenant domain or ID" is neither a GUID nor a domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Enter your tenant's domain (like contoso.com or contoso.onmicrosoft.com) or its tenant ID (a GUID), or leave this empty."
)]
pub struct InvalidTenant;

impl ConsentTenant {
    /// Any work or school tenant: Microsoft asks which account and finds its tenant.
    pub fn organizations() -> ConsentTenant {
        ConsentTenant("organizations".into())
    }

    /// The card's field: empty means `organizations`; a GUID is kept in lower case; a domain
    /// (Unicode or punycode) in its ASCII form, so both spellings of a name are one tenant.
    pub fn parse(input: Option<&str>) -> Result<ConsentTenant, InvalidTenant> {
        let input = input.map(str::trim).unwrap_or_default();
        if input.is_empty() {
            return Ok(ConsentTenant::organizations());
        }
        if let Ok(id) = Uuid::parse_str(input) {
            // Only the hyphenated form Microsoft prints (not `{...}` or `urn:uuid:`).
            if input.len() == 36 {
                return Ok(ConsentTenant(id.hyphenated().to_string()));
            }
            return Err(InvalidTenant);
        }
        crate::email::normalize_domain(input)
            // A domain name, not an address or a path: letters, digits, hyphens and dots.
            .filter(|_| !input.contains(['@', '/', '?', '#', ':']))
            .map(ConsentTenant)
            .ok_or(InvalidTenant)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tenant as a GUID, when the admin gave one.
    pub fn tenant_id(&self) -> Option<TenantId> {
        TenantId::parse(&self.0).ok()
    }
}

/// A permission the connect needs from the admin consent, as `scope` may list it.
struct Needed {
    /// Resource identifiers Microsoft may use in `scope` (URI or app id), lower case. Empty:
    /// any resource but Microsoft Graph. v2-admin-consent shows Graph permissions as
    /// `https://graph.microsoft.com/{name}` but not how another API is named there, and the app
    /// registration lists `full_access` on the Verified ID admin API only, so its name is enough.
    resources: &'static [&'static str],
    permission: &'static str,
    /// How the Entra admin center names it.
    shown: &'static str,
}

/// How `scope` may name Microsoft Graph.
const GRAPH: [&str; 2] = [
    "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
];

/// The delegated permissions the sign-in leg's calls use. The application permission is not
/// looked for here: v2-admin-consent does not say app roles are listed in `scope`, and the
/// connect proves it with a real token anyway (`prove_request_role`). The OpenID Connect
/// scopes are not required either: the sign-in leg asks for them and fails on its own.
const NEEDED: [Needed; 2] = [
    Needed {
        resources: &GRAPH,
        permission: "user.read",
        shown: "Microsoft Graph: User.Read (delegated)",
    },
    Needed {
        resources: &[],
        permission: "full_access",
        shown: "Verifiable Credentials Service Admin: full_access (delegated)",
    },
];

/// Checks the admin consent's `scope` for what the connect needs. No `scope` at all (an
/// endpoint that does not report it) is not held against the admin: the sign-in leg proves
/// every grant.
pub fn check_granted_scope(scope: Option<&str>) -> Result<(), ConnectFailure> {
    let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
        return Ok(());
    };
    let granted: Vec<(String, String)> = scope
        .split_whitespace()
        .map(|item| {
            let item = item.to_ascii_lowercase();
            match item.rsplit_once('/') {
                Some((resource, permission)) => (
                    resource.trim_end_matches('/').to_owned(),
                    permission.to_owned(),
                ),
                // A bare permission is Microsoft Graph's (scopes-oidc).
                None => ("https://graph.microsoft.com".to_owned(), item),
            }
        })
        .collect();
    for needed in &NEEDED {
        let found = granted.iter().any(|(resource, permission)| {
            permission == needed.permission
                && if needed.resources.is_empty() {
                    !GRAPH.contains(&resource.as_str())
                } else {
                    needed.resources.contains(&resource.as_str())
                }
        });
        if !found {
            return Err(ConnectFailure::ConsentIncomplete {
                permission: needed.shown.to_owned(),
            });
        }
    }
    Ok(())
}

/// "Sign in with another account": only the sign-in leg (the tenant's admin consent is in
/// place), with Microsoft's account picker, at the tenant the admin named if they gave its ID.
pub async fn start_sign_in_with_another_account(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    actor: &User,
    redirect_uri: &Url,
    tenant: &ConsentTenant,
) -> Result<ConnectStart, IntegrationError> {
    if !actor.is_admin() {
        return Err(IntegrationError::NotAdmin);
    }
    let request = microsoft.authorization_request_prompting(
        tenant.tenant_id().as_ref(),
        redirect_uri,
        Some("select_account"),
    );
    connect::record_start(
        pool,
        actor,
        store::NewAttempt {
            organization_id: actor.organization_id,
            user_id: actor.id,
            state_hash: SecretHash::of(&request.state).as_str(),
            pkce_verifier: &request.pkce_verifier,
            nonce: &request.nonce,
            expires_at: OffsetDateTime::now_utc() + connect::ATTEMPT_LIFETIME,
            phase: Phase::SignIn,
            token_tenant: &request.token_tenant,
        },
        request.url,
        "Sent to Microsoft to sign in with another account",
    )
    .await
}

/// Whether an app-token failure may be Microsoft still spreading a consent just given: a token
/// without the role, or AADSTS700016 (the app is not in the tenant yet).
pub(crate) fn still_propagating(error: &MicrosoftError) -> bool {
    match error {
        MicrosoftError::MissingRole => true,
        MicrosoftError::Rejected {
            step: Step::AppToken,
            description,
            ..
        } => description.starts_with("AADSTS700016"),
        _ => false,
    }
}

/// A connect waiting for its consent to propagate.
#[derive(Debug, Clone)]
struct Wait {
    /// The tenant whose app token must carry the role.
    app_tenant: TenantId,
    user_id: Option<UserId>,
    until: OffsetDateTime,
    tries: i64,
}

/// Keeps what the sign-in leg read (as a pending connection, hidden from the card while the
/// wait lasts) and starts the wait.
pub(crate) async fn begin_wait(
    pool: &Pool,
    user: &User,
    pending: &PendingConnection,
    app_tenant: &TenantId,
    window: Duration,
) -> Result<ConnectProgress, ConnectFailure> {
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "recording the consent wait");
        ConnectFailure::Internal
    };
    // The organization's lock: one change to its Microsoft connection at a time.
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(user.organization_id.0)),
    )
    .await
    .map_err(internal)?;
    connect::ensure_tenant_free(&mut tx, user, &pending.tenant_id, &pending.tenant_name)
        .await
        .map_err(|e| e.into_failure(internal))?;
    store::put_pending(&mut tx, user.organization_id, user.id, pending)
        .await
        .map_err(internal)?;
    db::query(
        "INSERT INTO microsoft_consent_waits (organization_id, user_id, app_tenant_id, started_at, wait_until, tries)
         VALUES ($1, $2, $3, $4, $5, 1)
         ON CONFLICT (organization_id) DO UPDATE SET
           user_id = excluded.user_id, app_tenant_id = excluded.app_tenant_id,
           started_at = excluded.started_at, wait_until = excluded.wait_until, tries = 1",
    )
    .bind(user.organization_id.0)
    .bind(user.id.0)
    .bind(app_tenant.as_str())
    .bind(OffsetDateTime::now_utc())
    .bind(OffsetDateTime::now_utc() + window)
    .execute(&mut tx)
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(organization = %user.organization_id, tenant = %app_tenant, "the app token has no role yet; waiting for Microsoft to finish the consent");
    Ok(ConnectProgress::FinishingConsent)
}

async fn wait_of(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Option<Wait>, sqlx::Error> {
    let Some(row) = db::query(
        "SELECT app_tenant_id, user_id, wait_until, tries FROM microsoft_consent_waits WHERE organization_id = $1",
    )
    .bind(organization_id.0)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let tenant: String = row.try_get("app_tenant_id")?;
    Ok(Some(Wait {
        app_tenant: TenantId::parse(&tenant)
            .map_err(|_| sqlx::Error::Decode("consent wait tenant".into()))?,
        user_id: {
            let id: Option<Uuid> = row.try_get("user_id")?;
            id.map(UserId)
        },
        until: row.try_get("wait_until")?,
        tries: row.try_get("tries")?,
    }))
}

/// Whether the organization's connect is waiting for Microsoft (its pending connection is
/// not a choice for the card yet).
pub async fn is_waiting(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<bool, sqlx::Error> {
    Ok(wait_of(conn, organization_id).await?.is_some())
}

/// Ends the organization's wait, if any (a new connect, or the wait's end).
pub(crate) async fn forget_wait(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM microsoft_consent_waits WHERE organization_id = $1")
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// What the waiting page does next.
// One per request of the waiting page, moved once: boxing the integration buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Finishing {
    /// Nothing is waiting (finished elsewhere, or never started): show the card.
    Idle,
    /// Still not propagated: ask again after `retry_in`.
    Waiting { retry_in: Duration },
    /// The connect ended, one way or the other.
    Done(Result<ConnectProgress, ConnectFailure>),
}

/// One ask of the waiting page: a fresh app token; on success the connect completes as the
/// sign-in leg would have; after the window the grant is reported missing.
pub async fn finish_waiting(pool: &Pool, microsoft: &MicrosoftClient, user: &User) -> Finishing {
    let result = finish_waiting_inner(pool, microsoft, user).await;
    if let Finishing::Done(Err(failure)) = &result {
        tracing::warn!(organization = %user.organization_id, cause = failure.code(), "Microsoft connect failed");
        if let Ok(mut conn) = pool.acquire().await {
            let _ = audit::record(
                &mut conn,
                user.organization_id,
                Some(user),
                Action::MicrosoftConnectFailed,
                &format!("{}: {}", failure.code(), failure.explain()),
            )
            .await;
        }
    }
    result
}

async fn finish_waiting_inner(pool: &Pool, microsoft: &MicrosoftClient, user: &User) -> Finishing {
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "reading the consent wait");
        Finishing::Done(Err(ConnectFailure::Internal))
    };
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => return internal(e),
    };
    let wait = match wait_of(&mut conn, user.organization_id).await {
        Ok(Some(wait)) => wait,
        Ok(None) => return Finishing::Idle,
        Err(e) => return internal(e),
    };
    drop(conn);
    // The admin who started it, still an admin; anyone else sees the card.
    if wait.user_id != Some(user.id) {
        return Finishing::Idle;
    }
    if !user.is_admin() {
        return end_wait(pool, user, Err(ConnectFailure::NotAdmin)).await;
    }
    // Always a fresh token: a cached one predates the consent.
    microsoft.forget_app_token(&wait.app_tenant);
    match microsoft.app_token(&wait.app_tenant).await {
        Ok(_) => complete_after_wait(pool, user).await,
        Err(error) if still_propagating(&error) && OffsetDateTime::now_utc() < wait.until => {
            let tries = wait.tries + 1;
            if let Ok(mut conn) = pool.acquire().await {
                let _ = db::query(
                    "UPDATE microsoft_consent_waits SET tries = $1 WHERE organization_id = $2",
                )
                .bind(tries)
                .bind(user.organization_id.0)
                .execute(&mut conn)
                .await;
            }
            let left: Duration = (wait.until - OffsetDateTime::now_utc())
                .try_into()
                .unwrap_or_default();
            tracing::info!(tries, "the app token has no role yet; asking again");
            Finishing::Waiting {
                retry_in: backoff(tries).min(left).max(Duration::from_millis(500)),
            }
        }
        Err(error) if still_propagating(&error) => {
            end_wait(
                pool,
                user,
                Err(ConnectFailure::GrantMissing {
                    permission: REQUEST_ROLE_PERMISSION.into(),
                }),
            )
            .await
        }
        Err(error) => end_wait(pool, user, Err(ConnectFailure::from_microsoft(&error))).await,
    }
}

/// 1, 2, 4, 8, 8, ... seconds between asks.
fn backoff(tries: i64) -> Duration {
    let exponent = u32::try_from(tries.clamp(1, 4) - 1).unwrap_or(0);
    Duration::from_secs(1 << exponent)
}

/// Ends the wait and forgets what it kept.
async fn end_wait(
    pool: &Pool,
    user: &User,
    result: Result<ConnectProgress, ConnectFailure>,
) -> Finishing {
    let cleaned = async {
        // The organization's lock: one change to its Microsoft connection at a time.
        let mut tx = db::begin_write(
            pool,
            db::Lock::Key(db::LockKey::organization(user.organization_id.0)),
        )
        .await?;
        forget_wait(&mut tx, user.organization_id).await?;
        store::delete_pending(&mut tx, user.organization_id).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = cleaned {
        tracing::error!(error = %e, "ending the consent wait");
        return Finishing::Done(Err(ConnectFailure::Internal));
    }
    Finishing::Done(result)
}

/// The role arrived: connect the one option, or leave the options for the admin's pick.
async fn complete_after_wait(pool: &Pool, user: &User) -> Finishing {
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "completing after the consent wait");
        Finishing::Done(Err(ConnectFailure::Internal))
    };
    let pending = {
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => return internal(e),
        };
        match store::pending(&mut conn, user.organization_id).await {
            Ok(pending) => pending,
            Err(e) => return internal(e),
        }
    };
    let Some(pending) = pending else {
        return end_wait(pool, user, Err(ConnectFailure::ChoiceUnavailable)).await;
    };
    // One option connects as at the end of the sign-in leg: with its directory-backed email
    // claim, or, without one, connected but not active (the card says why).
    let single = match pending.options.as_slice() {
        [option] => Some((
            option.clone(),
            option
                .default_email_claim()
                .or_else(|| option.unchecked_email_claim())
                .unwrap_or_default()
                .to_owned(),
        )),
        _ => None,
    };
    match single {
        Some((option, email_claim)) => {
            let integration = connect::integration_of(&pending, user, &option, email_claim, false);
            let result = connect::store_integration(pool, user, &integration).await;
            // `store_integration` forgot the pending connection; the wait goes too.
            if let Ok(mut conn) = pool.acquire().await {
                let _ = forget_wait(&mut conn, user.organization_id).await;
            }
            if result.is_ok() {
                tracing::info!(organization = %user.organization_id, tenant = %integration.tenant_id, "Microsoft Verified ID connected");
            }
            Finishing::Done(result.map(|()| ConnectProgress::Connected(Box::new(integration))))
        }
        None => {
            // The options stay for the card; only the wait ends.
            let recorded = async {
                // The organization's lock: one change to its Microsoft connection at a time.
                let mut tx = db::begin_write(
                    pool,
                    db::Lock::Key(db::LockKey::organization(user.organization_id.0)),
                )
                .await?;
                forget_wait(&mut tx, user.organization_id).await?;
                audit::record(
                    &mut tx,
                    user.organization_id,
                    Some(user),
                    Action::MicrosoftChoiceNeeded,
                    &format!(
                        "Tenant {} ({}) offers {} credential options",
                        pending.tenant_name,
                        pending.tenant_id,
                        pending.options.len()
                    ),
                )
                .await?;
                tx.commit().await
            }
            .await;
            match recorded {
                Ok(()) => Finishing::Done(Ok(ConnectProgress::ChoiceNeeded)),
                Err(e) => internal(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_field_takes_a_guid_or_a_domain_in_one_form() {
        assert_eq!(
            ConsentTenant::parse(None).unwrap().as_str(),
            "organizations"
        );
        assert_eq!(
            ConsentTenant::parse(Some("  ")).unwrap().as_str(),
            "organizations"
        );
        assert_eq!(
            ConsentTenant::parse(Some("84841066-274D-4EC0-A5C1-276BE684BDD3"))
                .unwrap()
                .as_str(),
            "84841066-274d-4ec0-a5c1-276be684bdd3"
        );
        assert_eq!(
            ConsentTenant::parse(Some(" Contoso.COM "))
                .unwrap()
                .as_str(),
            "contoso.com"
        );
        assert_eq!(
            ConsentTenant::parse(Some("bücher.example")).unwrap(),
            ConsentTenant::parse(Some("xn--bcher-kva.example")).unwrap()
        );
        for bad in [
            "organizations",
            "common",
            "contoso",
            "ada@contoso.com",
            "https://contoso.com",
            "contoso.com/x",
            "-contoso.com",
            "contoso..com",
            "{84841066-274d-4ec0-a5c1-276be684bdd3}",
            "84841066274d4ec0a5c1276be684bdd3",
            "contoso com",
        ] {
            assert_eq!(ConsentTenant::parse(Some(bad)), Err(InvalidTenant), "{bad}");
        }
    }

    #[test]
    fn the_granted_scope_must_hold_what_the_sign_in_leg_uses() {
        assert_eq!(check_granted_scope(None), Ok(()));
        assert_eq!(
            check_granted_scope(Some(
                "https://graph.microsoft.com/openid https://graph.microsoft.com/User.Read 6a8b4b39-c021-437c-b060-5a14a3fd65f3/full_access 3db474b9-6a0c-4840-96ac-1fceb342124f/VerifiableCredential.Create.PresentRequest"
            )),
            Ok(())
        );
        assert_eq!(
            check_granted_scope(Some(
                "User.Read 6A8B4B39-C021-437C-B060-5A14A3FD65F3/Full_Access"
            )),
            Ok(())
        );
        let missing = check_granted_scope(Some("https://graph.microsoft.com/User.Read"));
        assert!(
            matches!(&missing, Err(ConnectFailure::ConsentIncomplete { permission }) if permission.contains("full_access")),
            "{missing:?}"
        );
        assert!(matches!(
            check_granted_scope(Some("6a8b4b39-c021-437c-b060-5a14a3fd65f3/full_access")),
            Err(ConnectFailure::ConsentIncomplete { permission }) if permission.contains("User.Read")
        ));
        // Graph's permission of the same name is not the admin API's, nor another API's
        // User.Read Graph's; the admin API may be named by its app id or an identifier URI.
        assert!(
            check_granted_scope(Some("User.Read https://graph.microsoft.com/full_access")).is_err()
        );
        assert!(
            check_granted_scope(Some(
                "api://other/User.Read 6a8b4b39-c021-437c-b060-5a14a3fd65f3/full_access"
            ))
            .is_err()
        );
        assert_eq!(
            check_granted_scope(Some(
                "User.Read api://6a8b4b39-c021-437c-b060-5a14a3fd65f3/full_access"
            )),
            Ok(())
        );
    }

    #[test]
    fn asking_again_backs_off_to_eight_seconds() {
        let waits: Vec<u64> = (1..=6).map(|t| backoff(t).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 8, 8]);
    }

    #[test]
    fn only_a_missing_role_or_an_unknown_app_is_worth_waiting_for() {
        assert!(still_propagating(&MicrosoftError::MissingRole));
        let unknown_app = MicrosoftError::Rejected {
            step: Step::AppToken,
            status: 400,
            code: "unauthorized_client".into(),
            description: "AADSTS700016: Application with identifier 'x' was not found".into(),
            inner: None,
        };
        assert!(still_propagating(&unknown_app));
        let bad_secret = MicrosoftError::Rejected {
            step: Step::AppToken,
            status: 401,
            code: "invalid_client".into(),
            description: "AADSTS7000215: Invalid client secret provided.".into(),
            inner: None,
        };
        assert!(!still_propagating(&bad_secret));
        assert!(!still_propagating(&MicrosoftError::VerifiedIdNotSetUp));
    }
}
