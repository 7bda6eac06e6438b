//! The signed-in person's own sessions: list them, sign one out, sign out everywhere else.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SessionView;

#[cfg(feature = "ssr")]
use {
    super::convert,
    crate::ssr,
    time::OffsetDateTime,
    traceless::accounts::sessions::{self, SessionId},
    traceless::audit::{self, Action},
};

/// The signed-in person's live sessions, most recently used first.
#[server(endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionView>, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_account().await?;
            let current = ssr::session_key().await?.ok_or(AppError::Unauthenticated)?;
            let list =
                sessions::of_user(&ssr::pool()?, user.id, &current, OffsetDateTime::now_utc())
                    .await?;
            Ok(list
                .into_iter()
                .map(|s| SessionView {
                    id: s.id.0.to_string(),
                    device: s.device.unwrap_or_else(|| "Unknown device".to_owned()),
                    address: s.address,
                    signed_in: convert::when(s.created_at),
                    last_seen: convert::when(s.last_seen_at),
                    current: s.current,
                })
                .collect())
        }
        .await,
    )
}

/// Signs one of the person's sessions out: its next request is signed out.
#[server(endpoint = "end_my_session")]
pub async fn end_my_session(id: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let user = ssr::require_account().await?;
            let id = id.parse().map(SessionId).map_err(|_| already_ended())?;
            let pool = ssr::pool()?;
            let device = sessions::end(&pool, user.id, id)
                .await?
                .ok_or_else(already_ended)?;
            let device = device.unwrap_or_else(|| "Unknown device".to_owned());
            audit::record(
                &mut pool.acquire().await?,
                user.organization_id,
                Some(&user),
                Action::SessionEnded,
                &device,
            )
            .await?;
            tracing::info!(user = %user.id, "session ended by its person");
            Ok(())
        }
        .await,
    )
}

/// Signs out every session of the person but this browser's.
#[server(endpoint = "end_my_other_sessions")]
pub async fn end_my_other_sessions() -> Result<u64, AppError> {
    ssr::respond(
        async {
            let user = ssr::require_account().await?;
            let current = ssr::session_key().await?.ok_or(AppError::Unauthenticated)?;
            let pool = ssr::pool()?;
            let ended =
                sessions::end_all_but(&mut pool.acquire().await?, user.id, &current).await?;
            audit::record(
                &mut pool.acquire().await?,
                user.organization_id,
                Some(&user),
                Action::SignedOutEverywhere,
                &format!("{ended} other sessions signed out"),
            )
            .await?;
            tracing::info!(user = %user.id, ended, "signed out everywhere else");
            Ok(ended)
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn already_ended() -> AppError {
    AppError::NotFound("That session has already ended. Reload the list.".into())
}
