//! The password step of sign-in behind its failure counters
//! (`crate::shared_limits::sign_in`): refused while they say wait, a failure counted
//! whether the account exists or not, a success forgiving this address's failures.

use super::{AccountError, User, service};
use crate::db::Pool;
use crate::rate_limit::ClientKey;
use crate::shared_limits::{SignInAttempt, SignInGuard};

pub async fn sign_in_counted(
    pool: &Pool,
    guard: &SignInGuard,
    client: ClientKey,
    email: &str,
    password: &str,
) -> Result<User, AccountError> {
    let attempt = SignInAttempt::new(email, client);
    guard.admit(&attempt).await?;
    match service::sign_in(pool, email, password).await {
        Ok(user) => {
            guard.succeeded(&attempt).await;
            Ok(user)
        }
        Err(AccountError::WrongCredentials) => {
            guard.failed(&attempt).await;
            Err(AccountError::WrongCredentials)
        }
        Err(other) => Err(other),
    }
}
