//! The organization's audit log: who did what, when. Append-only; read by admins.

use time::OffsetDateTime;

use crate::accounts::{OrganizationId, User};
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
    ApiKeyCreated,
    ApiKeyRevoked,
    WebhookEndpointAdded,
    WebhookEndpointRemoved,
    WebhookEndpointDisabled,
    WebhookEndpointEnabled,
    SessionEnded,
    SignedOutEverywhere,
    PasswordChanged,
    PasswordReset,
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
            Action::ApiKeyCreated => "api_key.created",
            Action::ApiKeyRevoked => "api_key.revoked",
            Action::WebhookEndpointAdded => "webhook.endpoint_added",
            Action::WebhookEndpointRemoved => "webhook.endpoint_removed",
            Action::WebhookEndpointDisabled => "webhook.endpoint_disabled",
            Action::WebhookEndpointEnabled => "webhook.endpoint_enabled",
            Action::SessionEnded => "session.ended",
            Action::SignedOutEverywhere => "session.signed_out_everywhere",
            Action::PasswordChanged => "password.changed",
            Action::PasswordReset => "password.reset",
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
            "api_key.created" => "Created an API key",
            "api_key.revoked" => "Revoked an API key",
            "webhook.endpoint_added" => "Added a webhook endpoint",
            "webhook.endpoint_removed" => "Removed a webhook endpoint",
            "webhook.endpoint_disabled" => {
                "A webhook endpoint was disabled after a day of failures"
            }
            "webhook.endpoint_enabled" => "Enabled a webhook endpoint again",
            "session.ended" => "Signed out one of their sessions",
            "session.signed_out_everywhere" => "Signed out of every other session",
            "password.changed" => "Changed their password",
            "password.reset" => "Set a new password with a link from the sign-in page",
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
}

/// Appends an entry; use inside the transaction of the change it describes.
pub async fn record(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    actor: Option<&User>,
    action: Action,
    detail: &str,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO audit_log (organization_id, actor_id, actor_name, action, detail, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
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
    db::query(
        "SELECT id, actor_name, action, detail, created_at FROM audit_log
         WHERE organization_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(organization_id.0)
    .bind(limit)
    .fetch_all_as(&mut pool.acquire().await?)
    .await
}
