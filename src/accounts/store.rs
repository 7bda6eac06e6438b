//! SQL for `organizations`, `users` and `invites`. Every read of organization data takes
//! the organization id, so a query cannot wander into another organization.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Organization, OrganizationId, Role, User, UserId};
use crate::db::{self, Connection};
use crate::email::EmailAddress;

pub(super) const USER_COLUMNS: &str = "id, organization_id, email, display_name, role, password_hash IS NOT NULL AS active, email_confirmed_at IS NOT NULL AS email_confirmed, created_at";

/// A `users` row as read ([`USER_COLUMNS`]).
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: UserId,
    organization_id: OrganizationId,
    email: String,
    display_name: String,
    role: String,
    active: bool,
    email_confirmed: bool,
    created_at: OffsetDateTime,
}

impl TryFrom<UserRow> for User {
    type Error = sqlx::Error;

    fn try_from(row: UserRow) -> Result<Self, sqlx::Error> {
        Ok(User {
            id: row.id,
            organization_id: row.organization_id,
            email: EmailAddress::parse(&row.email).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            display_name: row.display_name,
            role: Role::parse(&row.role)
                .ok_or_else(|| sqlx::Error::Decode(format!("role {:?}", row.role).into()))?,
            active: row.active,
            email_confirmed: row.email_confirmed,
            created_at: row.created_at,
        })
    }
}

/// A user with their password hash, for sign-in.
#[derive(sqlx::FromRow)]
struct UserWithPasswordRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<String>,
}

pub async fn insert_organization(
    conn: &mut impl Connection,
    name: &str,
    now: OffsetDateTime,
) -> Result<OrganizationId, sqlx::Error> {
    let id = Uuid::new_v4();
    db::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(OrganizationId(id))
}

pub async fn organization(
    conn: &mut impl Connection,
    id: OrganizationId,
) -> Result<Option<Organization>, sqlx::Error> {
    db::query("SELECT id, name FROM organizations WHERE id = $1")
        .bind(id.0)
        .fetch_optional_as(conn)
        .await
}

pub struct NewUser<'a> {
    pub organization_id: OrganizationId,
    pub email: &'a EmailAddress,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

/// Inserts a user; `Ok(None)` when the email is already taken.
pub async fn insert_user(
    conn: &mut impl Connection,
    new: NewUser<'_>,
    now: OffsetDateTime,
) -> Result<Option<UserId>, sqlx::Error> {
    let id = Uuid::new_v4();
    let result = db::query(
        "INSERT INTO users (id, organization_id, email, display_name, role, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING",
    )
    .bind(id)
    .bind(new.organization_id.0)
    .bind(new.email.as_str())
    .bind(new.display_name)
    .bind(new.role.as_str())
    .bind(new.password_hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok((result.rows_affected() == 1).then_some(UserId(id)))
}

/// A user and their password hash, for sign-in.
pub async fn user_with_password_by_email(
    conn: &mut impl Connection,
    email: &EmailAddress,
) -> Result<Option<(User, Option<String>)>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
    ))
    .bind(email.as_str())
    .fetch_optional_as::<UserWithPasswordRow>(conn)
    .await?;
    row.map(|row| Ok((User::try_from(row.user)?, row.password_hash)))
        .transpose()
}

/// Looks a user up by id alone: only for the session's own user, whose id came from
/// our signed session, never from a request parameter.
pub async fn user_by_id(
    conn: &mut impl Connection,
    id: UserId,
) -> Result<Option<User>, sqlx::Error> {
    let row = db::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id.0)
        .fetch_optional_as::<UserRow>(conn)
        .await?;
    row.map(User::try_from).transpose()
}

pub async fn users_of_organization(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Vec<User>, sqlx::Error> {
    let rows = db::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE organization_id = $1 ORDER BY created_at, email"
    ))
    .bind(organization_id.0)
    .fetch_all_as::<UserRow>(conn)
    .await?;
    rows.into_iter().map(User::try_from).collect()
}

