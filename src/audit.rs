//! The organization's audit log: who did what, when. Append-only; read by admins.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::accounts::{OrganizationId, User, UserId};
use crate::db::{self, Connection, Pool};

/// What happened. Stored as its `as_str`, so renaming a variant needs a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    MicrosoftConnectStarted,
    MicrosoftConnected,
    MicrosoftConnectFailed,
    MicrosoftRemoved,
    MicrosoftConsentGranted,
    MicrosoftChoiceNeeded,
    MicrosoftEmailClaimChanged,
    MicrosoftRefreshed,
    MicrosoftRefreshFailed,
    MicrosoftUncheckedEmailAccepted,
    MicrosoftFaceCheckRefused,
    MicrosoftSignInSucceeded,
    MicrosoftSignInRefused,
    MicrosoftOnlyOn,
    MicrosoftOnlyOff,
    RecoveryEnabled,
    RecoveryEnableFailed,
    RecoveryDisabled,
    RecoveryPolicyChanged,
    RecoveryPermissionChanged,
    ApiKeyCreated,
    ApiKeyRevoked,
    WebhookEndpointAdded,
    WebhookEndpointRemoved,
    WebhookEndpointDisabled,
    WebhookEndpointEnabled,
    SignInSucceeded,
    /// A wrong password for an existing account (an unknown address is not logged: there
    /// is no organization to log it in).
    SignInFailed,
    MfaEnabled,
    MfaDisabled,
    MfaCodeFailed,
    MfaRecoveryCodeUsed,
    MfaRecoveryCodesRegenerated,
    MfaRequired,
    MfaNoLongerRequired,
    /// An administrator reset a teammate's two-step verification (the teammate in the detail).
    MfaResetForTeammate,
    InvitationSent,
    InvitationRenewed,
    InvitationAccepted,
    RoleChanged,
    MemberRemoved,
    VerificationSettingsChanged,
    SessionEnded,
    SignedOutEverywhere,
    PasswordChanged,
    PasswordReset,
    /// The organization was made by a sign-up (its address not confirmed yet).
    SignedUp,
    /// The sign-up's address was confirmed with the mailed link.
    EmailConfirmed,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::MicrosoftConnectStarted => "microsoft.connect_started",
            Action::MicrosoftConnected => "microsoft.connected",
            Action::MicrosoftConnectFailed => "microsoft.connect_failed",
            Action::MicrosoftRemoved => "microsoft.removed",
            Action::MicrosoftConsentGranted => "microsoft.consent_granted",
            Action::MicrosoftChoiceNeeded => "microsoft.choice_needed",
            Action::MicrosoftEmailClaimChanged => "microsoft.email_claim_changed",
            Action::MicrosoftRefreshed => "microsoft.refreshed",
            Action::MicrosoftRefreshFailed => "microsoft.refresh_failed",
            Action::MicrosoftUncheckedEmailAccepted => "microsoft.unchecked_email_accepted",
            Action::MicrosoftFaceCheckRefused => "microsoft.face_check_refused",
            Action::MicrosoftSignInSucceeded => "microsoft.sign_in_succeeded",
            Action::MicrosoftSignInRefused => "microsoft.sign_in_refused",
            Action::MicrosoftOnlyOn => "microsoft.only_on",
            Action::MicrosoftOnlyOff => "microsoft.only_off",
            Action::RecoveryEnabled => "recovery.enabled",
            Action::RecoveryEnableFailed => "recovery.enable_failed",
            Action::RecoveryDisabled => "recovery.disabled",
            Action::RecoveryPolicyChanged => "recovery.policy_changed",
            Action::RecoveryPermissionChanged => "recovery.permission_changed",
            Action::ApiKeyCreated => "api_key.created",
            Action::ApiKeyRevoked => "api_key.revoked",
            Action::WebhookEndpointAdded => "webhook.endpoint_added",
            Action::WebhookEndpointRemoved => "webhook.endpoint_removed",
            Action::WebhookEndpointDisabled => "webhook.endpoint_disabled",
            Action::WebhookEndpointEnabled => "webhook.endpoint_enabled",
            Action::SignInSucceeded => "sign_in.succeeded",
            Action::SignInFailed => "sign_in.failed",
            Action::MfaEnabled => "mfa.enabled",
            Action::MfaDisabled => "mfa.disabled",
            Action::MfaCodeFailed => "mfa.code_failed",
            Action::MfaRecoveryCodeUsed => "mfa.recovery_code_used",
            Action::MfaRecoveryCodesRegenerated => "mfa.recovery_codes_regenerated",
            Action::MfaRequired => "organization.mfa_required",
            Action::MfaNoLongerRequired => "organization.mfa_not_required",
            Action::MfaResetForTeammate => "mfa.reset_for_teammate",
            Action::InvitationSent => "team.invitation_sent",
            Action::InvitationRenewed => "team.invitation_renewed",
            Action::InvitationAccepted => "team.invitation_accepted",
            Action::RoleChanged => "team.role_changed",
            Action::MemberRemoved => "team.member_removed",
            Action::VerificationSettingsChanged => "verification.settings_changed",
            Action::SessionEnded => "session.ended",
            Action::SignedOutEverywhere => "session.signed_out_everywhere",
            Action::PasswordChanged => "password.changed",
            Action::PasswordReset => "password.reset",
            Action::SignedUp => "account.signed_up",
            Action::EmailConfirmed => "account.email_confirmed",
        }
    }

    pub fn describe(action: &str) -> &'static str {
        match action {
            "microsoft.connect_started" => "Started connecting Microsoft Verified ID",
            "microsoft.connected" => "Connected Microsoft Verified ID",
            "microsoft.connect_failed" => "Connecting Microsoft Verified ID failed",
            "microsoft.removed" => "Removed Microsoft Verified ID",
            "microsoft.consent_granted" => "Granted admin consent at Microsoft",
            "microsoft.choice_needed" => "Asked to choose the Verified ID credential",
            "microsoft.email_claim_changed" => "Changed the credential's email claim",
            "microsoft.refreshed" => "Refreshed Microsoft Verified ID from Microsoft",
            "microsoft.refresh_failed" => "Refreshing Microsoft Verified ID from Microsoft failed",
            "microsoft.unchecked_email_accepted" => {
                "Accepted an email that is not checked against the directory"
            }
            "microsoft.face_check_refused" => "Microsoft refused Face Check for the tenant",
            "microsoft.sign_in_succeeded" => "Signed in with Microsoft",
            "microsoft.sign_in_refused" => "A sign-in with Microsoft was refused",
            "microsoft.only_on" => "Made Microsoft the only way to sign in",
            "microsoft.only_off" => "Allowed password sign-in again",
            "recovery.enabled" => "Enabled account recovery (Temporary Access Pass)",
            "recovery.enable_failed" => "Enabling account recovery failed",
            "recovery.disabled" => "Turned off account recovery",
            "recovery.policy_changed" => "Changed the account recovery policy",
            "recovery.permission_changed" => "Changed who may start account recovery",
            "api_key.created" => "Created an API key",
            "api_key.revoked" => "Revoked an API key",
            "webhook.endpoint_added" => "Added a webhook endpoint",
            "webhook.endpoint_removed" => "Removed a webhook endpoint",
            "webhook.endpoint_disabled" => {
                "A webhook endpoint was disabled after a day of failures"
            }
            "webhook.endpoint_enabled" => "Enabled a webhook endpoint again",
            "sign_in.succeeded" => "Signed in",
            "sign_in.failed" => "A sign-in failed: wrong password",
            "mfa.enabled" => "Turned on two-step verification",
            "mfa.disabled" => "Turned off two-step verification",
            "mfa.code_failed" => "A two-step verification code was refused",
            "mfa.recovery_code_used" => "Used a recovery code",
            "mfa.recovery_codes_regenerated" => "Made new recovery codes",
            "organization.mfa_required" => "Required two-step verification for everyone",
            "organization.mfa_not_required" => "Stopped requiring two-step verification",
            "mfa.reset_for_teammate" => "Reset a teammate's two-step verification",
            "team.invitation_sent" => "Invited a teammate",
            "team.invitation_renewed" => "Sent a teammate a new invite link",
            "team.invitation_accepted" => "Accepted an invitation",
            "team.role_changed" => "Changed a teammate's role",
            "team.member_removed" => "Removed a teammate",
            "verification.settings_changed" => "Changed the verification settings",
            "session.ended" => "Signed out one of their sessions",
            "session.signed_out_everywhere" => "Signed out of every other session",
            "password.changed" => "Changed their password",
            "password.reset" => "Set a new password with a link from the sign-in page",
            "account.signed_up" => "Signed up and created the organization",
            "account.email_confirmed" => "Confirmed their email address",
            _ => "Other",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub actor_name: String,
    pub action: String,
    pub detail: String,
    pub created_at: OffsetDateTime,
    /// The client's address, for what a person did from a browser (none for Traceless' own
    /// background work, and for entries written before it was kept).
    pub client_address: Option<String>,
}

