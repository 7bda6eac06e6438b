//! Account use cases. Each validates everything before it writes, and writes in one
//! transaction, so bad input changes nothing.

use std::time::Duration;

use time::OffsetDateTime;

use super::store::{self, NewUser};
use super::{
    AccountError, InviteDetails, Organization, OrganizationId, PendingInvite, Role, User, UserId,
};
use crate::db::{self, Pool};
use crate::email::EmailAddress;
use crate::password;
use crate::secret::{Secret, SecretHash, looks_like_secret};

const MAX_NAME_CHARS: usize = 100;

/// What the sign-up form sends; see `email_confirmation::validate` and `register`.
pub struct SignUp<'a> {
    pub organization_name: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub password: &'a str,
}

/// Checks an email and password. An unknown email, a teammate who has not accepted
/// their invite, and a wrong password all give the same answer in the same time.
pub async fn sign_in(pool: &Pool, email: &str, password: &str) -> Result<User, AccountError> {
    let Ok(email) = EmailAddress::parse(email) else {
        return Err(AccountError::WrongCredentials);
    };
    let mut conn = pool.acquire().await?;
    let found = store::user_with_password_by_email(&mut conn, &email).await?;
    drop(conn);
    let (user, stored_hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let ok = password::verify_bounded(password.to_owned(), stored_hash).await?;
    match user {
        Some(user) if ok => {
            let mut conn = pool.acquire().await?;
            if super::microsoft_account::is_microsoft_only(&mut conn, user.organization_id).await? {
                return Err(AccountError::MicrosoftOnly);
            }
            Ok(user)
        }
        _ => Err(AccountError::WrongCredentials),
    }
}

/// The account registered under `email`, whether or not it can sign in yet: for the audit
/// log of refused sign-ins, never for an answer to the visitor.
pub async fn account_by_email(
    pool: &Pool,
    email: &EmailAddress,
) -> Result<Option<User>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    Ok(store::user_with_password_by_email(&mut conn, email)
        .await?
        .map(|(user, _)| user))
}

/// A member (or pending invitee) of the organization, by id.
pub async fn member(
    pool: &Pool,
    organization_id: OrganizationId,
    id: UserId,
) -> Result<Option<User>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::user_of_organization(&mut conn, organization_id, id).await
}

/// The signed-in user behind a session, if they still exist and are active.
pub async fn active_user(pool: &Pool, id: UserId) -> Result<Option<User>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    Ok(store::user_by_id(&mut conn, id).await?.filter(|u| u.active))
}

