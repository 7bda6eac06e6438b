//! The organization's team, for its administrators: list, invite, renew, change roles, remove.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{InviteLink, Team};

#[cfg(feature = "ssr")]
use {
    super::convert,
    crate::model::{Member, PendingTeammate, Role},
    crate::ssr,
    traceless::accounts::{self, UserId},
    traceless::audit::Action,
};

#[server(endpoint = "team_members")]
pub async fn team_members() -> Result<Team, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let pool = ssr::pool()?;
            let team = accounts::team(&pool, &admin).await?;
            let two_step = traceless::mfa::enabled_in_organization(&pool, &admin).await?;
            Ok(Team {
                members: team
                    .members
                    .into_iter()
                    .map(|u| Member {
                        id: u.id.to_string(),
                        is_you: u.id == admin.id,
                        two_step: two_step.contains(&u.id),
                        name: u.display_name,
                        email: u.email.to_string(),
                        role: convert::role(u.role),
                        since: convert::when(u.created_at),
                    })
                    .collect(),
                pending: team
                    .pending
                    .into_iter()
                    .map(|p| PendingTeammate {
                        id: p.user.id.to_string(),
                        name: p.user.display_name,
                        email: p.user.email.to_string(),
                        role: convert::role(p.user.role),
                        expires: convert::when(p.expires_at),
                        expired: p.expired,
                    })
                    .collect(),
            })
        }
        .await,
    )
}

#[server(endpoint = "invite_teammate")]
pub async fn invite_teammate(
    name: String,
    email: String,
    role: String,
) -> Result<InviteLink, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let role = parse_role(&role)?;
            let state = ssr::state()?;
            let (user, secret) = accounts::invite_teammate(
                &state.pool,
                &admin,
                accounts::NewTeammate {
                    email: &email,
                    display_name: &name,
                    role: convert::domain_role(role),
                },
                state.settings.invite_lifetime,
            )
            .await?;
            super::audit::record(
                &admin,
                Action::InvitationSent,
                &format!("{} as {}", who(&user), user.role.as_str()),
            )
            .await?;
            Ok(link(&state, &user, secret, state.settings.invite_lifetime))
        }
        .await,
    )
}

/// A new link for a teammate who lost theirs or let it expire; the old one stops working.
#[server(endpoint = "renew_invite")]
pub async fn renew_invite(id: String) -> Result<InviteLink, AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let state = ssr::state()?;
            let (user, secret) = accounts::renew_invite(
                &state.pool,
                &admin,
                parse_id(&id)?,
                state.settings.invite_lifetime,
            )
            .await?;
            super::audit::record(&admin, Action::InvitationRenewed, &who(&user)).await?;
            Ok(link(&state, &user, secret, state.settings.invite_lifetime))
        }
        .await,
    )
}

#[server(endpoint = "remove_teammate")]
pub async fn remove_teammate(id: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let pool = ssr::pool()?;
            let id = parse_id(&id)?;
            // Read first: the log names who was removed.
            let teammate = accounts::member(&pool, admin.organization_id, id).await?;
            accounts::remove_teammate(&pool, &admin, id).await?;
            if let Some(teammate) = teammate {
                super::audit::record(&admin, Action::MemberRemoved, &who(&teammate)).await?;
            }
            Ok(())
        }
        .await,
    )
}

/// Makes a teammate an organization administrator or an agent.
#[server(endpoint = "change_teammate_role")]
pub async fn change_teammate_role(id: String, role: String) -> Result<(), AppError> {
    ssr::respond(
        async {
            let admin = ssr::require_admin().await?;
            let role = parse_role(&role)?;
            let pool = ssr::pool()?;
            let id = parse_id(&id)?;
            let before = accounts::member(&pool, admin.organization_id, id).await?;
            let after =
                accounts::change_role(&pool, &admin, id, convert::domain_role(role)).await?;
            if before.is_some_and(|b| b.role != after.role) {
                super::audit::record(
                    &admin,
                    Action::RoleChanged,
                    &format!("{} is now {}", who(&after), after.role.as_str()),
                )
                .await?;
            }
            Ok(())
        }
        .await,
    )
}

/// A teammate as the audit log names them.
#[cfg(feature = "ssr")]
fn who(user: &accounts::User) -> String {
    format!("{} ({})", user.display_name, user.email)
}

#[cfg(feature = "ssr")]
fn parse_role(value: &str) -> Result<Role, AppError> {
    match value {
        "admin" => Ok(Role::Admin),
        "agent" => Ok(Role::Agent),
        _ => Err(AppError::invalid(
            Some("role"),
            "Choose a role: organization administrator or agent.",
        )),
    }
}

#[cfg(feature = "ssr")]
fn parse_id(value: &str) -> Result<UserId, AppError> {
    value
        .parse()
        .map(UserId)
        .map_err(|_| accounts::AccountError::UnknownTeammate.into())
}

#[cfg(feature = "ssr")]
fn link(
    state: &ssr::AppState,
    user: &accounts::User,
    secret: traceless::secret::Secret,
    lifetime: std::time::Duration,
) -> InviteLink {
    let url = state
        .settings
        .public_url
        .join(&format!("invite/{}", secret.expose()))
        .map(|u| u.to_string())
        .unwrap_or_default();
    InviteLink {
        name: user.display_name.clone(),
        email: user.email.to_string(),
        url,
        expires: convert::when(time::OffsetDateTime::now_utc() + lifetime),
    }
}
