//! Sign in with Microsoft, for agents and admins of an organization whose tenant is connected,
//! and the organization's "Microsoft only" setting.
//!
//! Who may sign in: the ID token (validated as at connect) names a tenant by `tid`; that tenant
//! must be an organization's connected tenant, and the person must be a member of it, found by
//! the Microsoft account bound to them (`tid` + `oid`, immutable). The first time, a member is
//! found by email only when Microsoft vouches for the address: the optional `xms_edov` claim is
//! `true` (the email's domain owner is verified) and the domain is one of the tenant's verified
//! domains read at connect. `email` and `preferred_username` alone are mutable, may be set
//! by users and must not decide access (id-token-claims-reference; migrate-off-email-claim-
//! authorization). That first sign-in binds `oid` to the member, so later ones match by `oid`
//! whatever the email has become. Anything else is refused and changes nothing.

use std::time::Duration;

use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use url::Url;

use super::{CallbackParams, store};
use crate::accounts::{self, OrganizationId, User, microsoft_account};
use crate::audit::{self, Action};
use crate::db::{self, Lock, LockKey, Pool};
use crate::email::EmailAddress;
use crate::microsoft::{IdTokenClaims, MicrosoftClient, MicrosoftError, PendingSignIn};

/// How long a person has to finish at Microsoft.
pub const SIGN_IN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Why a Microsoft sign-in was refused. The words are the person's; none says whether an
/// organization other than the tenant's own exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInRefusal {
    #[error("You cancelled the sign-in at Microsoft. Try again when you are ready.")]
    Cancelled,
    #[error(
        "This sign-in was interrupted or has expired. Start again from the sign-in page, in the same browser."
    )]
    Interrupted,
    #[error("Microsoft did not sign you in ({0}). Try again, or ask your Microsoft administrator.")]
    Microsoft(String),
    #[error("Microsoft's answer could not be trusted, so nobody was signed in. Start again.")]
    UntrustedAnswer,
    #[error("Microsoft did not answer in time. Try again in a minute.")]
    Unavailable,
    #[error(
        "Your organization hasn't connected Microsoft to Traceless. Sign in with your email and password, or ask your Traceless administrator to connect Microsoft on the Integrations page."
    )]
    NotConnected,
    #[error(
        "This Microsoft account isn't a member of {organization} in Traceless. Ask your Traceless organization administrator to invite you, or choose another account."
    )]
    NotAMember { organization: String },
    #[error("Something went wrong on our side. Try again in a minute.")]
    Internal,
}

impl SignInRefusal {
    /// A stable name for logs and the audit line.
    pub fn code(&self) -> &'static str {
        match self {
            SignInRefusal::Cancelled => "cancelled",
            SignInRefusal::Interrupted => "interrupted",
            SignInRefusal::Microsoft(_) => "microsoft_error",
            SignInRefusal::UntrustedAnswer => "untrusted_answer",
            SignInRefusal::Unavailable => "unavailable",
            SignInRefusal::NotConnected => "not_connected",
            SignInRefusal::NotAMember { .. } => "not_a_member",
            SignInRefusal::Internal => "internal",
        }
    }
}

fn internal(error: sqlx::Error) -> SignInRefusal {
    tracing::error!(%error, "Microsoft sign-in");
    SignInRefusal::Internal
}

