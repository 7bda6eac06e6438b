//! The Microsoft Verified ID connection card: view, connect, remove; and the audit log.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AuditEntry, MicrosoftCard};

#[cfg(feature = "ssr")]
use {
    super::convert,
    crate::model::{ConnectOutcome, MicrosoftConnection},
    crate::ssr,
    traceless::integrations::{self, IntegrationError},
};

/// Session key of the connect attempt this browser started (see `finish_connect`).
#[cfg(feature = "ssr")]
pub const CONNECT_ATTEMPT_KEY: &str = "microsoft_connect_attempt";
/// Session key of the last connect outcome, shown once on the card.
#[cfg(feature = "ssr")]
pub const CONNECT_OUTCOME_KEY: &str = "microsoft_connect_outcome";

#[server(endpoint = "microsoft_connection_card")]
pub async fn microsoft_connection_card() -> Result<MicrosoftCard, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_user().await?;
            let session = ssr::session().await?;
            let outcome: Option<ConnectOutcome> = session
                .remove(CONNECT_OUTCOME_KEY)
                .await
                .map_err(|e| ssr::internal(format!("reading the session: {e}")))?;
            let connection = integrations::integration(&ssr::pool()?, user.organization_id)
                .await
                .map_err(ssr::internal)?
                .map(|i| MicrosoftConnection {
                    tenant_name: i.tenant_name,
                    tenant_id: i.tenant_id,
                    authority_did: i.authority_did,
                    credential_type: i.credential_type,
                    domains: i.domains.into_iter().map(|d| d.name).collect(),
                    microsoft_account: i.microsoft_account,
                    connected_by: i.connected_by_name,
                    connected_at: convert::when(i.connected_at),
                });
            Ok(MicrosoftCard {
                can_manage: user.is_admin(),
                connection,
                outcome,
            })
        }
        .await,
    )
}

/// "Log in to your tenant": records a connect attempt and sends the browser to Microsoft.
#[server(endpoint = "start_microsoft_connect")]
pub async fn start_microsoft_connect() -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let state = ssr::state()?;
            let start = integrations::start_connect(
                &state.pool,
                &state.microsoft,
                &admin,
                &state.microsoft_redirect_uri,
            )
            .await
            .map_err(integration_error)?;
            let session = ssr::session().await?;
            session
                .insert(CONNECT_ATTEMPT_KEY, start.attempt_id)
                .await
                .map_err(|e| ssr::internal(format!("writing the session: {e}")))?;
            leptos_axum::redirect(start.authorize_url.as_str());
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "remove_microsoft_integration")]
pub async fn remove_microsoft_integration() -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let state = ssr::state()?;
            integrations::remove(&state.pool, &admin)
                .await
                .map_err(integration_error)?;
            // Pending verifications stop: their links no longer work, and open pages hear it.
            state
                .verifier
                .cancel_all(admin.organization_id)
                .await
                .map_err(|e| ssr::internal(format!("cancelling verifications: {e}")))?;
            Ok(())
        }
        .await,
    )
}

#[server(endpoint = "audit_log")]
pub async fn audit_log() -> Result<Vec<AuditEntry>, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let entries = traceless::audit::recent(&ssr::pool()?, admin.organization_id, 200)
                .await
                .map_err(ssr::internal)?;
            Ok(entries
                .into_iter()
                .map(|e| AuditEntry {
                    id: e.id,
                    at: convert::when(e.created_at),
                    actor: e.actor_name,
                    action: traceless::audit::Action::describe(&e.action).to_owned(),
                    detail: e.detail,
                })
                .collect())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn integration_error(error: IntegrationError) -> AppError {
    match error {
        IntegrationError::NotAdmin => AppError::Forbidden(
            "You must be an organization administrator in Traceless to connect integrations. Ask your Traceless organization administrator to connect Microsoft Verified ID or to grant you the appropriate access.".into(),
        ),
        IntegrationError::NotConnected => AppError::invalid(None, "Microsoft Verified ID is not connected, so there is nothing to remove."),
        IntegrationError::Microsoft(e) => ssr::internal(format!("preparing the Microsoft sign-in: {e}")),
        IntegrationError::Database(e) => ssr::internal(format!("database: {e}")),
    }
}
