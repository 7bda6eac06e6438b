//! An administrator resets a teammate's two-step verification (lost phone and recovery
//! codes): the Team page's "Reset two-step verification".

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::ssr,
    traceless::accounts::UserId,
    traceless::mfa::{self, Caller, MfaError},
};

/// Removes the teammate's authenticator app and recovery codes and signs them out
/// everywhere; they next sign in with their password alone (or are sent to set it up again
/// if the organization requires it). Answers the teammate's name, for the confirmation.
#[server(endpoint = "reset_teammate_two_step")]
pub async fn reset_teammate_two_step(id: String) -> Result<String, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            // A malformed id names nobody: the same answer as a teammate of another organization.
            let id = id
                .parse()
                .map(UserId)
                .map_err(|_| AppError::from(MfaError::MemberNotFound))?;
            let caller = Caller {
                user: &admin,
                client: ssr::client_address().await,
            };
            let teammate = mfa::reset_teammate(&ssr::pool()?, caller, id).await?;
            Ok(teammate.display_name)
        }
        .await,
    )
}