/// Completes a sign-in that Microsoft sent back. `pending` is what this browser's session
/// kept when it started (already taken out of it: single use).
pub async fn finish_sign_in(
    pool: &Pool,
    microsoft: &MicrosoftClient,
    pending: Option<PendingSignIn>,
    params: CallbackParams,
    redirect_uri: &Url,
) -> Result<User, SignInRefusal> {
    let pending = pending.ok_or(SignInRefusal::Interrupted)?;
    let state_matches = params
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
    if !state_matches {
        return Err(SignInRefusal::Interrupted);
    }
    let age = OffsetDateTime::now_utc().unix_timestamp() - pending.started_at;
    if !(0..=SIGN_IN_LIFETIME.as_secs() as i64).contains(&age) {
        return Err(SignInRefusal::Interrupted);
    }
    if let Some(error) = params.error.as_deref() {
        return Err(
            if params.error_subcode.as_deref() == Some("cancel") || error == "access_denied" {
                SignInRefusal::Cancelled
            } else {
                SignInRefusal::Microsoft(
                    error
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .take(64)
                        .collect(),
                )
            },
        );
    }
    let code = params
        .code
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or(SignInRefusal::Interrupted)?;
    let claims = microsoft
        .finish_sign_in(&code, &pending, redirect_uri)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "Microsoft sign-in: code or ID token refused");
            match error {
                MicrosoftError::Timeout { .. } | MicrosoftError::Unavailable { .. } => {
                    SignInRefusal::Unavailable
                }
                _ => SignInRefusal::UntrustedAnswer,
            }
        })?;
    let mut conn = pool.acquire().await.map_err(internal)?;
    let Some(organization_id) = store::organization_of_tenant(&mut conn, claims.tenant_id.as_str())
        .await
        .map_err(internal)?
    else {
        tracing::info!(tenant = %claims.tenant_id, "Microsoft sign-in from a tenant no organization connected");
        return Err(SignInRefusal::NotConnected);
    };
    drop(conn);
    match member_of(pool, organization_id, &claims).await {
        Ok(user) => Ok(user),
        Err(refusal) => {
            if let SignInRefusal::NotAMember { .. } = refusal
                && let Ok(mut conn) = pool.acquire().await
            {
                let _ = audit::record(
                    &mut conn,
                    organization_id,
                    None,
                    Action::MicrosoftSignInRefused,
                    &format!(
                        "Microsoft account {} (object id {}) is not a member",
                        claims
                            .preferred_username
                            .as_deref()
                            .unwrap_or("without a name"),
                        claims.oid
                    ),
                )
                .await;
            }
            Err(refusal)
        }
    }
}

/// The member the Microsoft account opens, binding it the first time; audited.
async fn member_of(
    pool: &Pool,
    organization_id: OrganizationId,
    claims: &IdTokenClaims,
) -> Result<User, SignInRefusal> {
    let tenant = claims.tenant_id.as_str();
    // The organization's key: binding a Microsoft account to a member is an account change.
    let mut tx = db::begin_write(pool, Lock::Key(LockKey::organization(organization_id.0)))
        .await
        .map_err(internal)?;
    let organization = accounts::organization_name(&mut tx, organization_id)
        .await
        .map_err(internal)?;
    let not_a_member = || SignInRefusal::NotAMember {
        organization: organization.clone(),
    };
    let bound = microsoft_account::member_by_microsoft_account(
        &mut tx,
        organization_id,
        tenant,
        &claims.oid,
    )
    .await
    .map_err(internal)?;
    let (user, newly_bound) = match bound {
        Some(user) => (user, false),
        None => {
            let email = vouched_email(&mut tx, organization_id, claims)
                .await
                .map_err(internal)?
                .ok_or_else(not_a_member)?;
            let user = microsoft_account::unbound_member_by_email(
                &mut tx,
                organization_id,
                tenant,
                &email,
            )
            .await
            .map_err(internal)?
            .ok_or_else(not_a_member)?;
            if !microsoft_account::bind_microsoft_account(&mut tx, user.id, tenant, &claims.oid)
                .await
                .map_err(internal)?
            {
                return Err(not_a_member());
            }
            (user, true)
        }
    };
    // An invited teammate who has not accepted yet is not a member who can sign in.
    if !user.active {
        return Err(not_a_member());
    }
    audit::record(
        &mut tx,
        organization_id,
        Some(&user),
        Action::MicrosoftSignInSucceeded,
        &format!(
            "Microsoft account {} (tenant {}, object id {}){}",
            claims
                .preferred_username
                .as_deref()
                .unwrap_or("without a name"),
            tenant,
            claims.oid,
            if newly_bound {
                "; bound to this member by its email, which Microsoft vouches for"
            } else {
                ""
            }
        ),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(user = %user.id, "signed in with Microsoft");
    Ok(user)
}

/// The token's email, when Microsoft vouches for it: `xms_edov` is `true` and the address's
/// domain is one of the tenant's verified domains (as read at connect).
async fn vouched_email(
    conn: &mut impl db::Connection,
    organization_id: OrganizationId,
    claims: &IdTokenClaims,
) -> Result<Option<EmailAddress>, sqlx::Error> {
    if !claims.email_domain_verified {
        return Ok(None);
    }
    let Some(email) = claims
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
    else {
        return Ok(None);
    };
    let Some(integration) = store::integration(conn, organization_id).await? else {
        return Ok(None);
    };
    let in_tenant = integration.tenant_id == claims.tenant_id.as_str()
        && integration
            .domains
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(email.domain()));
    Ok(in_tenant.then_some(email))
}