pub async fn set_password(
    conn: &mut impl Connection,
    user: UserId,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    db::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that the person behind `user` proved they read its address (a confirmation link,
/// an invitation, a reset link); the first proof's time is kept.
pub async fn confirm_email(
    conn: &mut impl Connection,
    user: UserId,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE users SET email_confirmed_at = $1 WHERE id = $2 AND email_confirmed_at IS NULL",
    )
    .bind(now)
    .bind(user.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the unconfirmed sign-up that holds `email`, with its organization, so the address
/// is free for its owner (a new sign-up, an invitation). An unconfirmed sign-up is always the
/// only person of an organization it made and could not use: nothing of anyone else goes.
/// Returns whether one was removed.
pub async fn remove_unconfirmed_sign_up(
    conn: &mut impl Connection,
    email: &EmailAddress,
) -> Result<bool, sqlx::Error> {
    let done = db::query(
        "DELETE FROM organizations WHERE id IN (
             SELECT organization_id FROM users
             WHERE email = $1 AND email_confirmed_at IS NULL AND password_hash IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM users u
             WHERE u.organization_id = organizations.id AND u.email_confirmed_at IS NOT NULL)",
    )
    .bind(email.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A user of `organization_id` by id; `None` when no such user is in that organization.
pub async fn user_of_organization(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    id: UserId,
) -> Result<Option<User>, sqlx::Error> {
    let row = db::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND organization_id = $2"
    ))
    .bind(id.0)
    .bind(organization_id.0)
    .fetch_optional_as::<UserRow>(conn)
    .await?;
    row.map(User::try_from).transpose()
}

/// How many administrators of the organization can sign in, not counting `except`.
/// (An invited administrator who has not set a password cannot run anything yet.)
pub async fn count_active_admins_except(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    except: UserId,
) -> Result<i64, sqlx::Error> {
    db::query(
        "SELECT COUNT(*) FROM users
         WHERE organization_id = $1 AND role = 'admin' AND password_hash IS NOT NULL AND id <> $2",
    )
    .bind(organization_id.0)
    .bind(except.0)
    .fetch_one(conn)
    .await?
    .try_get(0)
}

pub async fn set_role(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user: UserId,
    role: Role,
) -> Result<(), sqlx::Error> {
    db::query("UPDATE users SET role = $1 WHERE id = $2 AND organization_id = $3")
        .bind(role.as_str())
        .bind(user.0)
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a user of `organization_id`; false when no such user is in that organization.
pub async fn delete_user(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    let result = db::query("DELETE FROM users WHERE id = $1 AND organization_id = $2")
        .bind(user.0)
        .bind(organization_id.0)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn insert_invite(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user: UserId,
    token_hash: &str,
    created_by: &User,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO invites (id, organization_id, user_id, token_hash, created_by, created_by_name, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::new_v4())
    .bind(organization_id.0)
    .bind(user.0)
    .bind(token_hash)
    .bind(created_by.id.0)
    .bind(&created_by.display_name)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct InviteRow {
    pub id: Uuid,
    pub user_id: UserId,
    pub expires_at: OffsetDateTime,
    pub accepted: bool,
}

pub async fn invite_by_token_hash(
    conn: &mut impl Connection,
    token_hash: &str,
) -> Result<Option<InviteRow>, sqlx::Error> {
    db::query(
        "SELECT id, user_id, expires_at, accepted_at IS NOT NULL AS accepted FROM invites WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional_as(conn)
    .await
}

/// Marks an invite used; false if it was already used (a concurrent accept won).
pub async fn mark_invite_accepted(
    conn: &mut impl Connection,
    invite: Uuid,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let result =
        db::query("UPDATE invites SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL")
            .bind(now)
            .bind(invite)
            .execute(conn)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// The newest invite's expiry for each not-yet-active user of the organization.
pub async fn pending_invite_expiries(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
) -> Result<Vec<(UserId, OffsetDateTime)>, sqlx::Error> {
    db::query(
        "SELECT i.user_id, MAX(i.expires_at) AS expires_at FROM invites i
         JOIN users u ON u.id = i.user_id
         WHERE i.organization_id = $1 AND u.password_hash IS NULL AND i.accepted_at IS NULL
         GROUP BY i.user_id",
    )
    .bind(organization_id.0)
    .fetch_all_as(conn)
    .await
}

/// Invalidates every open invite of a user (before issuing a fresh one).
pub async fn expire_invites_of(
    conn: &mut impl Connection,
    organization_id: OrganizationId,
    user: UserId,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    db::query(
        "UPDATE invites SET expires_at = $1 WHERE organization_id = $2 AND user_id = $3 AND accepted_at IS NULL",
    )
    .bind(now)
    .bind(organization_id.0)
    .bind(user.0)
    .execute(conn)
    .await?;
    Ok(())
}
