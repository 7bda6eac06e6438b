//! Email ownership. Signing up makes an organization and an administrator whose address is
//! not proven yet: a single-use link, valid for [`LIFETIME`], whose token is stored only as
//! its SHA-256, proves it. Until then the account can sign in but touches no organization
//! data (the session guard refuses it). An invitation or a reset link, both mailed to the
//! address, prove it too.
//!
//! An unconfirmed sign-up holds its address only until its owner claims it: a new sign-up
//! or an invitation for the address replaces it (with its organization, which it could not
//! use), and after [`ABANDONED_AFTER`] the housekeeping removes it.
//!
//! What to mail is the caller's (the outbox sits above accounts), in the transaction given
//! to [`register`] and [`reissue`].

use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use super::mailed_links::MailedLink;
use super::service::{SignUp, clean_name, clean_organization_name};
use super::store::{self, NewUser};
use super::{AccountError, Role, User, UserId};
use crate::db::{self, Lock, LockKey, Pool};
use crate::email::EmailAddress;
use crate::password;
use crate::secret::{Secret, SecretHash};

/// How long a confirmation link works.
pub const LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// An unconfirmed sign-up older than this is removed, with its organization.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// A sign-up whose fields are valid and whose password is hashed: ready for [`register`].
/// Built the same way whether or not the address has an account, so the costly part (the
/// password hash) takes the same time either way.
pub struct ValidSignUp {
    organization_name: String,
    display_name: String,
    pub email: EmailAddress,
    password_hash: String,
}

/// Checks every field and hashes the password: bad input is refused here, before anything
/// about the address is looked up, so a refusal says nothing about who has an account.
pub async fn validate(input: SignUp<'_>) -> Result<ValidSignUp, AccountError> {
    let organization_name = clean_organization_name(input.organization_name)?.to_owned();
    let display_name = clean_name(input.display_name)?.to_owned();
    let email = EmailAddress::parse(input.email)?;
    password::check_strength(input.password, email.local_part())?;
    let password_hash = password::hash_bounded(input.password.to_owned()).await?;
    Ok(ValidSignUp {
        organization_name,
        display_name,
        email,
        password_hash,
    })
}

/// A confirmation link made for an account: the mail to send.
pub struct IssuedConfirmation {
    pub user: User,
    pub organization_name: String,
    /// Shown once, in the mail's link.
    pub token: Secret,
    pub expires_at: OffsetDateTime,
}

/// What a sign-up did. The visitor is told the same whatever it is; only the mail differs.
pub enum SignUpOutcome {
    /// A new organization and its administrator, unconfirmed: mail them the link.
    Created(IssuedConfirmation),
    /// The address belongs to an account that can sign in: nothing was made; mail the
    /// address a notice (someone tried to sign up with it).
    AlreadyMember {
        user: User,
        organization_name: String,
    },
    /// The address is invited to an organization and has not accepted yet: nothing was
    /// made; mail the address a reminder of the invitation.
    Invited {
        user: User,
        organization_name: String,
    },
    /// Another request took the address between the read and the write: nothing to mail;
    /// the caller rolls back.
    Raced,
}