/// Why "Microsoft only" could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum MicrosoftOnlyError {
    #[error("Only organization administrators can change how people sign in.")]
    NotAdmin,
    #[error(
        "Connect Microsoft on the Integrations page first: Microsoft only needs a connected tenant."
    )]
    NotConnected,
    #[error(
        "Sign in with Microsoft yourself first (sign out, then \"Sign in with Microsoft\"), so you know it lets you in before passwords stop working."
    )]
    SignInWithMicrosoftFirst,
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Whether the organization signs in with Microsoft only (for the tenant connected now).
pub async fn microsoft_only(
    pool: &Pool,
    organization_id: OrganizationId,
) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    microsoft_account::is_microsoft_only(&mut conn, organization_id).await
}

/// Turns "Microsoft only" on or off, audited. On needs the tenant connected and the acting
/// administrator bound to a Microsoft account of it (they signed in with Microsoft), so an
/// administrator cannot lock themselves out. Removing the integration, or connecting another
/// tenant, turns it off by itself (see the migration).
pub async fn set_microsoft_only(
    pool: &Pool,
    actor: &User,
    on: bool,
) -> Result<(), MicrosoftOnlyError> {
    if !actor.is_admin() {
        return Err(MicrosoftOnlyError::NotAdmin);
    }
    let organization_id = actor.organization_id;
    // The organization's key, as every organization-wide setting (docs/concurrency.md).
    let mut tx = db::begin_write(pool, Lock::Key(LockKey::organization(organization_id.0))).await?;
    let was_on = microsoft_account::is_microsoft_only(&mut tx, organization_id).await?;
    if on {
        let tenant = store::integration(&mut tx, organization_id)
            .await?
            .ok_or(MicrosoftOnlyError::NotConnected)?
            .tenant_id;
        if !microsoft_account::is_bound_to_tenant(&mut tx, actor.id, &tenant).await? {
            return Err(MicrosoftOnlyError::SignInWithMicrosoftFirst);
        }
        if !microsoft_account::turn_on_microsoft_only(
            &mut tx,
            organization_id,
            &tenant,
            actor.id,
            OffsetDateTime::now_utc(),
        )
        .await?
        {
            return Err(MicrosoftOnlyError::NotConnected);
        }
    } else {
        microsoft_account::turn_off_microsoft_only(&mut tx, organization_id).await?;
    }
    if was_on != on {
        let (action, words) = if on {
            (
                Action::MicrosoftOnlyOn,
                "Password sign-in is refused; members sign in with Microsoft",
            )
        } else {
            (
                Action::MicrosoftOnlyOff,
                "Members may sign in with a password again",
            )
        };
        audit::record(&mut tx, organization_id, Some(actor), action, words).await?;
    }
    tx.commit().await?;
    Ok(())
}
