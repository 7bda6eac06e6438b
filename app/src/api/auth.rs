//! Sign in, sign out, and who is signed in (signing up is `super::email_ownership`).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Me;

#[cfg(feature = "ssr")]
use crate::ssr;

/// The signed-in person, or `None` for a visitor.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<Me>, AppError> {
    ssr::respond(
        async {
            // Confirmed or not: the page says which (the banner), and what to do.
            let Some(user) = ssr::current_account().await? else {
                return Ok(None);
            };
            let organization =
                traceless::accounts::organization(&ssr::pool()?, user.organization_id).await?;
            let mailbox = user.is_admin() && ssr::state()?.mailbox;
            Ok(Some(Me {
                mailbox,
                name: user.display_name,
                email: user.email.to_string(),
                role: super::convert::role(user.role),
                organization: organization.name,
                email_confirmed: user.email_confirmed,
            }))
        }
        .await,
    )
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let state = ssr::state()?;
            // Failures counted per account and address, per address, and per account
            // (shared between instances): see traceless::shared_limits::sign_in.
            let signed_in = traceless::accounts::sign_in_counted(
                &state.pool,
                &state.shared_limits.sign_in,
                ssr::client().await?,
                &email,
                &password,
            )
            .await;
            let user = match signed_in {
                Err(traceless::accounts::AccountError::WrongCredentials) => {
                    super::two_step::password_refused(&email).await;
                    return Err(traceless::accounts::AccountError::WrongCredentials.into());
                }
                other => other?,
            };
            // A session only once the second step (if any) is done.
            super::two_step::after_password(user).await
        }
        .await,
    )
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    ssr::respond(
        async {
            ssr::end_session().await?;
            leptos_axum::redirect("/signin?signed_out=1");
            Ok(())
        }
        .await,
    )
}