/// Registers a sign-up inside the caller's write transaction. Either way a token is drawn
/// and hashed and one mail is due, so every path costs about the same; the caller answers
/// no sooner than a fixed floor.
pub async fn register(
    conn: &mut impl db::Connection,
    sign_up: &ValidSignUp,
    now: OffsetDateTime,
) -> Result<SignUpOutcome, sqlx::Error> {
    let token = Secret::generate();
    let token_hash = token.hash();
    if let Some((user, _)) = store::user_with_password_by_email(conn, &sign_up.email).await? {
        let organization_name = organization_name(conn, &user).await?;
        if user.email_confirmed {
            return Ok(SignUpOutcome::AlreadyMember {
                user,
                organization_name,
            });
        }
        if !user.active {
            return Ok(SignUpOutcome::Invited {
                user,
                organization_name,
            });
        }
        // An unconfirmed sign-up (a squatter's, or this person's own earlier one): the new
        // sign-up takes the address; the old one's sessions and links end with it.
        store::remove_unconfirmed_sign_up(conn, &sign_up.email).await?;
    }
    let organization_id = store::insert_organization(conn, &sign_up.organization_name, now).await?;
    let Some(user_id) = store::insert_user(
        conn,
        NewUser {
            organization_id,
            email: &sign_up.email,
            display_name: &sign_up.display_name,
            role: Role::Admin,
            password_hash: Some(&sign_up.password_hash),
        },
        now,
    )
    .await?
    else {
        return Ok(SignUpOutcome::Raced);
    };
    let expires_at = insert_link(conn, user_id, &token_hash, now).await?;
    let user = store::user_by_id(conn, user_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    tracing::info!(organization = %organization_id, user = %user.id, "organization signed up, address not confirmed yet");
    Ok(SignUpOutcome::Created(IssuedConfirmation {
        user,
        organization_name: sign_up.organization_name.clone(),
        token,
        expires_at,
    }))
}

/// A new link for the unconfirmed sign-up of `email` ("Send the link again"), inside the
/// caller's write transaction; `None` when no account waits for that address to be
/// confirmed. Either way a token is drawn and hashed. Earlier links keep working until they
/// expire: the first mail may only be late.
pub async fn reissue(
    conn: &mut impl db::Connection,
    email: &str,
    now: OffsetDateTime,
) -> Result<Option<IssuedConfirmation>, sqlx::Error> {
    let token = Secret::generate();
    let token_hash = token.hash();
    let user = match EmailAddress::parse(email) {
        Ok(email) => store::user_with_password_by_email(conn, &email)
            .await?
            .map(|(user, _)| user)
            .filter(|user| user.active && !user.email_confirmed),
        Err(_) => None,
    };
    let Some(user) = user else { return Ok(None) };
    let expires_at = insert_link(conn, user.id, &token_hash, now).await?;
    let organization_name = organization_name(conn, &user).await?;
    Ok(Some(IssuedConfirmation {
        user,
        organization_name,
        token,
        expires_at,
    }))
}

/// Whether `token` is a confirmation link that still works (for the page, before the button).
pub async fn is_open(pool: &Pool, token: &str) -> Result<bool, AccountError> {
    let mut conn = pool.acquire().await?;
    Ok(MailedLink::EmailConfirmation
        .open(&mut conn, token, OffsetDateTime::now_utc())
        .await?
        .is_some())
}

/// Confirms the address behind a link and uses up every link of the account. It signs no one
/// in and touches no session: whoever holds the link learns nothing and gets no access.
pub async fn confirm(pool: &Pool, token: &str) -> Result<User, AccountError> {
    let mut conn = pool.acquire().await?;
    let (_, user_id) = MailedLink::EmailConfirmation
        .open(&mut conn, token, OffsetDateTime::now_utc())
        .await?
        .ok_or(AccountError::ConfirmationLinkExpired)?;
    let user = store::user_by_id(&mut conn, user_id)
        .await?
        .ok_or(AccountError::ConfirmationLinkExpired)?;
    drop(conn);

    let now = OffsetDateTime::now_utc();
    // The organization's key, as every account change (docs/concurrency.md).
    let mut tx = db::begin_write(
        pool,
        Lock::Key(LockKey::organization(user.organization_id.0)),
    )
    .await?;
    // Re-read inside the transaction: the link may have been used meanwhile.
    MailedLink::EmailConfirmation
        .open(&mut tx, token, now)
        .await?
        .ok_or(AccountError::ConfirmationLinkExpired)?;
    db::query("UPDATE email_confirmations SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user.id.0)
        .execute(&mut tx)
        .await?;
    store::confirm_email(&mut tx, user.id, now).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, "email address confirmed");
    Ok(User {
        email_confirmed: true,
        ..user
    })
}

/// Removes the sign-ups that never confirmed within [`ABANDONED_AFTER`] of `now`, each with
/// its organization (which only they were in, and could not use). Returns how many
/// organizations went.
pub async fn remove_abandoned(
    conn: &mut impl db::Connection,
    now: OffsetDateTime,
) -> Result<u64, sqlx::Error> {
    Ok(db::query(
        "DELETE FROM organizations WHERE id IN (
             SELECT organization_id FROM users
             WHERE email_confirmed_at IS NULL AND password_hash IS NOT NULL AND created_at < $1)
           AND NOT EXISTS (SELECT 1 FROM users u
             WHERE u.organization_id = organizations.id AND u.email_confirmed_at IS NOT NULL)",
    )
    .bind(now - ABANDONED_AFTER)
    .execute(conn)
    .await?
    .rows_affected())
}

async fn insert_link(
    conn: &mut impl db::Connection,
    user: UserId,
    token_hash: &SecretHash,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, sqlx::Error> {
    let expires_at = now + LIFETIME;
    db::query(
        "INSERT INTO email_confirmations (id, user_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(user.0)
    .bind(token_hash.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(expires_at)
}

async fn organization_name(
    conn: &mut impl db::Connection,
    user: &User,
) -> Result<String, sqlx::Error> {
    Ok(store::organization(conn, user.organization_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?
        .name)
}
