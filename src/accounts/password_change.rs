//! Changing one's own password: the current one is asked again (a session left open on a
//! shared computer must not be enough to take the account over), the new one meets the
//! rules of `crate::password`, and every other session of the account ends. A wrong
//! current password counts as a failed sign-in (`crate::shared_limits::sign_in`), so an open
//! session cannot be used to guess the password at leisure.

use super::sessions::{self, SessionKey};
use super::{AccountError, User, store};
use crate::db::{self, Lock, LockKey, Pool};
use crate::password;
use crate::rate_limit::ClientKey;
use crate::shared_limits::{SignInAttempt, SignInGuard};

pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    /// The session asking: it stays signed in.
    pub keep: &'a SessionKey,
    /// Where the request came from, for the failure counters.
    pub client: ClientKey,
}

/// Changes `user`'s password; returns how many other sessions were signed out.
pub async fn change_password(
    pool: &Pool,
    guard: &SignInGuard,
    user: &User,
    change: PasswordChange<'_>,
) -> Result<u64, AccountError> {
    let mut conn = pool.acquire().await?;
    let stored = store::user_with_password_by_email(&mut conn, &user.email)
        .await?
        .and_then(|(_, hash)| hash);
    drop(conn);
    let attempt = SignInAttempt::new(user.email.as_str(), change.client);
    guard.admit(&attempt).await?;
    if !password::verify_bounded(change.current.to_owned(), stored).await? {
        guard.failed(&attempt).await;
        return Err(AccountError::WrongCurrentPassword);
    }
    guard.succeeded(&attempt).await;
    password::check_strength(change.new, user.email.local_part())?;
    let hash = password::hash_bounded(change.new.to_owned()).await?;

    // The organization's key, as every account change (docs/concurrency.md).
    let mut tx = db::begin_write(
        pool,
        Lock::Key(LockKey::organization(user.organization_id.0)),
    )
    .await?;
    store::set_password(&mut tx, user.id, &hash).await?;
    let ended = sessions::end_all_but(&mut tx, user.id, change.keep).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, ended, "password changed");
    Ok(ended)
}