pub async fn organization(pool: &Pool, id: OrganizationId) -> Result<Organization, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    store::organization(&mut conn, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// The organization's name, inside a caller's transaction.
pub async fn organization_name(
    conn: &mut impl db::Connection,
    id: OrganizationId,
) -> Result<String, sqlx::Error> {
    Ok(store::organization(conn, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?
        .name)
}

pub struct Team {
    pub members: Vec<User>,
    pub pending: Vec<PendingInvite>,
}

/// The organization's people, for its administrators.
pub async fn team(pool: &Pool, actor: &User) -> Result<Team, AccountError> {
    require_admin(actor)?;
    let mut conn = pool.acquire().await?;
    let users = store::users_of_organization(&mut conn, actor.organization_id).await?;
    let expiries = store::pending_invite_expiries(&mut conn, actor.organization_id).await?;
    let now = OffsetDateTime::now_utc();
    let (members, invited): (Vec<User>, Vec<User>) = users.into_iter().partition(|u| u.active);
    let pending = invited
        .into_iter()
        .map(|user| {
            let expires_at = expiries
                .iter()
                .find(|(id, _)| *id == user.id)
                .map(|(_, at)| *at)
                .unwrap_or(now);
            PendingInvite {
                expired: expires_at <= now,
                user,
                expires_at,
            }
        })
        .collect();
    Ok(Team { members, pending })
}

pub struct NewTeammate<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
}

/// Adds a teammate who signs in once they set a password through the returned
/// one-time invite secret (shown to the admin once, stored only as a hash).
pub async fn invite_teammate(
    pool: &Pool,
    actor: &User,
    input: NewTeammate<'_>,
    lifetime: Duration,
) -> Result<(User, Secret), AccountError> {
    require_admin(actor)?;
    let email = EmailAddress::parse(input.email)?;
    let display_name = clean_name(input.display_name)?;
    let now = OffsetDateTime::now_utc();
    let secret = Secret::generate();
    // The organization's lock: its team changes one at a time (keep an administrator).
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await?;
    // An unconfirmed sign-up does not hold the address against an invitation, which proves
    // the address itself once accepted.
    store::remove_unconfirmed_sign_up(&mut tx, &email).await?;
    let user_id = store::insert_user(
        &mut tx,
        NewUser {
            organization_id: actor.organization_id,
            email: &email,
            display_name,
            role: input.role,
            password_hash: None,
        },
        now,
    )
    .await?
    .ok_or(AccountError::EmailTaken)?;
    store::insert_invite(
        &mut tx,
        actor.organization_id,
        user_id,
        secret.hash().as_str(),
        actor,
        now,
        now + lifetime,
    )
    .await?;
    let user = store::user_by_id(&mut tx, user_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    tx.commit().await?;
    tracing::info!(organization = %actor.organization_id, by = %actor.id, user = %user.id, role = user.role.as_str(), "teammate invited");
    Ok((user, secret))
}

/// Replaces a pending teammate's invite link with a fresh one; the old link stops working.
pub async fn renew_invite(
    pool: &Pool,
    actor: &User,
    teammate: UserId,
    lifetime: Duration,
) -> Result<(User, Secret), AccountError> {
    require_admin(actor)?;
    let now = OffsetDateTime::now_utc();
    let secret = Secret::generate();
    // The organization's lock: its team changes one at a time (keep an administrator).
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await?;
    let user = store::user_by_id(&mut tx, teammate)
        .await?
        .filter(|u| u.organization_id == actor.organization_id && !u.active)
        .ok_or(AccountError::UnknownTeammate)?;
    store::expire_invites_of(&mut tx, actor.organization_id, teammate, now).await?;
    store::insert_invite(
        &mut tx,
        actor.organization_id,
        teammate,
        secret.hash().as_str(),
        actor,
        now,
        now + lifetime,
    )
    .await?;
    tx.commit().await?;
    Ok((user, secret))
}

/// Removes a teammate (or a pending invite) from the actor's organization. The last
/// administrator who can sign in stays.
pub async fn remove_teammate(
    pool: &Pool,
    actor: &User,
    teammate: UserId,
) -> Result<(), AccountError> {
    require_admin(actor)?;
    if teammate == actor.id {
        return Err(AccountError::CannotRemoveSelf);
    }
    // The organization's lock: its team changes one at a time (keep an administrator).
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await?;
    let target = admin_change(&mut tx, actor, teammate).await?;
    if target.is_admin() && target.active {
        keep_an_admin(&mut tx, &target).await?;
    }
    store::delete_user(&mut tx, actor.organization_id, teammate).await?;
    tx.commit().await?;
    tracing::info!(organization = %actor.organization_id, by = %actor.id, user = %teammate, "teammate removed");
    Ok(())
}

/// Makes a teammate (or a pending invitee) an administrator or an agent. The last
/// administrator who can sign in cannot be made an agent.
pub async fn change_role(
    pool: &Pool,
    actor: &User,
    teammate: UserId,
    role: Role,
) -> Result<User, AccountError> {
    require_admin(actor)?;
    // The organization's lock: its team changes one at a time (keep an administrator).
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(actor.organization_id.0)),
    )
    .await?;
    let target = admin_change(&mut tx, actor, teammate).await?;
    if target.role == role {
        return Ok(target);
    }
    if target.is_admin() && target.active {
        keep_an_admin(&mut tx, &target).await?;
    }
    store::set_role(&mut tx, actor.organization_id, teammate, role).await?;
    tx.commit().await?;
    tracing::info!(organization = %actor.organization_id, by = %actor.id, user = %teammate, role = role.as_str(), "teammate role changed");
    Ok(User { role, ..target })
}

