//! The invited teammate's side: see the invite, set a password, get signed in.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Invite;

#[cfg(feature = "ssr")]
use crate::ssr;

#[server(endpoint = "invite_details")]
pub async fn invite_details(token: String) -> Result<Invite, AppError> {
    ssr::respond(
        async {
            let details = traceless::accounts::invite_details(&ssr::pool()?, &token).await?;
            Ok(Invite {
                organization: details.organization_name,
                name: details.display_name,
                email: details.email.to_string(),
                role: super::convert::role(details.role),
            })
        }
        .await,
    )
}

#[server(endpoint = "accept_invite")]
pub async fn accept_invite(token: String, password: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let user = traceless::accounts::accept_invite(&ssr::pool()?, &token, &password).await?;
            super::audit::record(&user, traceless::audit::Action::InvitationAccepted, "").await?;
            // As after a password: an organization that requires two-step verification
            // has the new member set it up before anything else.
            super::two_step::after_password(user).await
        }
        .await,
    )
}