/// Appends an entry; use inside the transaction of the change it describes.
pub async fn record(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    actor: Option<&User>,
    action: Action,
    detail: &str,
) -> Result<(), sqlx::Error> {
    record_from(conn, organization_id, actor, action, detail, None).await
}

/// [`record`], with the address of the client the action came from.
pub async fn record_from(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    actor: Option<&User>,
    action: Action,
    detail: &str,
    client: Option<IpAddr>,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO audit_log (organization_id, actor_id, actor_name, action, detail, created_at, client_address)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(organization_id.0)
    .bind(actor.map(|a| a.id.0))
    .bind(actor.map_or_else(
        || "Traceless".to_owned(),
        |a| format!("{} ({})", a.display_name, a.email),
    ))
    .bind(action.as_str())
    .bind(detail)
    .bind(OffsetDateTime::now_utc())
    .bind(client.map(|ip| ip.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest `limit` entries of one organization, newest first.
pub async fn recent(
    pool: &Pool,
    organization_id: OrganizationId,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    page(pool, organization_id, &Filter::default(), limit).await
}

/// Which entries an administrator asked to see. `None` is "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// One kind, as stored (`Action::as_str`).
    pub action: Option<String>,
    /// Entries by one person.
    pub actor: Option<UserId>,
    /// Entries older than this one (the next page).
    pub before: Option<i64>,
}

/// Up to `limit` entries of one organization matching `filter`, newest first.
pub async fn page(
    pool: &Pool,
    organization_id: OrganizationId,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    // Each filter is a bound value or NULL, so one statement serves every combination.
    db::query(
        "SELECT id, actor_name, action, detail, created_at, client_address FROM audit_log
         WHERE organization_id = $1
           AND ($2 IS NULL OR action = $2)
           AND ($3 IS NULL OR actor_id = $3)
           AND ($4 IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5",
    )
    .bind(organization_id.0)
    .bind(filter.action.clone())
    .bind(filter.actor.map(|a| a.0))
    .bind(filter.before)
    .bind(limit)
    .fetch_all_as(&mut pool.acquire().await?)
    .await
}

/// The kinds present in one organization's log, and the people who appear in it: the
/// choices of the page's filters (whatever kinds exist, including ones added later).
pub async fn facets(
    pool: &Pool,
    organization_id: OrganizationId,
) -> Result<(Vec<String>, Vec<(UserId, String)>), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let kinds = db::query(
        "SELECT DISTINCT action FROM audit_log WHERE organization_id = $1 ORDER BY action",
    )
    .bind(organization_id.0)
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|row| row.try_get::<String, _>(0))
    .collect::<Result<Vec<_>, _>>()?;
    // The latest name each person was logged under.
    let people = db::query(
        "SELECT a.actor_id, a.actor_name FROM audit_log a
         WHERE a.organization_id = $1 AND a.actor_id IS NOT NULL
           AND a.id = (SELECT MAX(b.id) FROM audit_log b
                       WHERE b.organization_id = $1 AND b.actor_id = a.actor_id)
         ORDER BY a.actor_name",
    )
    .bind(organization_id.0)
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|row| Ok((UserId(row.try_get(0)?), row.try_get(1)?)))
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((kinds, people))
}