/// Inside the write transaction of a team change: the actor is still an administrator
/// (two administrators removing each other at once cannot both succeed), and the
/// teammate is in their organization.
async fn admin_change(
    conn: &mut impl db::Connection,
    actor: &User,
    teammate: UserId,
) -> Result<User, AccountError> {
    store::user_of_organization(conn, actor.organization_id, actor.id)
        .await?
        .filter(|a| a.is_admin() && a.active)
        .ok_or(AccountError::NotAdmin)?;
    store::user_of_organization(conn, actor.organization_id, teammate)
        .await?
        .ok_or(AccountError::UnknownTeammate)
}

/// Refuses to leave `admin`'s organization without an administrator who can sign in.
async fn keep_an_admin(conn: &mut impl db::Connection, admin: &User) -> Result<(), AccountError> {
    if store::count_active_admins_except(conn, admin.organization_id, admin.id).await? == 0 {
        Err(AccountError::LastAdministrator)
    } else {
        Ok(())
    }
}

/// What an open invite link is for; an unknown, used or expired link is `InviteExpired`.
pub async fn invite_details(pool: &Pool, token: &str) -> Result<InviteDetails, AccountError> {
    let mut conn = pool.acquire().await?;
    let (_, user) = open_invite(&mut conn, token).await?;
    let organization = store::organization(&mut conn, user.organization_id)
        .await?
        .ok_or(AccountError::InviteExpired)?;
    Ok(InviteDetails {
        organization_name: organization.name,
        email: user.email,
        display_name: user.display_name,
        role: user.role,
    })
}

/// Sets the invited teammate's password and uses up the invite.
pub async fn accept_invite(pool: &Pool, token: &str, password: &str) -> Result<User, AccountError> {
    let mut conn = pool.acquire().await?;
    let (_, user) = open_invite(&mut conn, token).await?;
    drop(conn);
    password::check_strength(password, user.email.local_part())?;
    let hash = password::hash_bounded(password.to_owned()).await?;

    let now = OffsetDateTime::now_utc();
    // The organization's lock: its team changes one at a time (keep an administrator).
    let mut tx = db::begin_write(
        pool,
        db::Lock::Key(db::LockKey::organization(user.organization_id.0)),
    )
    .await?;
    // Re-read inside the transaction: the link may have been used meanwhile.
    let (invite, user) = open_invite(&mut tx, token).await?;
    if !store::mark_invite_accepted(&mut tx, invite, now).await? {
        return Err(AccountError::InviteExpired);
    }
    store::set_password(&mut tx, user.id, &hash).await?;
    // The link came to the address: it proves the address.
    store::confirm_email(&mut tx, user.id, now).await?;
    tx.commit().await?;
    tracing::info!(organization = %user.organization_id, user = %user.id, "invite accepted");
    Ok(User {
        active: true,
        email_confirmed: true,
        ..user
    })
}

async fn open_invite(
    conn: &mut impl db::Connection,
    token: &str,
) -> Result<(uuid::Uuid, User), AccountError> {
    if !looks_like_secret(token) {
        return Err(AccountError::InviteExpired);
    }
    let invite = store::invite_by_token_hash(conn, SecretHash::of(token).as_str())
        .await?
        .filter(|i| !i.accepted && i.expires_at > OffsetDateTime::now_utc())
        .ok_or(AccountError::InviteExpired)?;
    let user = store::user_by_id(conn, invite.user_id)
        .await?
        .filter(|u| !u.active)
        .ok_or(AccountError::InviteExpired)?;
    Ok((invite.id, user))
}

fn require_admin(actor: &User) -> Result<(), AccountError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AccountError::NotAdmin)
    }
}

pub(super) fn clean_organization_name(name: &str) -> Result<&str, AccountError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        Err(AccountError::MissingOrganizationName)
    } else {
        Ok(name)
    }
}

pub(super) fn clean_name(name: &str) -> Result<&str, AccountError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        Err(AccountError::InvalidName)
    } else {
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organization_name_is_one_line_of_at_most_100_characters() {
        assert_eq!(clean_organization_name("  Contoso  ").unwrap(), "Contoso");
        for refused in [
            "",
            "   ",
            "Contoso\n\nhttps://example.net/login",
            "Tab\there",
            &"x".repeat(101),
        ] {
            assert!(
                matches!(
                    clean_organization_name(refused),
                    Err(AccountError::MissingOrganizationName)
                ),
                "{refused:?}"
            );
        }
    }
}
