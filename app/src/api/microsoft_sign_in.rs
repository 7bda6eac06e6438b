//! The organization's "Microsoft only" setting (sign in with Microsoft, no password), for
//! its administrators. The sign-in itself is a plain route (`server/src/routes`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::ssr;

/// What the setting's card shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSetting {
    /// A tenant is connected: Microsoft sign-in works for the organization.
    pub connected: bool,
    /// Password sign-in is refused for the organization's members.
    pub on: bool,
}

#[server(endpoint = "microsoft_only_setting")]
pub async fn microsoft_only_setting() -> Result<SignInSetting, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let pool = ssr::pool()?;
            let connected = traceless::integrations::integration(&pool, admin.organization_id)
                .await?
                .is_some();
            let on = traceless::integrations::sign_in::microsoft_only(&pool, admin.organization_id)
                .await?;
            Ok(SignInSetting { connected, on })
        }
        .await,
    )
}

/// Turns "Microsoft only" on (`on=true`) or off.
#[server(endpoint = "set_microsoft_only")]
pub async fn set_microsoft_only(on: bool) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            traceless::integrations::sign_in::set_microsoft_only(&ssr::pool()?, &admin, on).await?;
            Ok(())
        }
        .await,
    )
}
