//! Passwords: change one's own, ask for a link when it is forgotten, set a new one with it.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::ssr,
    time::OffsetDateTime,
    traceless::accounts::password_change::{self, PasswordChange},
    traceless::accounts::password_reset,
    traceless::audit::{self, Action},
    traceless::mail::{MessageKind, compose, outbox},
};

/// Changes the signed-in person's password; other sessions are signed out. Returns how many.
#[server(endpoint = "change_password")]
pub async fn change_password(current_password: String, password: String) -> Result<u64, AppError> {
    ssr::respond(
        async {
            // The account's own: allowed before its address is confirmed.
            let user = ssr::require_account().await?;
            let keep = ssr::session_key().await?.ok_or(AppError::Unauthenticated)?;
            let state = ssr::state()?;
            let pool = state.pool.clone();
            let ended = password_change::change_password(
                &pool,
                &state.shared_limits.sign_in,
                &user,
                PasswordChange {
                    current: &current_password,
                    new: &password,
                    keep: &keep,
                    client: ssr::client().await?,
                },
            )
            .await?;
            audit::record(
                &mut pool.acquire().await?,
                user.organization_id,
                Some(&user),
                Action::PasswordChanged,
                &format!("{ended} other sessions signed out"),
            )
            .await?;
            Ok(ended)
        }
        .await,
    )
}

/// Sends a link to set a new password to `email`, when it has an account. The answer is
/// the same, and as slow, either way: it must not tell who has an account.
#[server(endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let answer = password_reset::EvenAnswer::start();
            let state = ssr::state()?;
            state.limits.check_forgot_password(&email)?;
            // Rows only: a new reset row and its mail; the account is not known before the read.
            let mut tx = traceless::db::begin_write(&state.pool, traceless::db::Lock::Rows).await?;
            if let Some(reset) =
                password_reset::issue(&mut tx, &email, OffsetDateTime::now_utc()).await?
            {
                let link = state
                    .settings
                    .public_url
                    .join(&format!("reset-password/{}", reset.token.expose()))
                    .map_err(ssr::internal)?;
                let mail = compose::password_reset(&compose::PasswordResetMail {
                    to: reset.user.email.as_str(),
                    link: &link,
                    expires_at: reset.expires_at,
                });
                outbox::enqueue(
                    &mut tx,
                    outbox::NewMessage {
                        organization_id: reset.user.organization_id,
                        verification_id: None,
                        ticket_id: None,
                        kind: MessageKind::Account,
                        mail: &mail,
                    },
                )
                .await?;
            }
            tx.commit().await?;
            answer.wait().await;
            Ok(())
        }
        .await,
    )
}

/// Whether a reset link still works, for its page.
#[server(endpoint = "reset_link_open")]
pub async fn reset_link_open(token: String) -> Result<bool, AppError> {
    ssr::respond(async { Ok(password_reset::is_open(&ssr::pool()?, &token).await?) }.await)
}

/// Sets a new password with a reset link; every session of the account ends, and the
/// person signs in again with the new password.
#[server(endpoint = "reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let pool = ssr::pool()?;
            let user = password_reset::reset_password(&pool, &token, &password).await?;
            audit::record(
                &mut pool.acquire().await?,
                user.organization_id,
                Some(&user),
                Action::PasswordReset,
                "",
            )
            .await?;
            leptos_axum::redirect("/signin?password_reset=1");
            Ok(())
        }
        .await,
    )
}
