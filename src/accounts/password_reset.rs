//! "Forgot password?": a single-use link, valid for [`LIFETIME`], whose token is stored
//! only as its SHA-256. Asking for one answers the same whether or not the address has an
//! account, after the same work; using one sets a new password and ends every session of
//! the account (whoever took it over is signed out too). Sending the mail is the caller's
//! (the outbox sits above accounts), in the transaction given to [`issue`].

use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use super::mailed_links::MailedLink;
use super::sessions;
use super::{AccountError, User, store};
use crate::db::{self, Lock, LockKey, Pool};
use crate::email::EmailAddress;
use crate::password;
use crate::secret::Secret;

/// How long a link works.
pub const LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The least time an answer to "forgot password" takes, known address or not: the
/// database and outbox writes of a real request are well inside it, so the time of the
/// answer tells nothing.
pub const ANSWER_AFTER: Duration = Duration::from_millis(400);

/// The clock of one answer to "forgot password": started on arrival, waited on before
/// answering, so every answer leaves after [`ANSWER_AFTER`].
pub struct EvenAnswer(tokio::time::Instant);

impl EvenAnswer {
    pub fn start() -> Self {
        Self(tokio::time::Instant::now() + ANSWER_AFTER)
    }

    pub async fn wait(self) {
        tokio::time::sleep_until(self.0).await;
    }
}

/// A reset issued for an account: the mail to send it.
pub struct IssuedReset {
    pub user: User,
    /// Shown once, in the mail's link.
    pub token: Secret,
    pub expires_at: OffsetDateTime,
}

/// Issues a reset link for the account of `email`, inside the caller's write transaction;
/// `None` when no account that can sign in has that address. Either way a token is drawn
/// and hashed, so both cost the same.
pub async fn issue(
    conn: &mut impl db::Connection,
    email: &str,
    now: OffsetDateTime,
) -> Result<Option<IssuedReset>, sqlx::Error> {
    let token = Secret::generate();
    let token_hash = token.hash();
    let user = match EmailAddress::parse(email) {
        Ok(email) => store::user_with_password_by_email(conn, &email)
            .await?
            .filter(|(user, hash)| user.active && hash.is_some())
            .map(|(user, _)| user),
        Err(_) => None,
    };
    let Some(user) = user else { return Ok(None) };
    let expires_at = now + LIFETIME;
    db::query(
        "INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(user.id.0)
    .bind(token_hash.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(Some(IssuedReset {
        user,
        token,
        expires_at,
    }))
}

/// Whether `token` is a reset link that still works (for the page, before the form).
pub async fn is_open(pool: &Pool, token: &str) -> Result<bool, AccountError> {
    let mut conn = pool.acquire().await?;
    Ok(MailedLink::PasswordReset
        .open(&mut conn, token, OffsetDateTime::now_utc())
        .await?
        .is_some())
}

/// Sets a new password with a reset link, uses the link up (and any other open link of the
/// account), and ends every session of the account.
pub async fn reset_password(
    pool: &Pool,
    token: &str,
    new_password: &str,
) -> Result<User, AccountError> {
    let mut conn = pool.acquire().await?;
    let (_, user_id) = MailedLink::PasswordReset
        .open(&mut conn, token, OffsetDateTime::now_utc())
        .await?
        .ok_or(AccountError::ResetLinkExpired)?;
    let user = store::user_by_id(&mut conn, user_id)
        .await?
        .ok_or(AccountError::ResetLinkExpired)?;
    drop(conn);
    password::check_strength(new_password, user.email.local_part())?;
    let hash = password::hash_bounded(new_password.to_owned()).await?;

    let now = OffsetDateTime::now_utc();
    // The organization's key, as every account change (docs/concurrency.md).
    let mut tx = db::begin_write(
        pool,
        Lock::Key(LockKey::organization(user.organization_id.0)),
    )
    .await?;
    // Re-read inside the transaction: the link may have been used meanwhile.
    let (reset, _) = MailedLink::PasswordReset
        .open(&mut tx, token, now)
        .await?
        .ok_or(AccountError::ResetLinkExpired)?;
    db::query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user.id.0)
        .execute(&mut tx)
        .await?;
    store::set_password(&mut tx, user.id, &hash).await?;
    // The link came to the address: an unconfirmed sign-up is confirmed by it.
    store::confirm_email(&mut tx, user.id, now).await?;
    let ended = sessions::end_all(&mut tx, user.id).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, reset = %reset, ended, "password reset");
    Ok(user)
}
